"""The terminal renderer: compose's live view — a ``[+] Running done/total`` header and one line per
resource with a spinner that becomes ✔ / ! / ✘, the status word and a right-aligned timer.

rich is imported here only, when a terminal is actually being drawn to.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, TextIO

from compose.events import DONE, ERROR, WARNING, WORKING, Event

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
MAX_LINES = 40


@dataclass
class _Line:
    event: Event
    started: float
    ended: float | None = None


class TtyRenderer:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lines: dict[str, _Line] = {}
        self._lock = threading.Lock()
        self._title = ""
        self._live: Any = None  # rich.live.Live, imported only when drawing

    def start(self, title: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self._title = title
        console = Console(file=self.stream, force_terminal=True, highlight=False)
        self._live = Live(get_renderable=self._renderable, console=console, refresh_per_second=10,
                          transient=False, redirect_stdout=False, redirect_stderr=False)
        self._live.start()

    def emit(self, event: Event) -> None:
        now = time.monotonic()
        with self._lock:
            line = self._lines.get(event.id)
            if line is None or (line.ended is not None and event.status == WORKING):
                line = self._lines[event.id] = _Line(event, now)
            line.event = event
            line.ended = now if event.status != WORKING else None

    def stop(self) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None

    def _renderable(self):  # type: ignore[no-untyped-def]
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        with self._lock:
            lines = list(self._lines.values())
        done = sum(1 for ln in lines if ln.ended is not None)
        table = Table.grid(expand=True, padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        colour = "red" if any(ln.event.status == ERROR for ln in lines) else "blue"
        table.add_row(Text(f"[+] {self._title} {done}/{len(lines)}", style=colour), Text(""))
        shown = lines[:MAX_LINES]
        for ln in shown:
            e = ln.event
            if e.status == WORKING:
                mark = Text(SPINNER[int(now * 10) % len(SPINNER)])
            elif e.status == DONE:
                mark = Text("✔", style="green")
            elif e.status == WARNING:
                mark = Text("!", style="yellow")
            else:
                mark = Text("✘", style="red")
            body = Text(" ").append(mark).append(f" {e.id} ").append(
                e.text, style="red" if e.status == ERROR else ("green" if e.status == DONE else ""))
            if e.details:
                body.append(f" {e.details}", style="dim")
            elapsed = (ln.ended or now) - ln.started
            table.add_row(body, Text(f"{elapsed:.1f}s", style="blue"))
        if len(lines) > MAX_LINES:
            table.add_row(Text(f" ... {len(lines) - MAX_LINES} more"), Text(""))
        return table
