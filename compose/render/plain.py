"""Plain progress: one line per event, byte-stable (no timers, no colours), for pipes and CI logs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TextIO

from compose.events import Event


def format_plain(event: Event) -> str:
    line = f" {event.id} {event.text}"
    if event.details:
        line += f" {event.details}"
    return line


class LineRenderer:
    """One line per event, written whole under a lock so concurrent services never interleave."""

    def __init__(self, stream: TextIO, fmt: Callable[[Event], str] = format_plain) -> None:
        self.stream = stream
        self._format = fmt
        self._lock = threading.Lock()

    def start(self, title: str) -> None:
        pass

    def emit(self, event: Event) -> None:
        with self._lock:
            self.stream.write(self._format(event) + "\n")
            self.stream.flush()

    def stop(self) -> None:
        pass


class PlainRenderer(LineRenderer):
    pass


class QuietRenderer:
    def start(self, title: str) -> None:
        pass

    def emit(self, event: Event) -> None:
        pass

    def stop(self) -> None:
        pass
