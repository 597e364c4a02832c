"""Build output, step by step: plain lines, or rich-styled lines when writing to a terminal.

Format (both)::

    #2 [app 2/7] COPY requirements.txt /app/
    #2 CACHED
    #3 [app 3/7] RUN pip install -r requirements.txt
    #3 | Collecting ...
    #3 DONE 4.2s
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

from runtime.images.build.builder import BuildEvent


def _line(event: BuildEvent) -> str | None:
    if event.kind == "step":
        return f"#{event.step} [{event.stage} {event.step}/{event.total}] {event.text}"
    if event.kind == "cached":
        return f"#{event.step} CACHED"
    if event.kind == "output":
        return f"#{event.step} | {event.text}"
    if event.kind == "done":
        return f"#{event.step} DONE {event.seconds:.1f}s"
    if event.kind == "warning":
        return f"WARNING: {event.text}"
    return event.text


def plain_printer(stream: IO[str] | None = None) -> Callable[[BuildEvent], None]:
    out = stream or sys.stderr

    def show(event: BuildEvent) -> None:
        line = _line(event)
        if line is not None:
            print(line, file=out, flush=True)

    return show


def rich_printer(stream: IO[str] | None = None) -> Callable[[BuildEvent], None]:
    from rich.console import Console
    from rich.markup import escape

    console = Console(file=stream or sys.stderr, highlight=False)
    styles = {"step": "bold", "cached": "cyan", "output": "dim", "done": "green", "warning": "yellow",
              "info": "bold green"}

    def show(event: BuildEvent) -> None:
        line = _line(event)
        if line is not None:
            console.print(f"[{styles.get(event.kind, '')}]{escape(line)}[/]")

    return show


def printer_for(stream: IO[str] | None = None, mode: str = "auto") -> Callable[[BuildEvent], None]:
    """rich on a terminal (``auto``/``tty``), plain otherwise (``plain``, pipes, files)."""
    out: Any = stream or sys.stderr
    if mode == "tty" or (mode == "auto" and hasattr(out, "isatty") and out.isatty()):
        return rich_printer(out)
    return plain_printer(out)
