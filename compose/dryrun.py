"""``--dry-run``: commands show what they would do and change nothing, as docker compose's.

`up` and `create` print their convergence plan (compose/cli/upflow.py); `watch` prints what a change of each
watched file would do (compose/watch/preview.py). `down`, `start`, `stop`, `restart`,
`kill`, `pause`, `unpause` and `rm` run their real code against :class:`DryRunEngine`, which reads through to
the engine and does nothing that changes state, and report each resource with compose's ``DRY-RUN MODE -``
prefix (:class:`DryRunSink`). Read-only commands run as usual. Every other command refuses the flag before it
does anything (:data:`ALLOWED`, checked by compose/cli/main.py), so a command that does not know the flag can
never act as if it were absent.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from compose import events as ev
from compose.errors import UsageError
from runtime.api import ContainerState, EngineAPI, ExecSpec

PREFIX = "DRY-RUN MODE - "

# Commands that honour --dry-run (their own way, or through DryRunEngine) or change nothing anyway.
SIMULATED = ("up", "create", "down", "start", "stop", "restart", "kill", "pause", "unpause", "rm", "watch")
READ_ONLY = ("ps", "logs", "top", "port", "events", "wait", "ls", "images", "config", "convert", "version",
             "stats", "volumes")
ALLOWED = frozenset(SIMULATED + READ_ONLY)

# What DryRunEngine passes through to the real engine: calls that only read.
_READS = frozenset((
    "image_inspect", "image_list", "image_exists", "container_inspect", "container_anonymous_volumes",
    "container_list", "container_logs", "container_top", "container_watch", "container_changes",
    "container_wait", "container_stats",
    "network_inspect", "network_list", "volume_inspect", "volume_list",
))


def refusal(command: str) -> UsageError:
    return UsageError(f"--dry-run is not supported by `hoist {command}`: nothing was done",
                      hint="run it without --dry-run; --dry-run works with " + ", ".join(SIMULATED))


class DryRunEngine:
    """The engine as a dry run sees it: reads go to ``engine``; what would change state is checked (the
    resource exists, as the real call would find out) and not done."""

    def __init__(self, engine: EngineAPI) -> None:
        self._engine = engine
        self.root = engine.root

    def __getattr__(self, name: str) -> Any:
        if name in _READS:
            return getattr(self._engine, name)
        # Anything else may change state: fail loudly rather than pass it through.
        raise AttributeError(f"--dry-run cannot simulate the engine's {name}")

    def _as(self, ref: str, **changes: Any) -> ContainerState:
        return dataclasses.replace(self._engine.container_inspect(ref), **changes)

    # containers
    def container_start(self, ref: str) -> ContainerState:
        return self._as(ref, status="running")

    def container_stop(self, ref: str, *, timeout: float | None = None) -> ContainerState:
        return self._as(ref, status="exited")

    def container_stop_begin(self, ref: str, *, timeout: float | None = None) -> str:
        self._engine.container_inspect(ref)
        return ref

    def container_stop_finish(self, stop: str, *, removing: bool = False) -> ContainerState:
        return self._as(stop, status="exited")

    def container_restart(self, ref: str, *, timeout: float | None = None) -> ContainerState:
        return self._as(ref, status="running")

    def container_kill(self, ref: str, *, signal: str = "SIGKILL") -> None:
        self._engine.container_inspect(ref)

    def container_pause(self, ref: str) -> None:
        self._engine.container_inspect(ref)

    def container_unpause(self, ref: str) -> None:
        self._engine.container_inspect(ref)

    def container_remove(self, ref: str, *, force: bool = False, volumes: bool = False) -> None:
        self._engine.container_inspect(ref)

    def container_exec(self, ref: str, spec: ExecSpec, stdio: tuple[int, int, int] = (0, 1, 2)) -> int:
        self._engine.container_inspect(ref)  # a hook (post_start, pre_stop) would run here
        return 0

    @contextlib.contextmanager
    def batched_network_teardown(self, networks_labeled: Mapping[str, str] | None = None) -> Iterator[None]:
        yield

    # networks, volumes, images
    def network_remove(self, ref: str) -> None:
        self._engine.network_inspect(ref)

    def volume_remove(self, name: str, *, force: bool = False) -> None:
        self._engine.volume_inspect(name)

    def image_remove(self, ref: str, *, force: bool = False) -> list[str]:
        return [self._engine.image_inspect(ref).id]


class DryRunSink:
    """Every event of the operation with compose's ``DRY-RUN MODE -`` in front of its resource."""

    def __init__(self, sink: ev.Sink) -> None:
        self._sink = sink

    def emit(self, event: ev.Event) -> None:
        self._sink.emit(dataclasses.replace(event, id=PREFIX + event.id,
                                            parent_id=PREFIX + event.parent_id if event.parent_id else ""))
