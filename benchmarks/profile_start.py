"""Where a container start's time goes: a cross-process timeline of create+start+wait of `true` (root).

Run: .venv/bin/python -m benchmarks.profile_start [--runs N]
The launcher runs in a child of this process with timestamps (CLOCK_MONOTONIC, shared by all processes)
wrapped around the supervisor's and PID 1's steps; every event is printed as its median offset from the
end of ``container_create``, in time order. ``name>``/``name<`` are a step's start and end; a bare name is
the end of an init step of PID 1. Wrapping costs a little time per step: read it as a map, not as a
benchmark (bench_runtime is the benchmark).
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import signal
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._measure import on_busybox_root

PROJECT_DIR = Path(__file__).resolve().parent.parent


class _Log:
    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        self.run = "-"

    def mark(self, label: str) -> None:
        os.write(self.fd, f"{self.run}\t{label}\t{time.monotonic() * 1000:.3f}\n".encode())

    def wrap(self, owner: Any, attr: str, label: str) -> None:
        original = getattr(owner, attr, None)
        if original is None:
            return  # renamed since: that step is simply not shown

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.mark(label + ">")
            try:
                return original(*args, **kwargs)
            finally:
                self.mark(label + "<")

        setattr(owner, attr, wrapped)


def _instrument_launcher(log: _Log) -> None:
    from runtime import supervisor, syscalls
    from runtime.containers import cgroups, init, status

    original_steps: Callable[..., list[tuple[str, Callable[[], None]]]] = init._steps

    def steps(*args: Any, **kwargs: Any) -> list[tuple[str, Callable[[], None]]]:
        def timed(name: str, action: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                action()
                log.mark("init:" + name)
            return run
        return [(name, timed(name, action)) for name, action in original_steps(*args, **kwargs)]

    init._steps = steps  # type: ignore[assignment]
    original_run = supervisor.run

    def run(root: Any, container_id: str, notify: Any, process: Any = None) -> None:
        log.run = container_id[:12]
        log.mark("supervisor>")
        original_run(root, container_id, notify, process)

    supervisor.run = run  # type: ignore[assignment]
    log.wrap(supervisor, "own", "sup:own")
    log.wrap(status.RunStatus, "save", "status.save")
    log.wrap(cgroups.ContainerCgroups, "make_dirs", "cgroups.make_dirs")
    log.wrap(cgroups.ContainerCgroups, "prime_attach", "sup:prime")
    log.wrap(cgroups.ContainerCgroups, "set_limits", "cgroups.limits")
    log.wrap(cgroups.ContainerCgroups, "attach", "cgroups.attach")
    log.wrap(supervisor, "spawn", "sup:spawn")
    log.wrap(init, "reset_inherited_signals", "pid1:reset")
    log.wrap(syscalls, "unshare", "unshare")
    log.wrap(syscalls, "set_link_up", "pid1:loopback")
    log.wrap(init, "_exec", "pid1:exec")
    log.wrap(init.os, "execvpe", "pid1:execvpe")  # only its start shows: it returns only when it failed

    def close_fds(keep: int) -> None:  # as init's, but the log stays open up to the exec (close-on-exec)
        limit = 65536
        for low, high in sorted(((3, min(keep, log.fd)), (min(keep, log.fd) + 1, max(keep, log.fd)),
                                 (max(keep, log.fd) + 1, limit))):
            os.closerange(low, high)

    init._close_fds = close_fds  # type: ignore[assignment]
    log.wrap(init, "_read_all", "sup:await-exec")  # the error pipe's EOF: PID 1's exec closed it
    log.wrap(init, "_await_sync", "pid1:await-sync")  # PID 1 waiting for its cgroups (made, then attached)
    log.wrap(supervisor.Supervisor, "_cleanup", "sup:cleanup")


def _instrument_engine(log: _Log) -> None:
    """The engine's side, in this process: its head start on the cgroups, the launcher request, the reply."""
    from runtime import launcher
    from runtime.containers import cgroups

    log.wrap(cgroups.Priming, "_run", "eng:prime")
    log.wrap(launcher, "request_start", "eng:request")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    return on_busybox_root("profile_start", "hoist-profile-", functools.partial(_profile, args.runs))


def _profile(runs: int, rootfs: Path, work: Path, root: Path) -> int:
    from runtime import launcher
    from runtime.api import ContainerSpec
    from runtime.engine import open_engine
    from tests.support.image_store import cached_store, link_into

    os.environ["HOIST_ROOT"] = str(root)
    link_into(cached_store(rootfs, "busybox:latest"), root)
    log = _Log(work / "timeline.log")
    server = os.fork()
    if server == 0:  # this process's own launcher, instrumented, where the engine will find it
        try:
            os.setsid()
            _instrument_launcher(log)
            launcher.serve(str(root))
        finally:
            os._exit(0)
    try:
        deadline = time.monotonic() + 30
        while not launcher.socket_path(root).exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        _instrument_engine(log)
        engine = open_engine(root)
        engine._launcher_warmed = True  # type: ignore[attr-defined]  # ours is up: no second one
        ids = []
        for i in range(runs + 2):
            time.sleep(0.03)  # let the previous run's cleanup end: one start at a time
            log.run = "-"
            state = engine.container_create(ContainerSpec(name=f"p{i}", image="busybox:latest", command=["true"],
                                                          network_mode="none"))
            log.run = state.id[:12]
            log.mark("api:create<")
            engine.container_start(state.id)
            log.mark("api:start<")
            engine.container_wait(state.id)
            log.mark("api:wait<")
            ids.append(state.id)
        for cid in ids:
            engine.container_remove(cid)
    finally:
        os.kill(server, signal.SIGTERM)
        os.waitpid(server, 0)
    _print_timeline(work / "timeline.log", skip=2)
    return 0


def _print_timeline(path: Path, skip: int) -> None:
    runs: dict[str, list[tuple[str, float]]] = collections.defaultdict(list)
    for line in path.read_text().splitlines():
        run, label, at = line.split("\t")
        if run != "-":
            runs[run].append((label, float(at)))
    offsets: dict[str, list[float]] = collections.defaultdict(list)
    for events in list(runs.values())[skip:]:
        start = dict(events).get("api:create<")
        if start is None:
            continue
        seen: collections.Counter[str] = collections.Counter()
        for label, at in events:
            seen[label] += 1
            offsets[label if seen[label] == 1 else f"{label}#{seen[label]}"].append(at - start)
    print(f"median offsets from the end of container_create, {len(list(runs.values())[skip:])} runs:\n")
    for label in sorted(offsets, key=lambda k: statistics.median(offsets[k])):
        print(f"  {label:<32} {statistics.median(offsets[label]):7.2f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
