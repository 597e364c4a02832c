"""What a batch of changes does to one service: sync, rebuild, restart, sync+restart, sync+exec.

Per service and batch, strongest first:

- any ``rebuild`` rule fired: build the image again; only when the build succeeds, recreate the service's
  containers (and restart the services that depend on it with ``restart: true``). A failing build leaves the
  old containers running. Nothing is synced: the new image has the files, and the new containers get the
  re-sync every (re)started container gets.
- otherwise: copy/delete the changed files of every sync-family rule into each running container; then one
  restart of the service if a ``restart`` or ``sync+restart`` rule fired; then each fired ``sync+exec`` rule's
  command in each container.

The runner reports one :class:`Outcome` per service and batch: what changed, which rules, what was done, how
long it took — or the error. It never raises for an action that failed: watching goes on.
"""

from __future__ import annotations

import inspect
import os
import shlex
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from compose import convert
from compose import events as ev
from compose import labels as L
from compose.errors import ComposeError, OperationError
from compose.model import Project
from compose.watch.rules import Trigger
from compose.watch.sync import ContainerFS, SyncStats
from runtime.api import ContainerState, EngineAPI, ExecSpec
from runtime.errors import RuntimeErrorBase

RUNNING = ("running",)


class FileSystem(Protocol):
    """What the runner needs of a container's filesystem (ContainerFS, or a fake in tests)."""

    def put(self, host_path: str, target: str) -> None: ...
    def remove(self, target: str) -> bool: ...
    def sync_tree(self, host_root: str, target: str, accept: Callable[[str], bool]) -> SyncStats: ...
    def close(self) -> None: ...


OpenFS = Callable[[ContainerState], FileSystem]


@dataclass
class Outcome:
    """One service's handling of one batch (or of a re-sync)."""

    service: str
    paths: list[str]
    rules: list[str]
    done: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


def _owner(fs: FileSystem, engine: EngineAPI, state: ContainerState) -> tuple[int, int]:
    """uid/gid of the container's user (service ``user:``, else the image's USER), as in the container."""
    from runtime.containers.users import UserError, resolve_user

    user = state.spec.user if state.spec is not None else None
    if not user:
        try:
            user = engine.image_inspect(state.image_id).config.user
        except RuntimeErrorBase:
            user = None
    read = getattr(fs, "read_text", None)
    if read is None:
        return 0, 0
    try:
        who = resolve_user(user, read("/etc/passwd"), read("/etc/group"))
    except UserError:
        return 0, 0
    return who.uid, who.gid


def open_container_fs(engine: EngineAPI) -> OpenFS:
    """The real filesystem opener: /proc/<pid>/root of the container's init, owned as its user."""
    owners: dict[str, tuple[int, int]] = {}

    def open_fs(state: ContainerState) -> FileSystem:
        if not state.pid:
            raise OperationError(f"container {state.name} is not running")
        fs = ContainerFS.of_process(state.pid)
        if state.id not in owners:
            owners[state.id] = _owner(fs, engine, state)
        fs.uid, fs.gid = owners[state.id]
        return fs

    return open_fs


class ActionRunner:
    def __init__(self, engine: EngineAPI, project: Project, *, printer: Callable[[str], None],
                 open_fs: OpenFS | None = None, prune: bool = True, quiet_build: bool = False,
                 clock: Callable[[], float] = time.monotonic,
                 lock: Callable[[], AbstractContextManager[Any]] | None = None) -> None:
        self.engine = engine
        self.project = project
        self.print = printer
        self.open_fs = open_fs or open_container_fs(engine)
        self.prune = prune
        self.quiet_build = quiet_build
        self.clock = clock
        # Recreating containers takes the project lock, as `up` does: a concurrent `hoist up` converges.
        self.lock = lock or self._project_lock

    def _project_lock(self) -> AbstractContextManager[Any]:
        from compose.lock import project_lock

        return project_lock(Path(self.engine.root), self.project.name)

    # ---------------------------------------------------------------------------------- containers
    def containers(self, service: str) -> list[ContainerState]:
        found = self.engine.container_list(labels=L.project_filter(self.project.name, oneoff=False), all=True)
        return sorted((c for c in found if c.labels.get(L.SERVICE) == service),
                      key=lambda c: L.container_number(c.labels))

    def _running(self, service: str) -> list[ContainerState]:
        return [c for c in self.containers(service) if c.status in RUNNING and c.pid]

    def _sink(self) -> ev.Sink:
        runner = self

        class _Lines:
            def emit(self, event: ev.Event) -> None:
                if event.status != ev.WORKING:
                    from compose.render.plain import format_plain

                    runner.print("  " + format_plain(event).strip())

        return _Lines()

    # ------------------------------------------------------------------------------------- dispatch
    def apply(self, service: str, fired: dict[Trigger, list[str]]) -> Outcome:
        """Apply one batch's changes to one service; ``fired`` maps each rule to its changed host paths."""
        start = self.clock()
        paths = list(dict.fromkeys(p for ps in fired.values() for p in ps))
        outcome = Outcome(service, paths, [t.describe() for t in fired])
        try:
            if any(t.action == "rebuild" for t in fired):
                self._rebuild(service, outcome)
            else:
                self._sync_restart_exec(service, fired, outcome)
        except (ComposeError, RuntimeErrorBase, OSError) as exc:
            outcome.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        outcome.seconds = self.clock() - start
        return outcome

    def _sync_restart_exec(self, service: str, fired: dict[Trigger, list[str]], outcome: Outcome) -> None:
        containers = self._running(service)
        syncs = [(t, ps) for t, ps in fired.items() if t.syncs]
        if syncs:
            if not containers:
                outcome.done.append("not synced: no running container (synced when one starts)")
            for c in containers:
                stats = SyncStats()
                fs = self.open_fs(c)
                try:
                    for trigger, ps in syncs:
                        stats.add(self._sync_paths(fs, trigger, ps))
                finally:
                    fs.close()
                outcome.done.append(f"synced {stats.copied} and deleted {stats.deleted} in {c.name}")
        if any(t.action in ("restart", "sync+restart") for t in fired):
            self._restart(service, outcome)
            containers = self._running(service)
        for trigger in fired:
            if trigger.action == "sync+exec":
                self._exec(trigger, containers, outcome)

    def _sync_paths(self, fs: FileSystem, trigger: Trigger, paths: Iterable[str]) -> SyncStats:
        stats = SyncStats()
        paths = list(paths)
        new_dirs = {p for p in paths if os.path.isdir(p) and not os.path.islink(p)}
        for host in paths:
            if any(host.startswith(d + "/") for d in new_dirs):
                continue  # its directory's tree copy below takes it along
            target = trigger.container_path(host)
            if target is None:
                continue
            if os.path.lexists(host):
                if os.path.isdir(host) and not os.path.islink(host):
                    # A directory that appeared (moved in, unpacked): its whole accepted content goes in.
                    stats.add(fs.sync_tree(host, target, trigger.accepts))
                else:
                    fs.put(host, target)
                    stats.copied += 1
            elif fs.remove(target):
                stats.deleted += 1
        return stats

    def resync(self, service: str, container: ContainerState, triggers: Iterable[Trigger],
               why: str) -> Outcome | None:
        """Push the whole tree of every sync rule into a container that was (re)started or recreated.

        The app in it started before the push: when files went in, a ``sync+restart`` rule restarts the
        container and a ``sync+exec`` rule runs its command, as they would for an edit."""
        rules = [t for t in triggers if t.service == service and t.syncs]
        if not rules or container.status not in RUNNING or not container.pid:
            return None
        start = self.clock()
        outcome = Outcome(service, [], [t.describe() for t in rules])
        stats = SyncStats()
        fired: list[Trigger] = []
        try:
            fs = self.open_fs(container)
            try:
                for t in rules:
                    assert t.rule.target is not None
                    one = fs.sync_tree(t.path, t.rule.target, _syncable(t))
                    if one.copied:
                        fired.append(t)
                    stats.add(one)
            finally:
                fs.close()
            outcome.done.append(f"{why}: synced {stats.copied} ({stats.skipped} unchanged) in {container.name}")
            if any(t.action == "sync+restart" for t in fired):
                self.engine.container_restart(container.name)
                outcome.done.append(f"restarted {container.name}")
                container = self.engine.container_inspect(container.name)
            for t in fired:
                if t.action == "sync+exec":
                    self._exec(t, [container], outcome)
        except (ComposeError, RuntimeErrorBase, OSError) as exc:
            outcome.error = f"{why}: {exc}"
        outcome.seconds = self.clock() - start
        return outcome

    # ---------------------------------------------------------------------------------- restart, exec
    def _orchestrator(self) -> Any:
        from compose.orchestrator import Orchestrator

        state_dir = self.engine.root / "compose" / self.project.name
        return Orchestrator(self.engine, self.project.name, self.project, sink=self._sink(), state_dir=state_dir)

    def _restart(self, service: str, outcome: Outcome) -> None:
        from compose.cli.projectctx import fail_on

        orch = self._orchestrator()
        result = orch.restart([service])
        fail_on(result, "restart")
        outcome.done.append(f"restarted {service}")

    def _exec(self, trigger: Trigger, containers: list[ContainerState], outcome: Outcome) -> None:
        spec = trigger.rule.exec
        assert spec is not None
        exec_spec = ExecSpec(command=list(spec.command), user=spec.user, working_dir=spec.working_dir,
                             privileged=spec.privileged,
                             env={k: v for k, v in spec.environment.items() if v is not None})
        for c in containers:
            code = _exec(self.engine, c.name, exec_spec)
            if code != 0:
                raise OperationError(f"exec {shlex.join(spec.command)} in {c.name} exited with code {code}")
            outcome.done.append(f"ran `{shlex.join(spec.command)}` in {c.name}")

    # --------------------------------------------------------------------------------------- rebuild
    def _rebuild(self, service: str, outcome: Outcome) -> None:
        from compose.cli.projectctx import fail_on
        from compose.imagesync import ImagePolicy, build_service
        from compose.orchestrator import UpOptions

        svc = self.project.services[service]
        ref = convert.image_name(self.project, svc)
        old_id = _image_id(self.engine, ref)
        reporter = ev.Reporter(self._sink())
        try:
            build_service(self.engine, self.project, svc, ImagePolicy(quiet=self.quiet_build), reporter)
        except (ComposeError, RuntimeErrorBase) as exc:
            raise OperationError(f"build of {service} failed, the running containers are kept: "
                                 f"{str(exc).splitlines()[0]}") from None
        new_id = _image_id(self.engine, ref)
        outcome.done.append(f"built {ref}" + ("" if new_id != old_id else " (unchanged)"))
        services = [service, *self._restart_dependents(service)]
        with self.lock():
            result = self._orchestrator().up(UpOptions(services=services, no_deps=True))
        fail_on(result.outcome, "recreate")
        recreated = [a.name or f"{a.service} #{a.number}" for p in result.plan.services.values()
                     for a in p.actions if a.kind in ("recreate", "create", "restart", "start")]
        outcome.done.append("recreated " + (", ".join(recreated) if recreated else "nothing"))
        if self.prune and old_id and new_id and old_id != new_id:
            self._prune(old_id, outcome)

    def _restart_dependents(self, service: str) -> list[str]:
        from compose.graph import with_restart_dependents

        return with_restart_dependents(self.project.services, [service])[1:]

    def _prune(self, image_id: str, outcome: Outcome) -> None:
        """--prune: the image the service ran before, now untagged and unused, is removed."""
        try:
            info = self.engine.image_inspect(image_id)
            if info.tags:
                return
            self.engine.image_remove(image_id)
            outcome.done.append(f"pruned {image_id[:19]}")
        except (RuntimeErrorBase, ComposeError):
            pass  # still used (another container) or already gone: nothing to prune


def _syncable(trigger: Trigger) -> Callable[[str], bool]:
    """What a full-tree sync of ``trigger`` may copy: what the rule accepts, minus build-definition files."""
    def accept(path: str) -> bool:
        return trigger.accepts(path) and not trigger.is_build_file(path)

    return accept


def _image_id(engine: EngineAPI, ref: str) -> str | None:
    try:
        return engine.image_inspect(ref).id
    except RuntimeErrorBase:
        return None


def _exec(engine: EngineAPI, name: str, spec: ExecSpec) -> int:
    """Run with stdin from /dev/null (a watch command must not read the terminal) when the engine allows."""
    if "stdio" in inspect.signature(engine.container_exec).parameters:
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            return engine.container_exec(name, spec, stdio=(null, 1, 2))  # type: ignore[call-arg]
        finally:
            os.close(null)
    return engine.container_exec(name, spec)


def format_outcome(outcome: Outcome, *, max_paths: int = 3, base: str | None = None) -> str:
    """``web: app/main.py, app/x.py (+2 more) | web watch[0] sync ./app -> /app | synced ... | 12 ms``."""
    shown = [os.path.relpath(p, base) if base else p for p in outcome.paths[:max_paths]]
    more = len(outcome.paths) - len(shown)
    what = ", ".join(shown) + (f" (+{more} more)" if more > 0 else "")
    parts = [f"{outcome.service}: {what or 'container (re)started'}", "; ".join(outcome.rules)]
    if outcome.done:
        parts.append("; ".join(outcome.done))
    if outcome.error:
        parts.append(f"ERROR: {outcome.error}")
    parts.append(f"{outcome.seconds * 1000:.0f} ms")
    return "watch: " + " | ".join(parts)
