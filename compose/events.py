"""Progress events: one stream that every renderer (tty, plain, json, quiet) draws from.

The status words and the four-valued status are compose's (pkg/api/event.go), because users and scripts
grep for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

Status = Literal["Working", "Done", "Warning", "Error"]
WORKING: Status = "Working"
DONE: Status = "Done"
WARNING: Status = "Warning"
ERROR: Status = "Error"

# compose's words, as pairs (in progress, finished).
CREATING, CREATED = "Creating", "Created"
STARTING, STARTED = "Starting", "Started"
STOPPING, STOPPED = "Stopping", "Stopped"
KILLING, KILLED = "Killing", "Killed"
REMOVING, REMOVED = "Removing", "Removed"
RESTARTING, RESTARTED = "Restarting", "Restarted"
RECREATE, RECREATED = "Recreate", "Recreated"
PAUSING, PAUSED = "Pausing", "Paused"
UNPAUSING, UNPAUSED = "Unpausing", "Unpaused"
PULLING, PULLED = "Pulling", "Pulled"
BUILDING, BUILT = "Building", "Built"
WAITING, HEALTHY, EXITED, RUNNING = "Waiting", "Healthy", "Exited", "Running"
SKIPPED = "Skipped"
ERROR_TEXT = "Error"


@dataclass
class Event:
    """One resource's progress: ``id`` is what the user sees ("Container p-web-1", "Network p_default")."""

    id: str
    text: str
    status: Status = WORKING
    details: str = ""
    parent_id: str = ""
    current: int = 0
    total: int = 0
    percent: int = 0
    time: float = field(default_factory=time.monotonic)


class Sink(Protocol):
    def emit(self, event: Event) -> None: ...


class Recorder:
    """A sink that keeps every event (tests, and the summary of what an operation did)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)


class Fanout:
    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    def emit(self, event: Event) -> None:
        for sink in self.sinks:
            sink.emit(event)


class NullSink:
    def emit(self, event: Event) -> None:
        pass


def container_id(name: str) -> str:
    return f"Container {name}"


def network_id(name: str) -> str:
    return f"Network {name}"


def volume_id(name: str) -> str:
    return f"Volume {name}"


def image_id(name: str) -> str:
    return f"Image {name}"


class Reporter:
    """Convenience over a sink: ``working``/``done``/``warn``/``error`` for one resource id."""

    def __init__(self, sink: Sink, on_event: Callable[[Event], None] | None = None) -> None:
        self.sink = sink
        self._on_event = on_event

    def _emit(self, event: Event) -> None:
        self.sink.emit(event)
        if self._on_event:
            self._on_event(event)

    def working(self, rid: str, text: str, details: str = "") -> None:
        self._emit(Event(rid, text, WORKING, details))

    def done(self, rid: str, text: str, details: str = "") -> None:
        self._emit(Event(rid, text, DONE, details))

    def warn(self, rid: str, text: str, details: str = "") -> None:
        self._emit(Event(rid, text, WARNING, details))

    def error(self, rid: str, text: str, details: str = "") -> None:
        self._emit(Event(rid, text, ERROR, details))
