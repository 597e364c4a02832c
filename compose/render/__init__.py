"""Renderers of the progress event stream: tty (rich Live), plain, json, quiet; and attached-log printing.

The renderer is chosen from ``--progress`` and, for ``auto``, from whether stderr is a terminal only —
stdout may be a pipe while a human watches stderr.
"""

from __future__ import annotations

import os
import sys
from typing import Protocol, TextIO

from compose.events import Event


class Renderer(Protocol):
    def start(self, title: str) -> None: ...
    def emit(self, event: Event) -> None: ...
    def stop(self) -> None: ...


def choose_mode(progress: str, stream: TextIO | None = None, ansi: str = "auto") -> str:
    stream = stream or sys.stderr
    if progress != "auto":
        return progress
    if ansi == "never" or os.environ.get("NO_COLOR") is not None and ansi != "always":
        return "plain"
    isatty = getattr(stream, "isatty", lambda: False)()
    return "tty" if isatty or ansi == "always" else "plain"


def make_renderer(progress: str = "auto", stream: TextIO | None = None, ansi: str = "auto") -> Renderer:
    stream = stream or sys.stderr
    mode = choose_mode(progress, stream, ansi)
    if mode == "tty":
        from compose.render.tty import TtyRenderer

        return TtyRenderer(stream)
    if mode == "json":
        from compose.render.jsonl import JsonRenderer

        return JsonRenderer(stream)
    if mode == "quiet":
        from compose.render.plain import QuietRenderer

        return QuietRenderer()
    from compose.render.plain import PlainRenderer

    return PlainRenderer(stream)
