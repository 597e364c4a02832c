"""The engine facade (runtime.api.EngineAPI): containers and volumes here, images and networks delegated.

Import cost matters (every CLI command opens an engine): submodules load on first use.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal as signal_module
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from runtime import naming
from runtime.api import (
    ContainerSpec,
    ContainerState,
    ContainerStats,
    EndpointSpec,
    ExecSpec,
    HealthLogEntry,
    ImageInfo,
    LogRecord,
    NetworkInfo,
    NetworkSpec,
    VolumeInfo,
    VolumeSpec,
)
from runtime.errors import Conflict, InvalidSpec, NotFound, SetupError, StateError
from runtime.state import StateDB

if TYPE_CHECKING:
    from runtime.containers.cgroups import ContainerCgroups
    from runtime.containers.plan import LaunchPlan
    from runtime.containers.records import ContainerRecord, ContainerRecords
    from runtime.containers.status import RunStatus
    from runtime.containerwatch import RootContainerChanges
    from runtime.statuswatch import StatusWatch
    from runtime.volumes import VolumeStore

CONTAINER_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
START_TIMEOUT = 60.0
EXITED_WAIT = 10.0


def open_engine(root: Path | None = None) -> Engine:
    resolved = naming.resolve_root(root)
    try:
        return Engine(resolved)
    except PermissionError as exc:
        raise StateError(f"cannot use the state root {resolved}: {exc.strerror}",
                         hint="hoist's engine runs as root (namespaces, mounts, cgroups); or pick a root "
                              "you can write with --root / HOIST_ROOT") from None


def _now() -> str:
    from runtime.logs import rfc3339_nano

    return rfc3339_nano()


@dataclass
class StopInProgress:
    """A stop begun by ``Engine.container_stop_begin``: ``deadline`` (monotonic) ends the grace period of
    the stop signal sent; None when none was sent (no grace period, or the process was gone): SIGKILL next."""

    rec: ContainerRecord
    st: RunStatus
    deadline: float | None = None
    done: bool = False  # it was not running: nothing to wait for


class Engine:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = StateDB(self.root)
        self._images: Any = None
        self._network: Any = None
        self._records: ContainerRecords | None = None
        self._volumes: VolumeStore | None = None
        self._boot_checked = False
        self._launcher_warmed = False
        self._teardown_open = False  # inside batched_network_teardown()
        self._teardown_labels: Mapping[str, str] | None = None  # its networks_labeled
        self._teardown_scope: Any = None  # its runtime.network.manager.TeardownScope, once a removal needed one
        self._teardown_lock = threading.Lock()
        self._teardown_prepared = False  # a grace period started preparing the scope (_prepare_teardown)
        self._network_lock = threading.Lock()  # one NetworkManager, whichever thread asks first

    # ------------------------------------------------------------------------------------- delegates

    @property
    def images(self) -> Any:
        if self._images is None:
            from runtime.images.store import ImageStore

            self._images = ImageStore(self.root)
        return self._images

    def network_manager(self) -> Any:
        if self._network is None:
            with self._network_lock:
                if self._network is None:
                    try:
                        from runtime.network.manager import NetworkManager  # type: ignore[import-not-found]
                    except ImportError:
                        raise InvalidSpec("bridge networking is not available in this build",
                                          hint="use network_mode none or host (--network none|host)") from None
                    self._network = NetworkManager(self.root)
        return self._network

    @property
    def records(self) -> ContainerRecords:
        if self._records is None:
            from runtime.containers.records import ContainerRecords

            self._records = ContainerRecords(self.db)
        return self._records

    @property
    def volumes(self) -> VolumeStore:
        if self._volumes is None:
            from runtime.volumes import VolumeStore

            self._volumes = VolumeStore(self.root, self.db)
        return self._volumes

    def container_dir(self, container_id: str) -> Path:
        return self.root / "containers" / container_id

    def _cgroups(self, rec: ContainerRecord) -> ContainerCgroups:
        """The container's cgroups, in its cgroup_parent when it has one (validated when it was created)."""
        from runtime.containers.cgroups import ContainerCgroups, user_parent_path

        return ContainerCgroups(self.root, rec.id, user_parent_path(rec.spec.cgroup_parent))

    def container_changes(self) -> RootContainerChanges | None:
        """A waker for this root's container changes (created, removed, started, exited, restarted), for
        callers that would otherwise look at the containers on a timer; None without inotify (poll then)."""
        from runtime.containerwatch import container_changes

        return container_changes(self.root / "containers")

    # ------------------------------------------------------------------------------------------ images

    def image_inspect(self, ref: str) -> ImageInfo:
        return self.images.resolve(ref)

    def image_list(self) -> list[ImageInfo]:
        return self.images.list()

    def image_exists(self, ref: str) -> bool:
        return self.images.exists(ref)

    def image_tag(self, ref: str, new_ref: str) -> None:
        self.images.tag(ref, new_ref)

    def image_remove(self, ref: str, *, force: bool = False) -> list[str]:
        used = {r.image_id for r in self.records.all()}
        return self.images.remove(ref, force=force, in_use=lambda image_id: image_id in used)

    def image_import(self, tarball: Path, ref: str, *, changes: Sequence[str] = ()) -> ImageInfo:
        return self.images.import_tarball(tarball, ref, changes)

    def image_load(self, archive: Path) -> list[ImageInfo]:
        return self.images.load(archive)

    def image_save(self, refs: Sequence[str], archive: Path, *, fmt: Literal["docker", "oci"] = "docker") -> None:
        self.images.save(refs, archive, fmt)

    # ---------------------------------------------------------------------------------------- networks

    def network_create(self, spec: NetworkSpec) -> NetworkInfo:
        return self.network_manager().create_network(spec)

    def network_inspect(self, ref: str) -> NetworkInfo:
        return self.network_manager().inspect_network(ref)

    def network_list(self, *, labels: Mapping[str, str | None] | None = None) -> list[NetworkInfo]:
        return self.network_manager().list_networks(labels)

    def network_remove(self, ref: str) -> None:
        self.network_manager().remove_network(ref, scope=self._teardown_scope)

    def network_connect(self, network: str, container: str, endpoint: EndpointSpec) -> None:
        rec = self._record(container)
        manager = self.network_manager()
        manager.connect(network, rec.id, endpoint)
        self._store_network(rec.id, manager.container_network(rec.id))

    def network_disconnect(self, network: str, container: str) -> None:
        rec = self._record(container)
        manager = self.network_manager()
        manager.disconnect(network, rec.id)
        self._store_network(rec.id, manager.container_network(rec.id))

    def _store_network(self, container_id: str, net: Any) -> None:
        """The container row mirrors the manager's endpoints and ports (inspect, ps and port read the row)."""
        self.records.update_network(container_id, list(net.endpoints), list(net.ports))

    # ----------------------------------------------------------------------------------------- volumes

    def volume_create(self, spec: VolumeSpec) -> VolumeInfo:
        return self.volumes.create(spec)[0]

    def volume_inspect(self, name: str) -> VolumeInfo:
        return self.volumes.inspect(name)

    def volume_list(self, *, labels: Mapping[str, str | None] | None = None) -> list[VolumeInfo]:
        return self.volumes.list(labels)

    def volume_remove(self, name: str, *, force: bool = False) -> None:
        with self.db.family_lock("volumes"):
            self.volumes.remove(name, self.records.volume_users(name), force=force)

    def volume_prune(self, *, labels: Mapping[str, str | None] | None = None,
                     all: bool = False) -> list[str]:
        """Remove unused volumes: anonymous ones only unless ``all`` (docker 23+'s default)."""
        from runtime.volumes import ANONYMOUS_LABEL

        removed = []
        with self.db.family_lock("volumes"):
            for vol in self.volumes.list(labels):
                if not all and ANONYMOUS_LABEL not in vol.labels:
                    continue
                if not self.records.volume_users(vol.name):
                    self.volumes.remove(vol.name, [])
                    removed.append(vol.name)
        return removed

    # -------------------------------------------------------------------------------------- containers

    def _record(self, ref: str) -> ContainerRecord:
        rec = self.records.find(ref)
        if rec is None:
            raise NotFound(f"no such container: {ref}", hint="list containers with 'hoist container ls -a'")
        return rec

    def _status(self, rec: ContainerRecord) -> RunStatus:
        from runtime import syscalls
        from runtime.containers.reconcile import check_boot, reconcile
        from runtime.containers.status import RunStatus

        if not self._boot_checked:
            known = self.records.ids()
            check_boot(self.root, known)
            self._remove_abandoned_dirs(set(known))
            self._boot_checked = True
        return reconcile(self.root, rec.id, RunStatus.load(self.container_dir(rec.id)), syscalls.boot_id())

    def _remove_abandoned_dirs(self, known: set[str], min_age: float = 60.0) -> None:
        """Directories of creates killed before their row was written (old enough not to be in progress)."""
        base = self.root / "containers"
        if not base.is_dir():
            return
        now = time.time()
        for entry in base.iterdir():
            try:
                if entry.name not in known and now - entry.stat().st_mtime > min_age:
                    import shutil
                    shutil.rmtree(entry, ignore_errors=True)
            except FileNotFoundError:
                continue

    def _state(self, rec: ContainerRecord, st: RunStatus | None = None) -> ContainerState:
        st = st or self._status(rec)
        status = st.status
        if status == "starting":
            status = "created" if not st.started_at else "running"
        if status == "running":
            try:
                if self._cgroups(rec).is_frozen():
                    status = "paused"
            except OSError:
                pass
        health = st.health or None
        return ContainerState(
            id=rec.id, name=rec.name, image=rec.image, image_id=rec.image_id, labels=rec.labels,
            status=status, created=rec.created, pid=st.pid if status in ("running", "paused") else 0,  # type: ignore[arg-type]
            exit_code=st.exit_code, oom_killed=st.oom_killed, started_at=st.started_at,
            finished_at=st.finished_at, restart_count=st.restart_count,
            health=health["Status"] if health else None,  # type: ignore[arg-type]
            health_log=[HealthLogEntry(start=e["Start"], end=e["End"], exit_code=e["ExitCode"], output=e["Output"])
                        for e in (health or {}).get("Log", [])],  # type: ignore[union-attr,attr-defined]
            health_failing_streak=int(health["FailingStreak"]) if health else 0,  # type: ignore[call-overload]
            error=st.error,
            endpoints=rec.endpoints, ports=rec.ports, spec=rec.spec)

    def container_create(self, spec: ContainerSpec) -> ContainerState:
        from runtime import launcher
        from runtime.containers.builder import build_plan
        from runtime.containers.records import ContainerRecord
        from runtime.containers.status import create_initial as create_initial_status

        if not self._launcher_warmed:  # a start usually follows: have the launcher ready by then
            self._launcher_warmed = True
            launcher.prestart(self.root)

        name = spec.name.lstrip("/") if spec.name else f"hoist_{os.urandom(4).hex()}"
        if not CONTAINER_NAME.match(name):
            raise InvalidSpec(f"invalid container name {name!r}",
                              hint="use letters, digits, '_', '.' and '-', starting with a letter or digit")
        taken = self.records.name_taken(name)
        if taken:
            raise Conflict(f'container name "{name}" is already in use by container "{taken}"',
                           hint="remove (or rename) that container, or choose another name")
        image = self.images.resolve(spec.image)
        container_id = os.urandom(32).hex()  # what secrets.token_hex does, without importing random (~8 ms)
        cdir = self.container_dir(container_id)
        created_volumes: list[str] = []
        network_done = False
        uses_volumes = bool(image.config.volumes) or any(m.type == "volume" for m in spec.mounts)
        # A volume must not be removed between being looked up here and this container's row naming it.
        volume_guard = self.db.family_lock("volumes") if uses_volumes else contextlib.nullcontext()
        try:
            with volume_guard:
                for sub in ("upper", "work", "merged"):
                    (cdir / sub).mkdir(parents=True)
                plan, anonymous = build_plan(self, container_id, name, spec, image, cdir, created_volumes)
                network_done = True  # from here on, whatever the network manager did is undone on failure
                endpoints, ports = self._prepare_network(container_id, spec, plan)
                plan.save()
                create_initial_status(cdir)
                self.records.insert(ContainerRecord(
                    id=container_id, name=name, image=spec.image, image_id=image.id, created=_now(),
                    labels=dict(spec.labels), spec=spec, anonymous_volumes=anonymous, endpoints=endpoints,
                    ports=ports))
        except BaseException as exc:
            if network_done and _uses_network_manager(spec.network_mode):
                self._release_network(container_id)
            if created_volumes:
                with self.db.family_lock("volumes"):
                    for vol in created_volumes:
                        try:  # only if no container took it up meanwhile
                            self.volumes.remove(vol, self.records.volume_users(vol))
                        except Exception:  # noqa: BLE001 - best effort while reporting the real error
                            pass
            import shutil
            shutil.rmtree(cdir, ignore_errors=True)
            if isinstance(exc, Exception) and "UNIQUE constraint failed: containers.name" in str(exc):
                raise Conflict(f'container name "{name}" is already in use',
                               hint="remove (or rename) that container, or choose another name") from None
            raise
        return self.container_inspect(container_id)

    def _prepare_network(self, container_id: str, spec: ContainerSpec,
                         plan: LaunchPlan) -> tuple[list[Any], list[Any]]:
        """Endpoints, ports and /etc files from the network manager, before any process exists.

        bridge: a persistent netns (run_dir/netns/<id>) the init joins, and the supervisor's DNS resolver in
        it; none: the init unshares an empty netns; host: no netns; container:<x>: x's netns.
        """
        mode = spec.network_mode or "bridge"
        if mode in ("none", "host"):
            return [], []  # the builder wrote /etc files; importing the network stack would cost ~0.2 s
        net = self._manager_prepare(container_id, spec, target_required=plan.network == "pending")
        if net is None:
            return [], []
        if mode == "bridge":
            if not net.netns_path:
                raise SetupError(f"container {spec.name}: the network manager made no network namespace",
                                 step="network")
            plan.network = net.netns_path
            plan.dns_resolver = True
        elif mode.startswith("container:") and net.netns_path:
            plan.network = net.netns_path
        if plan.network == "pending":
            raise InvalidSpec(f"container {spec.name}: {mode}: that container has no network namespace to share",
                              hint="start it first, or give it a bridge network")
        plan.etc_files = {k: str(v) for k, v in net.etc_files.items()}
        return list(net.endpoints), list(net.ports)

    def _manager_prepare(self, container_id: str, spec: ContainerSpec, *, target_required: bool = False) -> Any:
        """The network manager's ``prepare_container``, or None when it has nothing to do: no network module
        in this build (the builder's own /etc files serve; an error for bridge mode), or a ``container:<x>``
        target it does not know (the plan joins x's init's netns directly; an error if ``target_required``)."""
        mode = spec.network_mode or "bridge"
        try:
            manager = self.network_manager()
        except InvalidSpec:
            if mode == "bridge":
                raise
            return None
        try:
            return manager.prepare_container(container_id, spec)
        except NotFound:
            if not mode.startswith("container:") or target_required:
                raise
            return None

    def _ensure_network(self, rec: ContainerRecord) -> None:
        """Before every start: the network manager rebuilds what the kernel lost since create (a reboot
        empties /run and the netns, links and rules with it; the state database keeps the addresses).
        Idempotent, and cheap when everything is still there."""
        net = self._manager_prepare(rec.id, rec.spec)
        if net is None:
            return
        if net.endpoints != rec.endpoints or net.ports != rec.ports:
            self._store_network(rec.id, net)

    def _doom(self, container_id: str) -> None:
        """See NetworkManager.container_doomed (inside a teardown scope only)."""
        scope = self._current_teardown()
        if scope is None:
            return
        try:
            self.network_manager().container_doomed(container_id, scope)
        except InvalidSpec:
            pass

    def _release_network(self, container_id: str) -> None:
        try:
            self.network_manager().release_container(container_id, scope=self._current_teardown())
        except InvalidSpec:
            pass

    @contextlib.contextmanager
    def batched_network_teardown(self, networks_labeled: Mapping[str, str] | None = None) -> Iterator[None]:
        """Network teardown for `down`, in as few kernel batches and as early as it can be. Inside the scope:

        - a container removal releases its netns first, before waiting for its supervisor to finish (mount
          and rows go, as always), but keeps it alive with an fd instead of waiting for the kernel to
          destroy its veth pairs (10-30 ms each, the last one on `down`'s critical path);
        - a network carrying ``networks_labeled`` whose last endpoint that released starts its teardown at
          once, in the background: bridge and firewall rules, and the held veths in one kernel batch with the
          bridge (~50 ms for a bridge and 10 veths, against ~90 ms one after the other, measured), while the
          removals finish; ``network_remove`` then waits for it and deletes the row (an early teardown that
          no ``network_remove`` follows is undone when the scope ends: the network stays whole);
        - when the scope ends the fds are closed and any veth left is waited for (bounded) and deleted, as a
          removal outside the scope does.

        Outside the scope nothing changes: ``container_remove`` returns with nothing of the container left.
        Crash-safety: the fds die with the process, and with them the last reference to each released netns:
        the kernel then destroys those netns with their veth pairs, as for any released netns (details in
        runtime.network.teardown); a network whose bridge and rules went early but whose row is left is
        removed by the next ``network_remove`` (a missing bridge is fine there) or repaired by the next
        container start on it. The scope is engine-wide while open: one operation per process, as the CLI
        runs them."""
        if self._teardown_open:  # nested: the outer scope finishes it
            yield
            return
        self._teardown_open, self._teardown_labels = True, networks_labeled
        try:
            yield
        finally:
            with self._teardown_lock:  # a _prepare_teardown thread still running then makes no scope
                self._teardown_open = self._teardown_prepared = False
                scope, self._teardown_scope = self._teardown_scope, None
            if scope is not None:
                self.network_manager().finish_teardown(scope)

    def _prepare_teardown(self) -> None:
        """Inside a teardown scope, once a stop has sent its signal and waits out a grace period: make the
        scope (importing the network manager, ~15-25 ms of CPU) in the background now, while the process
        has nothing else to do, instead of on the first removal after the grace period, where `down` waits
        for it. Before the first signal it would only delay that signal."""
        if not self._teardown_open or self._teardown_prepared:
            return
        self._teardown_prepared = True

        def prepare() -> None:
            with contextlib.suppress(Exception):  # the removal that needs the scope makes it, and reports
                self._current_teardown()

        threading.Thread(target=prepare, name="hoist-teardown-prepare", daemon=True).start()

    def _current_teardown(self) -> Any:
        """The open scope's TeardownScope (made on first use: its imports stay off `down`'s path to the
        first stop signal), or None outside the scope."""
        if not self._teardown_open:
            return None
        with self._teardown_lock:
            if not self._teardown_open:
                return None
            if self._teardown_scope is None:
                self._teardown_scope = self.network_manager().begin_teardown(self._teardown_labels)
            return self._teardown_scope

    def container_start(self, ref: str) -> ContainerState:
        """Start; starting a running container changes nothing (docker answers 304 Not Modified)."""
        rec = self._record(ref)
        st = self._status(rec)
        state = self._state(rec, st)
        if state.status in ("running", "paused", "restarting"):
            return state
        conn = self._start(rec, st)  # the status just read: reading and reconciling it again costs ~0.1 ms
        conn.close()
        return self.container_inspect(rec.id)

    def container_start_attached(self, ref: str) -> Any:
        """Start and return the supervisor's connection: its next line reports the final exit (for ``run``,
        which needs nothing else of the started container: no inspect on its path)."""
        return self._start(self._record(ref))

    def _start(self, rec: ContainerRecord, st: RunStatus | None = None) -> Any:
        from runtime import launcher
        from runtime.containers.head_start import cgroup_head_start
        from runtime.containers.status import clear_stop_requested

        st = st or self._status(rec)
        if st.status in ("running", "restarting", "starting"):
            raise StateError(f"container {rec.name} is already running",
                             hint="stop it first, or use 'hoist container restart'")
        cdir = self.container_dir(rec.id)
        if _uses_network_manager(rec.spec.network_mode):
            self._ensure_network(rec)
        clear_stop_requested(cdir)
        with cgroup_head_start(self._cgroups(rec), cdir):  # the first attach's ~10 ms, paid while we wait
            conn = launcher.request_start(self.root, rec.id)
            conn.settimeout(START_TIMEOUT)
            reply = _read_line(conn)
            conn.settimeout(None)
            if not reply:
                conn.close()
                raise SetupError(f"container {rec.name}: the supervisor exited without reporting", step="start")
            message = json.loads(reply)
            if not message.get("ok"):
                conn.close()
                raise SetupError(f"container {rec.name}: {message.get('error')}", step="start",
                                 hint=_start_hint(message.get("error", "")))
        return conn

    def _pidfd(self, st: RunStatus) -> int | None:
        from runtime import syscalls

        if not st.pid:
            return None
        try:
            fd = syscalls.pidfd_open(st.pid)
        except OSError:
            return None
        # The pid could have been reused between reading the status and opening it: check once more.
        if syscalls.process_start_time(st.pid) != st.pid_start:
            os.close(fd)
            return None
        return fd

    def _signal(self, rec: ContainerRecord, st: RunStatus, sig: int) -> bool:
        from runtime import syscalls

        fd = self._pidfd(st)
        if fd is None:
            return False
        try:
            syscalls.pidfd_send_signal(fd, sig)
            return True
        except ProcessLookupError:
            return False
        finally:
            os.close(fd)

    def _wait_init_exit(self, st: RunStatus, timeout: float) -> bool:
        fd = self._pidfd(st)
        if fd is None:
            return True
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(max(0, int(timeout * 1000))))
        finally:
            os.close(fd)

    def _wait_recorded_exit(self, rec: ContainerRecord, timeout: float = EXITED_WAIT) -> RunStatus:
        """After the init is gone, wait (bounded) for its supervisor to write the final state: woken when the
        status file is replaced (sleeps doubling up to 50 ms cost a stop ~10-30 ms), and looking again at
        least every 50 ms for what no write announces (a supervisor killed meanwhile)."""
        deadline = time.monotonic() + timeout
        with self.container_watch([rec.id]) as watch:  # before the first read: no write in between is missed
            while True:
                st = self._status(rec)
                left = deadline - time.monotonic()
                if st.status not in ("running", "starting", "restarting") or left <= 0:
                    return st
                watch.wait(min(0.05, left))

    def container_stop(self, ref: str, *, timeout: float | None = None,
                       signal: str | None = None) -> ContainerState:
        """``signal`` (docker stop --signal) replaces the container's stop signal for this stop."""
        return self.container_stop_finish(self.container_stop_begin(ref, timeout=timeout, signal=signal))

    def container_stop_begin(self, ref: str, *, timeout: float | None = None,
                             signal: str | None = None) -> StopInProgress:
        """The first half of ``container_stop``: the stop signal sent, the grace period started; returns at
        once. ``container_stop_finish`` waits out the rest. Why split: a caller stopping many containers (a
        `down` wave) sends every signal from one loop, then waits for each; the last signal, which sets when
        the last grace period ends, then goes out a few ms after the first instead of after a thread each
        had its turn under the GIL."""
        from runtime.containers.defaults import signal_number
        from runtime.containers.plan import LaunchPlan
        from runtime.containers.status import mark_stop_requested

        rec = self._record(ref)
        st = self._status(rec)
        if st.status not in ("running", "restarting", "starting"):
            return StopInProgress(rec, st, done=True)
        try:
            # The plan holds the stop signal resolved at create time (spec, else image, else SIGTERM).
            sig = signal_number(signal) if signal else LaunchPlan.load(self.container_dir(rec.id)).stop_signal
        except ValueError as exc:
            raise InvalidSpec(str(exc), hint="use a signal name such as SIGTERM or a number") from None
        mark_stop_requested(self.container_dir(rec.id))
        grace = rec.spec.stop_grace_period if timeout is None else timeout
        self._thaw(rec)
        if st.status == "restarting" and not st.pid:
            return StopInProgress(rec, st)  # between two runs: only its supervisor's final word is awaited
        signalled = grace > 0 and self._signal(rec, st, sig)
        return StopInProgress(rec, st, deadline=time.monotonic() + grace if signalled else None)

    def container_stop_finish(self, stop: StopInProgress, *, removing: bool = False) -> ContainerState:
        """The second half of ``container_stop``: the rest of the grace period, SIGKILL if the container
        outlives it, and its recorded exit.

        ``removing``: the caller removes the container next. Inside a teardown scope its network is then
        released the moment its init is dead, before the supervisor's final word (which ~10 supervisors
        finishing at once on two cores take 1-25 ms to write), so that the network's teardown, which
        waits for its last endpoint, starts that much sooner. Nothing of the container runs by then; the
        release is idempotent (and takes no lock when there is nothing left), so ``container_remove`` doing
        it again costs next to nothing."""
        rec, st = stop.rec, stop.st
        if stop.done:
            return self._state(rec, st)
        if st.status == "restarting" and not st.pid:
            return self._state(rec, self._wait_recorded_exit(rec))
        if stop.deadline is not None:
            self._prepare_teardown()  # a grace period to wait out: the teardown's imports run meanwhile
        killed = stop.deadline is None or not self._wait_init_exit(st, max(0.0, stop.deadline - time.monotonic()))
        if killed:
            self._signal(rec, st, signal_module.SIGKILL)
        in_teardown = removing and self._teardown_open and _uses_network_manager(rec.spec.network_mode)
        if in_teardown:
            # Dead, or sent SIGKILL: nothing of it can run any more, so its network need not wait for its exit.
            self._doom(rec.id)
        if killed:
            self._wait_init_exit(st, EXITED_WAIT)
        if in_teardown:
            self._release_network(rec.id)
        return self._state(rec, self._wait_recorded_exit(rec))

    def _thaw(self, rec: ContainerRecord) -> None:
        cg = self._cgroups(rec)
        try:
            if cg.is_frozen():
                cg.thaw()
        except OSError:
            pass

    def container_kill(self, ref: str, *, signal: str = "SIGKILL") -> None:
        from runtime.containers.defaults import signal_number
        from runtime.containers.status import mark_stop_requested

        rec = self._record(ref)
        try:
            sig = signal_number(signal)
        except ValueError as exc:
            raise InvalidSpec(str(exc), hint="use a signal name such as SIGTERM or a number") from None
        st = self._status(rec)
        if st.status not in ("running", "restarting", "starting"):
            raise StateError(f"container {rec.name} is not running")
        mark_stop_requested(self.container_dir(rec.id))
        if not self._signal(rec, st, sig):
            raise StateError(f"container {rec.name} is not running")
        if sig == signal_module.SIGKILL:
            self._thaw(rec)  # a frozen process would hold the kill until thawed
        if sig == signal_module.SIGKILL:
            self._wait_init_exit(st, EXITED_WAIT)
            self._wait_recorded_exit(rec)

    def container_restart(self, ref: str, *, timeout: float | None = None) -> ContainerState:
        self.container_stop(ref, timeout=timeout)
        return self.container_start(ref)

    def container_pause(self, ref: str) -> None:
        rec = self._record(ref)
        state = self._state(rec)
        if state.status != "running":
            raise StateError(f"container {rec.name} is not running" if state.status != "paused"
                             else f"container {rec.name} is already paused")
        self._cgroups(rec).freeze()

    def container_unpause(self, ref: str) -> None:
        rec = self._record(ref)
        if self._state(rec).status != "paused":
            raise StateError(f"container {rec.name} is not paused")
        self._cgroups(rec).thaw()

    def container_remove(self, ref: str, *, force: bool = False, volumes: bool = False) -> None:
        rec = self._record(ref)
        st = self._status(rec)
        if st.status in ("running", "restarting", "starting"):
            if not force:
                raise Conflict(f"cannot remove container {rec.name}: it is running",
                               hint="stop it first, or use --force")
            self.container_stop(rec.id, timeout=0)
            st = self._status(rec)
        networked = _uses_network_manager(rec.spec.network_mode)
        if networked and self._teardown_open:
            # In a teardown the network goes first, while the supervisor may still be in its cleanup (none of
            # which needs the network): the container is stopped, and its netns is held until the scope ends
            # (see batched_network_teardown), so its network's teardown can start that much sooner.
            self._release_network(rec.id)
            networked = False
        self._wait_supervisor_gone(st)
        try:
            self._cgroups(rec).remove()
        except OSError:
            pass
        if networked:
            self._release_network(rec.id)
        self.records.delete(rec.id)
        import shutil
        shutil.rmtree(self.container_dir(rec.id), ignore_errors=True)
        if volumes and rec.anonymous_volumes:
            with self.db.family_lock("volumes"):
                for vol in rec.anonymous_volumes:
                    try:
                        self.volumes.remove(vol, self.records.volume_users(vol))
                    except (NotFound, Conflict):
                        pass

    @staticmethod
    def _wait_supervisor_gone(st: RunStatus, timeout: float = 10.0) -> None:
        """The supervisor reports the exit before its own cleanup: let it finish before removing things.

        Waits on a pidfd, which turns readable the moment the process exits (any process, not only a child):
        no polling interval is added to every ``rm`` (``run --rm`` waits here right after the exit).
        """
        from runtime import syscalls

        if not st.supervisor_pid:
            return
        try:
            fd = syscalls.pidfd_open(st.supervisor_pid)
        except OSError:
            return  # no such process: gone already
        try:
            # Opened first, checked second: if the start time still matches, fd is that supervisor, not a
            # process that reused its pid (a zombie has no start time here, and has exited already).
            if syscalls.process_start_time(st.supervisor_pid) != st.supervisor_start:
                return
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            poller.poll(int(timeout * 1000))
        finally:
            os.close(fd)

    def container_prune(self, *, labels: Mapping[str, str | None] | None = None) -> list[str]:
        """Remove every container that is not running (created, exited, dead); returns their ids."""
        removed = []
        for state in self.container_list(labels=labels, all=True):
            if state.status in ("created", "exited", "dead"):
                try:
                    self.container_remove(state.id)
                except (NotFound, Conflict):
                    continue  # started or removed by someone else meanwhile
                removed.append(state.id)
        return removed

    def container_inspect(self, ref: str) -> ContainerState:
        return self._state(self._record(ref))

    def container_anonymous_volumes(self, ref: str) -> dict[str, str]:
        """Mount point -> name of each anonymous volume (a recreated container inherits them, as compose's)."""
        from runtime.containers.plan import LaunchPlan

        rec = self._record(ref)
        if not rec.anonymous_volumes:
            return {}
        by_dir = {}
        for name in rec.anonymous_volumes:
            try:
                by_dir[os.path.realpath(self.volumes.inspect(name).mountpoint)] = name
            except NotFound:
                continue  # removed meanwhile: nothing to inherit
        plan = LaunchPlan.load(self.container_dir(rec.id))
        return {m.target: by_dir[os.path.realpath(m.source)] for m in plan.mounts
                if m.type == "volume" and os.path.realpath(m.source) in by_dir}

    def container_list(self, *, labels: Mapping[str, str | None] | None = None,
                       all: bool = True) -> list[ContainerState]:
        from runtime.volumes import labels_match

        out = []
        for rec in self.records.all():
            if not labels_match(rec.labels, labels):
                continue
            state = self._state(rec)
            if all or state.status in ("running", "paused", "restarting"):
                out.append(state)
        return out

    def container_watch(self, ids: Sequence[str]) -> StatusWatch:
        """Wait for the recorded state of containers ``ids`` to change: ``with engine.container_watch(ids) as
        w: ... w.wait(timeout)`` (True: one may have changed; False: the timeout passed). Set it up before
        reading the state it guards, so no change in between is missed."""
        from runtime.containers.status import STATUS_FILE
        from runtime.statuswatch import StatusWatch

        return StatusWatch([self.container_dir(i) for i in ids], STATUS_FILE)

    def container_wait(self, ref: str, *, timeout: float | None = None) -> int:
        rec = self._record(ref)
        deadline = None if timeout is None else time.monotonic() + timeout
        # Set up before the first read: the supervisor's record of the exit replaces status.json, and that
        # wakes the wait at once (a poll from 0.5 ms up took 0.2-1 ms more after a quick exit).
        with self.container_watch([rec.id]) as watch:
            while True:
                st = self._status(rec)
                if st.status in ("exited", "dead") or (st.status == "created" and not st.started_at):
                    return st.exit_code
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise StateError(f"container {rec.name} did not exit within {timeout:g}s")
                if st.status == "running" and st.pid:
                    # Sleep in the kernel until the init exits; then the record follows.
                    self._wait_init_exit(st, 3600.0 if left is None else left)
                # Bounded: a supervisor killed outright records nothing, and only a read settles that.
                watch.wait(0.05 if left is None else max(0.0, min(0.05, left)))

    def container_logs(self, ref: str, *, follow: bool = False, tail: int | None = None,
                       since: str | None = None, until: str | None = None) -> Iterator[LogRecord]:
        from runtime.logs import log_path, read_logs

        rec = self._record(ref)

        def running() -> bool:
            return self._status(rec).status in ("running", "starting", "restarting")

        for r in read_logs(log_path(self.container_dir(rec.id)), tail=tail, since=since, until=until,
                           follow=follow, running=running):
            yield LogRecord(time=r["time"], stream=r["stream"], text=r["text"])  # type: ignore[arg-type]

    def _running_plan(self, ref: str) -> tuple[ContainerRecord, RunStatus, LaunchPlan]:
        from runtime.containers.plan import LaunchPlan

        rec = self._record(ref)
        st = self._status(rec)
        if st.status != "running" or not st.pid:
            raise StateError(f"container {rec.name} is not running",
                             hint=f"start it first: hoist container start {rec.name}")
        if self._state(rec, st).status == "paused":
            raise StateError(f"container {rec.name} is paused", hint="unpause it first")
        return rec, st, LaunchPlan.load(self.container_dir(rec.id))

    def container_exec(self, ref: str, spec: ExecSpec, stdio: tuple[int, int, int] = (0, 1, 2)) -> int:
        """Run ``spec`` in the container with the caller's stdio; returns its exit code (0 when detached)."""
        from runtime.exec import ExecError, ExecRequest, exec_process, wait_exit_code

        rec, st, plan = self._running_plan(ref)
        request = ExecRequest(argv=list(spec.command), env=dict(spec.env), user=spec.user,
                              working_dir=spec.working_dir, privileged=spec.privileged)
        cgroups = self._cgroups(rec)
        if spec.detach:
            null = os.open("/dev/null", os.O_RDWR)
            stdio = (null, null, null)
        try:
            helper, _ = exec_process(plan, st.pid, cgroups.attach, request, stdio)
        except ExecError as exc:
            raise SetupError(str(exc), step="exec") from None
        finally:
            if spec.detach:
                os.close(null)
        if spec.detach:
            import threading

            threading.Thread(target=wait_exit_code, args=(helper,), daemon=True).start()
            return 0
        return wait_exit_code(helper)

    def container_top(self, ref: str) -> list[dict[str, str]]:
        rec = self._record(ref)
        rows = []
        for pid in sorted(self._cgroups(rec).pids()):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
            rows.append({"PID": str(pid), "PPID": fields.get("PPid", "").strip(),
                         "UID": fields.get("Uid", "").split()[0] if fields.get("Uid") else "",
                         "CMD": cmd.strip()})
        return rows

    def container_stats(self, ref: str) -> ContainerStats:
        """One sample of the container's resource usage (runtime/containers/stats.py). A container that is not
        running (or paused) has every counter at 0, as docker reports it; an unknown one raises NotFound."""
        from runtime.containers import stats

        rec = self._record(ref)
        state = self._state(rec)
        if state.status not in ("running", "paused") or not state.pid:
            return ContainerStats(id=rec.id, name=rec.name)
        network = rec.spec is None or rec.spec.network_mode != "host"  # docker: no counters for the host's
        return stats.sample(rec.id, rec.name, self._cgroups(rec).dirs(), state.pid, network=network)

    def container_commit(self, ref: str, *, repository: str | None = None, changes: Sequence[str] = (),
                         message: str = "", author: str = "", pause: bool = True) -> str:
        """A new image from the container's changes (runtime/containers/commit.py); returns its id."""
        from runtime.containers.commit import commit_container

        return commit_container(self, ref, repository=repository, changes=changes, message=message,
                                author=author, pause=pause)

    def container_export(self, ref: str, out: BinaryIO) -> None:
        """A tar of the container's filesystem (its overlay: no volumes) to ``out`` (runtime/containers/fsaccess.py)."""
        from runtime.containers import fsaccess

        fsaccess.export(self, ref, out)

    def container_get_archive(self, ref: str, path: str, *, follow_link: bool = False
                              ) -> contextlib.AbstractContextManager[BinaryIO]:
        """``with engine.container_get_archive(ref, path) as tar_stream: ...``: a tar of ``path`` in the
        container (running: as its processes see it, volumes included; else its overlay)."""
        from runtime.containers import fsaccess

        return fsaccess.get_archive(self, ref, path, follow_link=follow_link)  # type: ignore[return-value]

    def container_put_archive(self, ref: str, path: str, stream: BinaryIO, *, archive: bool = False,
                              raw: bool = False, contents_only: bool = False) -> None:
        """Extract a tar at ``path`` in the container as docker cp places it (see fsaccess.put_archive)."""
        from runtime.containers import fsaccess

        fsaccess.put_archive(self, ref, path, stream, archive=archive, raw=raw, contents_only=contents_only)


def _uses_network_manager(mode: str) -> bool:
    return (mode or "bridge") not in ("none", "host")


def _read_line(conn: Any) -> str:
    """One line, and nothing after it: the exit line that may follow must stay in the socket for select().

    Peeks at what has arrived and takes it up to the newline (two system calls for a whole line; reading
    byte by byte took one per byte)."""
    import socket

    data = bytearray()
    while not data.endswith(b"\n"):
        peeked = conn.recv(4096, socket.MSG_PEEK)
        if not peeked:
            break
        end = peeked.find(b"\n")
        data += conn.recv(len(peeked) if end < 0 else end + 1)
    return data.decode(errors="replace").strip()


def read_exit(conn: Any) -> dict[str, Any] | None:
    """The supervisor's final line on an attached start connection (None if it went away)."""
    line = _read_line(conn)
    return json.loads(line) if line else None


def _start_hint(error: str) -> str | None:
    if "exec:" in error:
        return "check the command and entrypoint: the executable must exist in the image and be executable"
    if "unable to find user" in error:
        return "the user must exist in the image's /etc/passwd, or be given as a numeric uid[:gid]"
    if "cgroup" in error:
        return "check the resource limits (memory, cpus, cpuset, pids) against the host"
    return None
