"""Reading what a program writes to a pseudo-terminal, for tests that drive an interactive shell."""

from __future__ import annotations

import os
import select
import time


class PtyReader:
    """Accumulates the output read from a pty master; ``expect`` waits (bounded) for a token in it."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.seen = b""

    def expect(self, token: bytes, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while token not in self.seen:
            assert time.monotonic() < deadline, f"no {token!r} in {self.seen!r}"
            if select.select([self.master], [], [], 0.1)[0]:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # EIO: every slave end closed (the program exited)
                    break
