"""Project operations as library functions over (Project, Engine): up, create, start, stop, restart, kill,
pause, unpause, rm, down, and the listing `ps` needs.

Everything is found through compose's labels, so the commands that need no compose file (down, stop, ps...)
work from the project name alone (``project`` may be None) — after a crash too. Ordering follows the
dependency graph (reverse for stop/remove) through :mod:`compose.scheduler`; progress goes out as events.

The typed model, the planner and the spec conversion load only on the paths that use them (``up``, ``create``
...): `down` of an unchanged project reads what it needs from a ProjectOutline and sends its first stop
signal without them (~10 ms sooner, measured).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compose import events as ev
from compose import labels as L
from compose.errors import OperationError, UsageError
from compose.listing import project_containers
from compose.outline import ProjectOutline
from compose.scheduler import Dependency, Outcome, Scheduler, Task
from runtime.api import ContainerSpec, ContainerState, EngineAPI, ImageInfo, NetworkInfo
from runtime.errors import Conflict, InvalidSpec, NotFound, RuntimeErrorBase, StateError

if TYPE_CHECKING:
    from compose.model import Project, Service
    from compose.plan import ContainerAction, Desired, Plan, ServicePlan

RUNNING = ("running", "restarting", "paused")


@dataclass
class UpOptions:
    services: list[str] = field(default_factory=list)
    no_deps: bool = False
    force_recreate: bool = False  # the services named (all, when none is named), as compose's
    no_recreate: bool = False
    always_recreate_deps: bool = False  # force-recreate the dependencies that come with the named services
    remove_orphans: bool = False
    scale: dict[str, int] = field(default_factory=dict)
    start: bool = True
    timeout: float | None = None  # -t: stop timeout when recreating / scaling down
    renew_anon_volumes: bool = False


@dataclass
class UpResult:
    plan: Plan
    outcome: Outcome
    created_resources: int = 0
    started: list[str] = field(default_factory=list)  # container names started or recreated

    @property
    def changed(self) -> bool:
        return self.plan.changes or self.created_resources > 0 or bool(self.plan.orphans)


def dependencies(project: Project, service: Service) -> list[Dependency]:
    """Every service this one must come after: depends_on plus the implicit ones (links, volumes_from,
    network_mode/pid/ipc ``service:x``), as compose-go derives them. Disabled optional ones are dropped."""
    deps: dict[str, Dependency] = {name: Dependency(name, d.condition, d.required)
                                   for name, d in service.depends_on.items()}
    implicit = [link.split(":", 1)[0] for link in service.links]
    implicit += [v.split(":", 1)[1] if v.startswith("service:") else v.split(":", 1)[0]
                 for v in service.volumes_from if not v.startswith("container:")]
    for mode in (service.network_mode, service.pid, service.ipc):
        if mode and mode.startswith("service:"):
            implicit.append(mode.split(":", 1)[1])
    for name in implicit:
        deps.setdefault(name, Dependency(name))
    return [d for d in deps.values() if d.name in project.services]


def select_services(project: Project, names: Iterable[str], *, with_deps: bool = True) -> list[str]:
    """The named services (all when none), plus their dependencies, in project order."""
    names = list(names)
    for name in names:
        if name not in project.services:
            if name in project.disabled_services:
                raise UsageError(f'service "{name}" is disabled by its profiles',
                                 hint="enable one of its profiles with --profile")
            raise UsageError(f"no such service: {name}")
    if not names:
        return list(project.services)
    chosen = set(names)
    if with_deps:
        stack = list(names)
        while stack:
            for dep in dependencies(project, project.services[stack.pop()]):
                if dep.name not in chosen:
                    chosen.add(dep.name)
                    stack.append(dep.name)
    return [s for s in project.services if s in chosen]


def inherit_anonymous_volumes(spec: ContainerSpec, inherited: dict[str, str],
                              image_volumes: Iterable[str]) -> ContainerSpec:
    """Compose's recreate: wherever the new container still has an anonymous volume (``- /data`` in the file,
    or the image's VOLUME), it mounts its predecessor's, so a database keeps its data across a config change
    (``up -V`` renews them instead)."""
    import dataclasses
    import posixpath

    from runtime.api import Mount

    mounts: list[Mount] = []
    taken: set[str] = set()
    for m in spec.mounts:
        target = posixpath.normpath(m.target)
        if m.type == "volume" and not m.source and target in inherited:
            m = dataclasses.replace(m, source=inherited[target], anonymous=True)
        mounts.append(m)
        taken.add(target)
    for declared in image_volumes:
        target = posixpath.normpath(declared)
        if target not in taken and target in inherited:
            mounts.append(Mount(type="volume", target=target, source=inherited[target], anonymous=True))
            taken.add(target)
    return dataclasses.replace(spec, mounts=mounts)


class Orchestrator:
    def __init__(self, engine: EngineAPI, project_name: str, project: Project | None = None, *,
                 sink: ev.Sink | None = None, parallel: int = -1, state_dir: Path | None = None,
                 outline: ProjectOutline | None = None, dry_run: bool = False,
                 configs_dir: Path | None = None) -> None:
        """``outline`` stands in for ``project`` where only service names and grace periods are needed
        (`down` without --rmi); with a project it is derived from it. ``configs_dir``: where the configs
        behind the containers' hashes are read from (compose/configdiff.py), by default under ``state_dir``
        (a dry run, which has none, reads them from the real one)."""
        self.engine = engine
        self.name = project_name
        self.project = project
        self.outline = outline if outline is not None or project is None else ProjectOutline.from_project(project)
        self.report = ev.Reporter(sink or ev.NullSink())
        self.parallel = parallel
        self.state_dir = state_dir
        self.configs_dir = configs_dir or state_dir
        self.dry_run = dry_run  # the engine changes nothing (compose/dryrun.py): no condition is waited for
        self._images: dict[str, ImageInfo | None] = {}
        self._said: set[tuple[str, ...]] = set()
        self._said_lock = threading.Lock()

    def _image(self, ref: str) -> ImageInfo | None:
        """The image a service runs, looked up once per operation (images are settled before `up` plans)."""
        if ref not in self._images:
            try:
                self._images[ref] = self.engine.image_inspect(ref)
            except RuntimeErrorBase:
                self._images[ref] = None
        return self._images[ref]

    # ------------------------------------------------------------------------------------ observation
    def containers(self, *, services: Iterable[str] = (), oneoff: bool | None = False,
                   all: bool = True) -> list[ContainerState]:
        return project_containers(self.engine, self.name, services=services, oneoff=oneoff, all=all)

    def _require_project(self) -> Project:
        if self.project is None:
            raise UsageError("this command needs the compose file", hint="run it in the project directory or "
                             "pass -f")
        return self.project

    def _known_services(self) -> set[str]:
        return set(self.outline.known) if self.outline is not None else set()

    # ------------------------------------------------------------------------------ networks, volumes
    def ensure_networks(self, services: list[Service]) -> int:
        from compose import convert

        project = self._require_project()
        created = 0
        for net in convert.project_networks(project, services):
            rid = ev.network_id(net.name)
            try:
                info = self.engine.network_inspect(net.name)
            except NotFound:
                info = None
            if net.external:
                if info is None:
                    raise OperationError(f'network {net.name} declared as external, but could not be found',
                                         hint=f"create it first: hoist network create {net.name}")
                continue
            if info is not None:
                if info.labels.get(L.PROJECT) not in (None, self.name):
                    self.report.warn(rid, "Warning", "exists but was not created by this project")
                continue
            self.report.working(rid, ev.CREATING)
            try:
                self.engine.network_create(convert.network_spec(project, net))
            except Conflict:
                pass  # a concurrent `up` made it first: same labels, same result
            self.report.done(rid, ev.CREATED)
            created += 1
        return created

    def ensure_volumes(self, services: list[Service]) -> int:
        from compose import convert

        project = self._require_project()
        created = 0
        for vol in convert.project_volumes(project, services):
            rid = ev.volume_id(vol.name)
            try:
                self.engine.volume_inspect(vol.name)
                continue
            except NotFound:
                if vol.external:
                    raise OperationError(f'external volume "{vol.name}" not found',
                                         hint=f"create it first: hoist volume create {vol.name}") from None
            self.report.working(rid, ev.CREATING)
            self.engine.volume_create(convert.volume_spec(project, vol))
            self.report.done(rid, ev.CREATED)
            created += 1
        return created

    # ------------------------------------------------------------------------------------------ plans
    def desired(self, services: list[str], scale: dict[str, int]) -> dict[str, Desired]:
        from compose import convert
        from compose.plan import Desired

        project = self._require_project()
        out = {}
        for name in services:
            svc = project.services[name]
            replicas = scale.get(name, svc.replicas)
            convert.check_scale(svc, replicas)
            info = self._image(convert.image_name(project, svc))
            image_id = info.id if info else None
            out[name] = Desired(name, replicas, project.service_hash(name), image_id,
                                tuple(d for d, spec in svc.depends_on.items() if spec.restart))
        return out

    def plan_up(self, opts: UpOptions) -> tuple[list[str], Plan]:
        from compose.plan import Options, make_plan

        project = self._require_project()
        selected = select_services(project, opts.services, with_deps=not opts.no_deps)
        unknown = set(opts.scale) - set(project.services)
        if unknown:
            raise UsageError(f"--scale: no such service: {', '.join(sorted(unknown))}")
        observed = self.containers(oneoff=False)
        # As compose: --force-recreate is for the services the command names (all of them when it names
        # none); the dependencies that come along are recreated only if they changed, or with
        # --always-recreate-deps.
        named = set(opts.services) or set(selected)
        forced = (named if opts.force_recreate else set()) | \
            ((set(selected) - named) if opts.always_recreate_deps else set())
        desired = self.desired(selected, opts.scale)
        plan = make_plan(desired, observed,
                         Options(bool(forced), opts.no_recreate, opts.start, force_services=frozenset(forced)),
                         known_services=self._known_services())
        if plan.changes and self.configs_dir is not None:
            self._explain_recreates(plan, project)
        if self.state_dir is not None:
            from compose import configdiff

            # The configs that neither a container nor the model has any more (one directory listing).
            configdiff.prune(self.state_dir, {c.labels.get(L.CONFIG_HASH, "") for c in observed} |
                             {d.config_hash for d in desired.values()})
        return selected, plan

    def _explain_recreates(self, plan: Plan, project: Project) -> None:
        """Name the keys that changed in each "configuration changed" recreate (compose/configdiff.py)."""
        import dataclasses

        from compose import configdiff

        for service_plan in plan.services.values():
            for i, action in enumerate(service_plan.actions):
                if action.kind == "recreate" and action.container is not None:
                    reason = configdiff.explain(action.reason, self.configs_dir,
                                                action.container.labels.get(L.CONFIG_HASH),
                                                project.document["services"][service_plan.service])
                    service_plan.actions[i] = dataclasses.replace(action, reason=reason)

    # --------------------------------------------------------------------------------------------- up
    def up(self, opts: UpOptions, *, cancel: threading.Event | None = None) -> UpResult:
        from compose.conditions import make_waiter

        project = self._require_project()
        selected, plan = self.plan_up(opts)
        if plan.orphans:
            if opts.remove_orphans:
                self._remove_containers(plan.orphans, timeout=opts.timeout)
            elif os.environ.get("COMPOSE_IGNORE_ORPHANS", "").lower() not in ("1", "true"):
                names = ", ".join(c.name for c in plan.orphans)
                self.report.warn(f"Project {self.name}", "Warning",
                                 f"Found orphan containers ({names}) for this project. If you removed or renamed "
                                 "this service in your compose file, you can run this command with the "
                                 "--remove-orphans flag to clean it up.")
        services = [project.services[s] for s in selected]
        created = self.ensure_networks(services) + self.ensure_volumes(services)
        result = UpResult(plan, Outcome(), created)
        lock = threading.Lock()

        def record(name: str) -> None:
            with lock:
                result.started.append(name)

        # Phase 1, as compose: converge every container (scale down, recreate, create) in dependency order,
        # without waiting on conditions. Phase 2: start what must run, each service once its dependencies'
        # conditions hold. A dependent of a failed dependency is then created but never started.
        deps = {name: self._up_dependencies(project, name, selected, opts) for name in selected}
        to_start: dict[str, list[tuple[str, str]]] = {name: [] for name in selected}
        converge = {name: Task(name, self._converge_task(project.services[name], plan.services[name], opts,
                                                          to_start[name]), [Dependency(d.name) for d in deps[name]])
                    for name in selected}
        first = Scheduler(converge, parallel=self.parallel, on_skip=self._on_skip)
        if cancel is not None:
            _link_cancel(cancel, first)
        result.outcome = first.run()
        if not opts.start or first.cancelled.is_set():
            return result
        failed_first = {**{n: repr_reason(e) for n, e in result.outcome.failed.items()}, **result.outcome.skipped}
        starts = {name: Task(name, self._start_task(name, to_start[name], failed_first.get(name), opts, record),
                             deps[name]) for name in selected}
        second = Scheduler(starts, parallel=self.parallel,
                           wait_condition=make_waiter(self.engine, self.name, self._on_waiting, self._on_ready),
                           on_skip=self._on_skip, on_warning=self._on_warning)
        if cancel is not None:
            _link_cancel(cancel, second)
        outcome = second.run()
        # A service that failed in phase 1 is reported once, with phase 1's error.
        for name, exc in result.outcome.failed.items():
            outcome.failed[name] = exc
            outcome.skipped.pop(name, None)
        for name, reason in result.outcome.skipped.items():
            outcome.skipped.setdefault(name, reason)
            outcome.failed.pop(name, None)
        result.outcome = outcome
        return result

    def _up_dependencies(self, project: Project, name: str, selected: list[str], opts: UpOptions) -> list[Dependency]:
        found = dependencies(project, project.services[name])
        return [d for d in found if d.name in selected] if opts.no_deps else found

    def _start_task(self, service: str, items: list[tuple[str, str]], failed: str | None, opts: UpOptions,
                    record: Callable[[str], None]) -> Callable[[], None]:
        def run() -> None:
            if failed is not None:
                raise OperationError(failed)
            for kind, name in items:
                if kind == "restart":
                    rid = ev.container_id(name)
                    self.report.working(rid, ev.RESTARTING)
                    self.engine.container_restart(name, timeout=opts.timeout)
                    self.report.done(rid, ev.RESTARTED)
                else:
                    self._start_one(name, service)
                record(name)

        return run

    def _on_waiting(self, container: str, condition: str) -> None:
        # Several dependents may wait on one dependency: say it once per operation.
        with self._said_lock:
            if (container, condition) in self._said:
                return
            self._said.add((container, condition))
        self.report.working(ev.container_id(container), ev.WAITING)

    def _on_ready(self, container: str, condition: str) -> None:
        with self._said_lock:
            if (container, condition, "ready") in self._said:
                return
            self._said.add((container, condition, "ready"))
        text = ev.HEALTHY if condition == "service_healthy" else ev.EXITED
        self.report.done(ev.container_id(container), text)

    def _on_skip(self, service: str, reason: str) -> None:
        self.report.error(f"Service {service}", ev.SKIPPED, reason)

    def _on_warning(self, service: str, text: str) -> None:
        self.report.warn(f"Service {service}", "Warning", text)

    def _converge_task(self, svc: Service, sp: ServicePlan, opts: UpOptions,
                       to_start: list[tuple[str, str]]) -> Callable[[], None]:
        def run() -> None:
            for a in sp.of_kind("scale-down"):
                assert a.container is not None
                self._stop_one(a.container, opts.timeout)
                self._remove_one(a.container, volumes=False)
            for a in sorted(sp.of_kind("recreate", "create", "start", "restart", "noop"), key=lambda a: a.number):
                self._converge(svc, a, opts, to_start)

        return run

    def _converge(self, svc: Service, a: ContainerAction, opts: UpOptions,
                  to_start: list[tuple[str, str]]) -> None:
        """Phase 1 for one container; what phase 2 must start (or restart) goes into ``to_start``."""
        if a.kind == "noop":
            assert a.container is not None
            self.report.done(ev.container_id(a.container.name), ev.RUNNING if a.container.status in RUNNING
                             else ev.CREATED)
            return
        if a.kind in ("start", "restart"):
            assert a.container is not None
            to_start.append((a.kind, a.container.name))
            return
        if a.kind == "recreate":
            assert a.container is not None
            rid = ev.container_id(a.container.name)
            self.report.working(rid, ev.RECREATE, a.reason)
            if a.container.status in RUNNING:
                self._pre_stop(a.container.name, svc.name)
                self.engine.container_stop(a.container.name, timeout=self._grace(svc, opts.timeout))
            inherited = {} if opts.renew_anon_volumes else \
                self.engine.container_anonymous_volumes(a.container.name)
            self.engine.container_remove(a.container.name, force=True, volumes=opts.renew_anon_volumes)
            name = self._create_one(svc, a.number, announce=False, inherited_volumes=inherited)
            self.report.done(rid, ev.RECREATED)
        else:
            name = self._create_one(svc, a.number)
        to_start.append(("start", name))

    def _grace(self, svc: Service | None, timeout: float | None) -> float | None:
        if timeout is not None:
            return timeout
        if svc is not None and svc.stop_grace_period is not None:
            return svc.stop_grace_period
        return None

    def _create_one(self, svc: Service, number: int, *, announce: bool = True,
                    inherited_volumes: dict[str, str] | None = None) -> str:
        from compose import convert

        project = self._require_project()
        info = self._image(convert.image_name(project, svc))
        image_config = info.config if info else None
        config_hash = project.service_hash(svc.name)
        spec = convert.container_spec(project, svc, number, config_hash=config_hash,
                                      image_config=image_config, state_dir=self.state_dir)
        if self.state_dir is not None:
            from compose import configdiff

            configdiff.remember(self.state_dir, config_hash, project.document["services"][svc.name])
        if inherited_volumes:
            spec = inherit_anonymous_volumes(spec, inherited_volumes,
                                             image_config.volumes if image_config else [])
        if svc.volumes_from:
            from compose.volumesfrom import with_volumes_from

            spec = with_volumes_from(self.engine, project, svc, spec)
        rid = ev.container_id(spec.name)
        if announce:
            self.report.working(rid, ev.CREATING)
        try:
            self.engine.container_create(spec)
        except Conflict as conflict:
            # Another `up` of this project (or a CLI killed after create) made it already: converge on it.
            # Any other conflict (a host port another program holds...) is the error to report.
            try:
                existing = self.engine.container_inspect(spec.name)
            except NotFound:
                raise conflict from None
            if existing.labels.get(L.PROJECT) != self.name:
                raise
        if announce:
            self.report.done(rid, ev.CREATED)
        return spec.name

    def _start_one(self, name: str, service: str = "") -> None:
        rid = ev.container_id(name)
        self.report.working(rid, ev.STARTING)
        try:
            self.engine.container_start(name)
        except StateError:
            if self.engine.container_inspect(name).status not in RUNNING:
                raise
        svc = self._service(service)
        if svc is not None and svc.post_start:
            from compose.hooks import run_hooks

            run_hooks(self.engine, name, svc.name, svc.post_start, "post_start")  # before Started, as compose
        self.report.done(rid, ev.STARTED)

    def _service(self, name: str) -> Service | None:
        """The project's service ``name`` (None without a project: label-driven commands run no hooks)."""
        return self.project.services.get(name) if self.project is not None and name else None

    def _pre_stop(self, container: str, service: str) -> None:
        svc = self._service(service)
        if svc is not None and svc.pre_stop:
            from compose.hooks import run_hooks

            run_hooks(self.engine, container, svc.name, svc.pre_stop, "pre_stop")

    def _stop_one(self, c: ContainerState, timeout: float | None, begun: Any = None, *,
                  removing: bool = False) -> None:
        """``begun``: the stop ``_begin_stops`` started (its signal sent, Stopping reported) to finish;
        ``removing``: the container is removed next (see Engine.container_stop_finish)."""
        rid = ev.container_id(c.name)
        if begun is None:
            if c.status not in RUNNING:
                return
            self.report.working(rid, ev.STOPPING)
            self._pre_stop(c.name, c.labels.get(L.SERVICE, ""))  # a failing hook aborts this stop
            begun = self.engine.container_stop_begin(c.name, timeout=timeout)
        self.engine.container_stop_finish(begun, removing=removing)
        self.report.done(rid, ev.STOPPED)

    def _begin_stops(self, first: list[ContainerState], timeout: float | None) -> dict[str, Any]:
        """The stop signals of the containers a reverse-order run starts with, sent from this one loop before
        the threads start (Engine.container_stop_begin): a few ms from the first to the last, where a thread
        each took ~10-25 ms under the GIL; the last one decides when the last grace period ends. A container
        this cannot begin (gone, a bad stop signal) is left to its thread, which reports why."""
        begun: dict[str, Any] = {}
        for c in first:
            if c.status not in RUNNING:
                continue
            svc = self._service(c.labels.get(L.SERVICE, ""))
            if svc is not None and svc.pre_stop:
                continue  # its hooks run first, in its own thread (_stop_one)
            self.report.working(ev.container_id(c.name), ev.STOPPING)
            try:
                begun[c.name] = self.engine.container_stop_begin(c.name, timeout=self._timeout_for(c, timeout))
            except RuntimeErrorBase:
                continue
        return begun

    def _remove_one(self, c: ContainerState, *, volumes: bool) -> None:
        rid = ev.container_id(c.name)
        self.report.working(rid, ev.REMOVING)
        try:
            self.engine.container_remove(c.name, force=True, volumes=volumes)
        except NotFound:
            pass
        self.report.done(rid, ev.REMOVED)

    def _remove_containers(self, containers: list[ContainerState], *, timeout: float | None,
                           volumes: bool = False) -> Outcome:
        begun: dict[str, Any] = {}

        def action(c: ContainerState) -> Callable[[], None]:
            def run() -> None:
                self._stop_one(c, self._timeout_for(c, timeout), begun.pop(c.name, None), removing=True)
                self._remove_one(c, volumes=volumes)
            return run

        return self._by_service(containers, action, reverse=True,
                                before_run=lambda first: begun.update(self._begin_stops(first, timeout)))

    # ----------------------------------------------------------------------------- label-driven order
    def _timeout_for(self, c: ContainerState, timeout: float | None) -> float | None:
        if timeout is not None:
            return timeout
        if self.outline is None:
            return None  # the engine uses the container's own stop_grace_period (so does a service without one)
        return self.outline.stop_grace_periods.get(c.labels.get(L.SERVICE, ""))

    def _by_service(self, containers: list[ContainerState],
                    action: Callable[[ContainerState], Callable[[], None]], *, reverse: bool,
                    before_run: Callable[[list[ContainerState]], None] | None = None) -> Outcome:
        """Run ``action`` per container, services ordered by the depends_on recorded in their labels;
        ``before_run`` gets the containers of the tasks that start at once, before any task runs."""
        groups: dict[str, list[ContainerState]] = {}
        for c in containers:
            key = c.labels.get(L.SERVICE, c.name)
            if L.is_oneoff(c.labels):
                key = f"{key} (one-off {c.name})"
            groups.setdefault(key, []).append(c)
        tasks = {}
        for key, group in groups.items():
            deps = [Dependency(d.service) for d in L.parse_depends_on(group[0].labels.get(L.DEPENDS_ON, ""))
                    if d.service in groups]
            if " (one-off " in key and not reverse:
                deps = []
            actions = [action(c) for c in group]

            def run_group(actions: list[Callable[[], None]] = actions) -> None:
                _run_parallel(actions)

            tasks[key] = Task(key, run_group, deps)
        if reverse:
            # One-off containers go first: they depend on the services they were run for.
            for key, task in tasks.items():
                if " (one-off " in key:
                    service = key.split(" (one-off ")[0]
                    task.deps = [Dependency(service)] if service in tasks else []
        scheduler = Scheduler(tasks, parallel=self.parallel, reverse=reverse)
        if before_run is not None:
            before_run([c for key in scheduler.ready_at_start() for c in groups[key]])
        return scheduler.run()

    # ---------------------------------------------------------------------------------- lifecycle ops
    def start(self, services: Iterable[str] = ()) -> Outcome:
        from compose.conditions import make_waiter

        containers = [c for c in self.containers(services=services) if c.status not in RUNNING]
        waiter = _no_wait if self.dry_run else make_waiter(self.engine, self.name, self._on_waiting, self._on_ready)
        groups: dict[str, list[ContainerState]] = {}
        for c in self.containers(services=services):
            groups.setdefault(c.labels.get(L.SERVICE, ""), []).append(c)
        to_start = {c.name for c in containers}
        tasks = {}
        for svc, group in groups.items():
            deps = [Dependency(d.service, d.condition, d.required)
                    for d in L.parse_depends_on(group[0].labels.get(L.DEPENDS_ON, ""))]
            names = [c.name for c in group if c.name in to_start]

            def run(names: list[str] = names, svc: str = svc) -> None:
                _run_parallel([functools.partial(self._start_one, n, svc) for n in names])

            tasks[svc] = Task(svc, run, [d for d in deps if d.name in groups or d.required])
        return Scheduler(tasks, parallel=self.parallel, wait_condition=waiter, on_skip=self._on_skip,
                         on_warning=self._on_warning).run()

    def stop(self, services: Iterable[str] = (), *, timeout: float | None = None) -> Outcome:
        containers = [c for c in self.containers(services=services, oneoff=None) if c.status in RUNNING]

        begun: dict[str, Any] = {}

        def action(c: ContainerState) -> Callable[[], None]:
            return lambda: self._stop_one(c, self._timeout_for(c, timeout), begun.pop(c.name, None))

        return self._by_service(containers, action, reverse=True,
                                before_run=lambda first: begun.update(self._begin_stops(first, timeout)))

    def restart(self, services: Iterable[str] = (), *, timeout: float | None = None) -> Outcome:
        services = self._with_restart_dependents(list(services))
        containers = self.containers(services=services)

        def action(c: ContainerState) -> Callable[[], None]:
            def run() -> None:
                rid = ev.container_id(c.name)
                self.report.working(rid, ev.RESTARTING)
                self.engine.container_restart(c.name, timeout=self._timeout_for(c, timeout))
                self.report.done(rid, ev.RESTARTED)
            return run

        return self._by_service(containers, action, reverse=False)

    def _with_restart_dependents(self, services: list[str]) -> list[str]:
        """Services named for a restart, plus those that declared ``restart: true`` on one of them."""
        if not services or self.project is None:
            return services
        from compose.graph import with_restart_dependents

        return with_restart_dependents(self.project.services, services)

    def kill(self, services: Iterable[str] = (), *, signal: str = "SIGKILL",
             remove_orphans: bool = False) -> Outcome:
        containers = [c for c in self.containers(services=services, oneoff=None) if c.status in RUNNING]

        def action(c: ContainerState) -> Callable[[], None]:
            def run() -> None:
                rid = ev.container_id(c.name)
                self.report.working(rid, ev.KILLING)
                self.engine.container_kill(c.name, signal=signal)
                self.report.done(rid, ev.KILLED)
            return run

        return _outcome_of(containers, action)

    def pause(self, services: Iterable[str] = ()) -> Outcome:
        containers = [c for c in self.containers(services=services) if c.status in ("running", "paused")]

        def action(c: ContainerState) -> Callable[[], None]:
            def run() -> None:
                if c.status == "paused":
                    raise StateError(f"container {c.name} is already paused")
                self.engine.container_pause(c.name)
                self.report.done(ev.container_id(c.name), ev.PAUSED)
            return run

        return _outcome_of(containers, action)

    def unpause(self, services: Iterable[str] = ()) -> Outcome:
        containers = [c for c in self.containers(services=services) if c.status == "paused"]

        def action(c: ContainerState) -> Callable[[], None]:
            def run() -> None:
                self.engine.container_unpause(c.name)
                self.report.done(ev.container_id(c.name), ev.UNPAUSED)
            return run

        return _outcome_of(containers, action)

    def remove_stopped(self, services: Iterable[str] = (), *, stop: bool = False, volumes: bool = False,
                       timeout: float | None = None) -> list[str]:
        containers = self.containers(services=services, oneoff=None)
        if stop:
            self.stop(services, timeout=timeout)
            containers = self.containers(services=services, oneoff=None)
        removable = [c for c in containers if c.status not in RUNNING]
        _run_parallel([functools.partial(self._remove_one, c, volumes=volumes) for c in removable])
        return [c.name for c in removable]

    # ------------------------------------------------------------------------------------------- down
    def down(self, *, remove_orphans: bool = False, volumes: bool = False, rmi: str | None = None,
             timeout: float | None = None, services: Iterable[str] = ()) -> Outcome:
        services = list(services)
        containers = self.containers(oneoff=None, services=services)
        known = self._known_services()
        if known:
            orphans = [c for c in containers if c.labels.get(L.SERVICE) not in known]
            if orphans and not remove_orphans:
                containers = [c for c in containers if c not in orphans]
                names = ", ".join(c.name for c in orphans)
                self.report.warn(f"Project {self.name}", "Warning",
                                 f"Found orphan containers ({names}) for this project. If you removed or renamed "
                                 "this service in your compose file, you can run this command with the "
                                 "--remove-orphans flag to clean it up.")
        images = self._images_to_remove(containers, rmi) if rmi else []
        # The project's networks go as soon as their last container released its endpoint, and the released
        # netns's veths in one kernel batch with the bridge, not one by one: see Engine.batched_network_teardown.
        with self.engine.batched_network_teardown(None if services else {L.PROJECT: self.name}):
            outcome = self._remove_containers(containers, timeout=timeout, volumes=volumes)
            if services:
                return outcome
            networks = self._project_networks()
            if not containers and not networks and not (volumes and self.engine.volume_list(
                    labels={L.PROJECT: self.name})):
                self.report.warn(f"Project {self.name}", "Warning", "No resource found to remove")
            self._remove_networks(networks)
        if volumes:
            for vol in self.engine.volume_list(labels={L.PROJECT: self.name}):
                rid = ev.volume_id(vol.name)
                self.report.working(rid, ev.REMOVING)
                try:
                    self.engine.volume_remove(vol.name)
                    self.report.done(rid, ev.REMOVED)
                except RuntimeErrorBase as exc:
                    self.report.warn(rid, "Resource is still in use", str(exc))
        if self.state_dir is not None and not self.containers(oneoff=None):
            # Secret/config files written for this project: nothing mounts them any more.
            import shutil
            shutil.rmtree(self.state_dir, ignore_errors=True)
        for ref in images:
            rid = ev.image_id(ref)
            self.report.working(rid, ev.REMOVING)
            try:
                self.engine.image_remove(ref)
                self.report.done(rid, ev.REMOVED)
            except NotFound:
                pass
            except RuntimeErrorBase as exc:
                self.report.warn(rid, "Warning", str(exc))
        return outcome

    def _remove_networks(self, networks: list[NetworkInfo]) -> None:
        for net in networks:
            rid = ev.network_id(net.name)
            self.report.working(rid, ev.REMOVING)
            try:
                self.engine.network_remove(net.name)
                self.report.done(rid, ev.REMOVED)
            except NotFound:
                self.report.done(rid, ev.REMOVED)
            except RuntimeErrorBase as exc:
                self.report.warn(rid, "Resource is still in use", str(exc))

    def _project_networks(self) -> list[NetworkInfo]:
        try:
            return self.engine.network_list(labels={L.PROJECT: self.name})
        except InvalidSpec:
            return []  # this build has no bridge networking: the project cannot have made networks

    def _images_to_remove(self, containers: list[ContainerState], rmi: str) -> list[str]:
        if rmi not in ("local", "all"):
            raise UsageError(f"invalid --rmi value {rmi!r}", hint='use "local" or "all"')
        from compose import convert

        refs: list[str] = []
        if self.project is not None:
            for svc in self.project.services.values():
                if rmi == "all" or svc.image is None:
                    refs.append(convert.image_name(self.project, svc))
        else:
            for c in containers:
                ref = c.labels.get(L.IMAGE) or c.image
                local = ref == f"{self.name}-{c.labels.get(L.SERVICE, '')}"
                if rmi == "all" or local:
                    refs.append(ref)
        return list(dict.fromkeys(refs))


def repr_reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _run_parallel(actions: list[Callable[[], None]]) -> None:
    """Run the actions at once; re-raise the first failure after all have finished."""
    if len(actions) == 1:
        actions[0]()
        return
    errors: list[BaseException] = []

    def wrap(fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(a,), daemon=True) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _outcome_of(containers: list[ContainerState],
                action: Callable[[ContainerState], Callable[[], None]]) -> Outcome:
    tasks = {c.name: Task(c.name, action(c)) for c in containers}
    return Scheduler(tasks).run()


def _no_wait(service: str, condition: str, cancel: threading.Event) -> None:
    """A dry run's condition waiter: nothing was started, so nothing could become healthy; all hold."""


def _link_cancel(cancel: threading.Event, sched: Scheduler) -> None:
    def watch() -> None:
        cancel.wait()
        sched.cancel()

    threading.Thread(target=watch, daemon=True).start()
