"""Attached log lines: ``service-n  | text``, the name padded to the widest, a colour per container in
compose's rotation, optional timestamps after the prefix."""

from __future__ import annotations

import threading
from typing import TextIO

# compose's rainbow (cmd/formatter/colors.go): normal then intense variants of these.
_BASE = ["36", "33", "32", "35", "34", "31"]
COLOURS = [f"\x1b[{c}m" for c in _BASE] + [f"\x1b[{c};1m" for c in _BASE]
RESET = "\x1b[0m"


class LogPrinter:
    def __init__(self, stream: TextIO, *, colour: bool = True, prefix: bool = True,
                 timestamps: bool = False) -> None:
        self.stream = stream
        self.colour = colour
        self.prefix = prefix
        self.timestamps = timestamps
        self.width = 0
        self._colours: dict[str, str] = {}
        self._lock = threading.Lock()

    def register(self, name: str) -> None:
        """Declare a container name up front so every prefix gets the same padding."""
        with self._lock:
            self.width = max(self.width, len(name))
            if name not in self._colours:
                self._colours[name] = COLOURS[len(self._colours) % len(COLOURS)]

    def format(self, name: str, text: str, time: str = "") -> str:
        if not text.endswith("\n"):
            text += "\n"
        if self.timestamps and time:
            text = f"{time} {text}"
        if not self.prefix:
            return text
        head = f"{name:<{self.width}} | "
        if self.colour:
            head = f"{self._colours.get(name, COLOURS[0])}{head}{RESET}"
        return head + text

    def line(self, name: str, text: str, time: str = "") -> None:
        if name not in self._colours:
            self.register(name)
        out = self.format(name, text, time)
        with self._lock:
            self.stream.write(out)
            self.stream.flush()

    def message(self, text: str) -> None:
        """A line of compose's own between log lines (e.g. ``web-1 exited with code 0``)."""
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()
