"""An in-memory EngineAPI for unit tests of the compose side: no root, no kernel objects.

Behaviour is scripted per container name: ``exit_on_start[name] = code`` makes a container exit at once,
``healthy_after[name] = seconds`` makes it healthy that long after its start (``None``: never, stays
unhealthy), and ``calls`` records every mutating call in order so tests can assert ordering.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from runtime.api import (
    ContainerSpec,
    ContainerState,
    ContainerStats,
    EndpointSpec,
    ExecSpec,
    HealthLogEntry,
    ImageConfig,
    ImageInfo,
    LogRecord,
    NetworkInfo,
    NetworkSpec,
    VolumeInfo,
    VolumeSpec,
)
from runtime.errors import Conflict, NotFound, StateError


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _matches(labels: Mapping[str, str], wanted: Mapping[str, str | None] | None) -> bool:
    for key, value in (wanted or {}).items():
        if key not in labels or (value is not None and labels[key] != value):
            return False
    return True


class _TickWatch:
    def wait(self, timeout: float) -> bool:
        time.sleep(min(timeout, 0.02))
        return True

    def __enter__(self) -> _TickWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class FakeEngine:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or Path("/nonexistent-fake-root")
        self.containers: dict[str, ContainerState] = {}
        self.started_at: dict[str, float] = {}
        self.networks: dict[str, NetworkInfo] = {}
        self.volumes: dict[str, VolumeInfo] = {}
        self.images: dict[str, ImageInfo] = {}
        self.exit_on_start: dict[str, int] = {}
        self.healthy_after: dict[str, float | None] = {}
        self.exec_exit: dict[str, int] = {}  # container name -> the exit code of its execs (default 0)
        self.start_delay: dict[str, float] = {}
        self.logs: dict[str, list[LogRecord]] = {}
        self.stats: dict[str, ContainerStats] = {}  # container name -> what container_stats returns
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._counter = 0

    # ---------------------------------------------------------------------------------------- helpers
    def add_image(self, ref: str, config: ImageConfig | None = None) -> None:
        info = ImageInfo(id="sha256:" + hashlib.sha256(ref.encode()).hexdigest(), tags=[ref], digests=[],
                         created=_now(), size=1, architecture="amd64", os="linux",
                         config=config or ImageConfig(cmd=["sh"]), layers=[])
        self.images[ref] = info

    def _record(self, op: str, ref: str) -> None:
        with self._lock:
            self.calls.append((op, ref))

    def _find(self, ref: str) -> ContainerState:
        with self._lock:
            if ref in self.containers:
                return self.containers[ref]
            for c in self.containers.values():
                if c.name == ref or c.id.startswith(ref):
                    return c
        raise NotFound(f"no such container: {ref}")

    def _set(self, state: ContainerState) -> ContainerState:
        with self._lock:
            self.containers[state.id] = state
        return state

    def _refresh(self, c: ContainerState) -> ContainerState:
        """Apply scripted health as time passes."""
        if c.status != "running" or c.spec is None or c.spec.healthcheck is None:
            return c
        if c.spec.healthcheck.test[:1] == ["NONE"]:
            return c
        after = self.healthy_after.get(c.name, 0.0)
        elapsed = time.monotonic() - self.started_at.get(c.id, time.monotonic())
        if after is None:
            health = "unhealthy" if elapsed > 0.05 else "starting"
            log = [HealthLogEntry(_now(), _now(), 1, "probe failed: connection refused\n")]
        else:
            health = "healthy" if elapsed >= after else "starting"
            log = [HealthLogEntry(_now(), _now(), 0, "ok\n")]
        return self._set(replace(c, health=health, health_log=log))

    # ----------------------------------------------------------------------------------------- images
    def image_inspect(self, ref: str) -> ImageInfo:
        if ref in self.images:
            return self.images[ref]
        raise NotFound(f"no such image: {ref}")

    def image_list(self) -> list[ImageInfo]:
        return list(self.images.values())

    def image_exists(self, ref: str) -> bool:
        return ref in self.images

    def image_tag(self, ref: str, new_ref: str) -> None:
        self.images[new_ref] = self.image_inspect(ref)

    def image_remove(self, ref: str, *, force: bool = False) -> list[str]:
        self.image_inspect(ref)
        del self.images[ref]
        self._record("image_remove", ref)
        return [ref]

    def image_import(self, tarball: Path, ref: str, *, changes: Sequence[str] = ()) -> ImageInfo:
        raise NotImplementedError

    def image_load(self, archive: Path) -> list[ImageInfo]:
        raise NotImplementedError

    def image_save(self, refs: Sequence[str], archive: Path, *, fmt: str = "docker") -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------- containers
    def container_create(self, spec: ContainerSpec) -> ContainerState:
        with self._lock:
            if any(c.name == spec.name for c in self.containers.values()):
                raise Conflict(f'container name "{spec.name}" is already in use')
            self._counter += 1
            cid = hashlib.sha256(f"{spec.name}-{self._counter}".encode()).hexdigest()
        if spec.image not in self.images:
            raise NotFound(f"no such image: {spec.image}")
        self._record("create", spec.name)
        return self._set(ContainerState(id=cid, name=spec.name, image=spec.image,
                                        image_id=self.images[spec.image].id, labels=dict(spec.labels),
                                        status="created", created=_now(), spec=spec))

    def container_start(self, ref: str) -> ContainerState:
        c = self._find(ref)
        if c.status == "running":
            raise StateError(f"container {c.name} is already running")
        time.sleep(self.start_delay.get(c.name, 0.0))
        self._record("start", c.name)
        self.started_at[c.id] = time.monotonic()
        if c.name in self.exit_on_start:
            return self._set(replace(c, status="exited", exit_code=self.exit_on_start[c.name],
                                     started_at=_now(), finished_at=_now(), pid=0))
        health = "starting" if c.spec and c.spec.healthcheck and c.spec.healthcheck.test[:1] != ["NONE"] \
            else None
        return self._refresh(self._set(replace(c, status="running", pid=1000 + self._counter,
                                               started_at=_now(), health=health, exit_code=0)))

    def container_stop(self, ref: str, *, timeout: float | None = None) -> ContainerState:
        c = self._find(ref)
        self._record("stop", c.name)
        if c.status in ("running", "paused", "restarting"):
            c = self._set(replace(c, status="exited", exit_code=143, finished_at=_now(), pid=0, health=None))
        return c

    def container_stop_begin(self, ref: str, *, timeout: float | None = None) -> tuple[str, float | None]:
        self._find(ref)  # NotFound as the real one
        return (ref, timeout)

    def container_stop_finish(self, stop: tuple[str, float | None], *, removing: bool = False) -> ContainerState:
        return self.container_stop(stop[0], timeout=stop[1])

    def container_kill(self, ref: str, *, signal: str = "SIGKILL") -> None:
        c = self._find(ref)
        if c.status != "running":
            raise StateError(f"container {c.name} is not running")
        self._record("kill", c.name)
        self._set(replace(c, status="exited", exit_code=137, finished_at=_now(), pid=0))

    def container_restart(self, ref: str, *, timeout: float | None = None) -> ContainerState:
        self.container_stop(ref, timeout=timeout)
        self._record("restart", self._find(ref).name)
        return self.container_start(ref)

    def container_pause(self, ref: str) -> None:
        c = self._find(ref)
        self._record("pause", c.name)
        self._set(replace(c, status="paused"))

    def container_unpause(self, ref: str) -> None:
        c = self._find(ref)
        self._record("unpause", c.name)
        self._set(replace(c, status="running"))

    def container_remove(self, ref: str, *, force: bool = False, volumes: bool = False) -> None:
        c = self._find(ref)
        if c.status == "running" and not force:
            raise Conflict(f"container {c.name} is running")
        self._record("remove", c.name)
        with self._lock:
            del self.containers[c.id]

    def container_inspect(self, ref: str) -> ContainerState:
        return self._refresh(self._find(ref))

    def container_anonymous_volumes(self, ref: str) -> dict[str, str]:
        """Anonymous volume mounts of the spec (no volume store here): target -> a stable made-up name."""
        c = self._find(ref)
        spec = c.spec
        return {m.target: (m.source if m.anonymous else f"anon-{c.name}-{m.target.strip('/')}")
                for m in (spec.mounts if spec else []) if m.type == "volume" and (not m.source or m.anonymous)}

    def container_watch(self, ids: Sequence[str]) -> _TickWatch:
        """Scripted states change as time passes, not on events: a watch that wakes every 20 ms."""
        return _TickWatch()

    def container_list(self, *, labels: Mapping[str, str | None] | None = None,
                       all: bool = True) -> list[ContainerState]:
        with self._lock:
            found = [c for c in self.containers.values() if _matches(c.labels, labels)]
        found = [self._refresh(c) for c in found]
        return [c for c in found if all or c.status == "running"]

    def container_wait(self, ref: str, *, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            c = self._find(ref)
            if c.status in ("exited", "dead", "created"):
                return c.exit_code
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(ref)
            time.sleep(0.01)

    def container_logs(self, ref: str, *, follow: bool = False, tail: int | None = None,
                       since: str | None = None, until: str | None = None) -> Iterator[LogRecord]:
        records = self.logs.get(self._find(ref).name, [])
        if tail is not None:
            records = records[-tail:] if tail else []
        yield from records

    def container_exec(self, ref: str, spec: ExecSpec) -> int:
        name = self._find(ref).name
        self._record("exec", name)
        return self.exec_exit.get(name, 0)

    def container_top(self, ref: str) -> list[dict[str, str]]:
        return [{"UID": "root", "PID": "1", "CMD": "sh"}]

    def container_stats(self, ref: str) -> ContainerStats:
        """Scripted: ``stats[name]`` when set, else zeros (running ones with a pid and a memory limit)."""
        c = self._find(ref)
        scripted = self.stats.get(c.name)
        if scripted is not None:
            return scripted
        if c.status not in ("running", "paused"):
            return ContainerStats(id=c.id, name=c.name)
        return ContainerStats(id=c.id, name=c.name, running=True, online_cpus=1, memory_limit=1 << 30, pids=1)

    def container_commit(self, ref: str, *, repository: str | None = None, changes: Sequence[str] = (),
                         message: str = "", author: str = "", pause: bool = True) -> str:
        """An image named ``repository`` (or the container's name) with the container's image's config."""
        c = self._find(ref)
        self._record("commit", c.name)
        base = self.images.get(c.image)
        self.add_image(repository or f"committed-{c.name}", base.config if base else None)
        return self.images[repository or f"committed-{c.name}"].id

    def container_export(self, ref: str, out: BinaryIO) -> None:
        """An empty tar (two zero blocks)."""
        self._record("export", self._find(ref).name)
        out.write(bytes(1024))

    def container_get_archive(self, ref: str, path: str, *, follow_link: bool = False
                              ) -> contextlib.AbstractContextManager[BinaryIO]:
        raise NotImplementedError

    def container_put_archive(self, ref: str, path: str, stream: BinaryIO, *, archive: bool = False,
                              raw: bool = False, contents_only: bool = False) -> None:
        raise NotImplementedError

    # --------------------------------------------------------------------------------------- networks
    def network_create(self, spec: NetworkSpec) -> NetworkInfo:
        if spec.name in self.networks:
            raise Conflict(f"network {spec.name} already exists")
        self._record("network_create", spec.name)
        info = NetworkInfo(id=hashlib.sha256(spec.name.encode()).hexdigest(), name=spec.name,
                           driver=spec.driver, internal=spec.internal, labels=dict(spec.labels),
                           subnet="10.99.0.0/24", gateway="10.99.0.1", bridge="hstfake", created=_now(),
                           containers={})
        self.networks[spec.name] = info
        return info

    def network_inspect(self, ref: str) -> NetworkInfo:
        for n in self.networks.values():
            if ref in (n.name, n.id):
                return n
        raise NotFound(f"no such network: {ref}")

    def network_list(self, *, labels: Mapping[str, str | None] | None = None) -> list[NetworkInfo]:
        return [n for n in self.networks.values() if _matches(n.labels, labels)]

    def batched_network_teardown(self, networks_labeled: Mapping[str, str] | None = None
                                 ) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # no kernel links here

    def network_remove(self, ref: str) -> None:
        n = self.network_inspect(ref)
        self._record("network_remove", n.name)
        del self.networks[n.name]

    def network_connect(self, network: str, container: str, endpoint: EndpointSpec) -> None:
        self._record("network_connect", f"{network}:{container}")

    def network_disconnect(self, network: str, container: str) -> None:
        self._record("network_disconnect", f"{network}:{container}")

    # ---------------------------------------------------------------------------------------- volumes
    def volume_create(self, spec: VolumeSpec) -> VolumeInfo:
        if spec.name in self.volumes:
            return self.volumes[spec.name]
        self._record("volume_create", spec.name)
        info = VolumeInfo(name=spec.name, driver=spec.driver, labels=dict(spec.labels),
                          mountpoint=f"/fake/volumes/{spec.name}", created=_now())
        self.volumes[spec.name] = info
        return info

    def volume_inspect(self, name: str) -> VolumeInfo:
        if name in self.volumes:
            return self.volumes[name]
        raise NotFound(f"no such volume: {name}")

    def volume_list(self, *, labels: Mapping[str, str | None] | None = None) -> list[VolumeInfo]:
        return [v for v in self.volumes.values() if _matches(v.labels, labels)]

    def volume_remove(self, name: str, *, force: bool = False) -> None:
        self.volume_inspect(name)
        self._record("volume_remove", name)
        del self.volumes[name]


class FakeContainerChanges:
    """What ``EngineAPI.container_changes()`` returns, set by the test instead of inotify; counts its
    ``refresh`` calls and remembers ``close``."""

    def __init__(self, complete: bool = True) -> None:
        self.event = threading.Event()
        self.complete = complete
        self.refreshes = 0
        self.closed = False

    def refresh(self) -> None:
        self.refreshes += 1

    def close(self) -> None:
        self.closed = True


def use_demo_project(monkeypatch: Any, fake: FakeEngine, project_dir: Path, compose: str) -> FakeEngine:
    """The CLI's unit-test frame: ``fake`` (with a busybox image) as the engine of every compose command,
    ``compose`` as compose.yaml in ``project_dir`` (the working directory), project name ``demo``."""
    from compose.cli import projectctx

    fake.add_image("busybox")
    monkeypatch.setattr(projectctx, "open_engine", lambda args=None: fake)
    (project_dir / "compose.yaml").write_text(compose)
    monkeypatch.chdir(project_dir)
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "demo")
    return fake
