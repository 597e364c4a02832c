"""JSON progress: one object per event and line, with compose's keys (cmd/display/json.go)."""

from __future__ import annotations

import json
from typing import TextIO

from compose.events import Event
from compose.render.plain import LineRenderer


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


class JsonRenderer(LineRenderer):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream, format_json)
