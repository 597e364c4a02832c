"""JSON progress: one object per event and line, with compose's keys (cmd/display/json.go)."""

from __future__ import annotations

import json
import threading
from typing import TextIO

from compose.events import Event


def format_json(event: Event) -> str:
    return json.dumps({
        "id": event.id,
        "parent_id": event.parent_id,
        "status": event.status,
        "text": event.text,
        "details": event.details,
        "current": event.current,
        "total": event.total,
        "percent": event.percent,
    })


class JsonRenderer:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def start(self, title: str) -> None:
        pass

    def emit(self, event: Event) -> None:
        with self._lock:
            self.stream.write(format_json(event) + "\n")
            self.stream.flush()

    def stop(self) -> None:
        pass
