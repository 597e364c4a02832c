"""Container logs: one JSON object per line ({"time", "stream", "text"}) with size-based rotation.

The supervisor writes (``LogWriter``); any CLI process reads (``read_logs``). Stdlib only.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

LOG_NAME = "container.log"


def rfc3339_nano(ns: int | None = None) -> str:
    ns = time.time_ns() if ns is None else ns
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def log_path(container_dir: str | Path) -> Path:
    return Path(container_dir) / LOG_NAME


class LogWriter:
    """Appends records; when the file would pass ``max_size`` it rotates (``max_files`` files in all)."""

    def __init__(self, path: Path, max_size: int | None = None, max_files: int = 1) -> None:
        self.path = path
        self.max_size = max_size if max_size and max_size > 0 else None
        self.max_files = max(1, max_files)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self._size = os.fstat(self._fd).st_size

    def write(self, stream: str, text: str) -> None:
        line = (json.dumps({"time": rfc3339_nano(), "stream": stream, "text": text}) + "\n").encode()
        if self.max_size is not None and self._size and self._size + len(line) > self.max_size:
            self._rotate()
        os.write(self._fd, line)
        self._size += len(line)

    def _rotate(self) -> None:
        os.close(self._fd)
        if self.max_files == 1:
            # docker's json-file with max-file=1 starts the one file again
            self._fd = os.open(self.path, os.O_WRONLY | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC)
        else:
            for i in range(self.max_files - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{i}")
                newer = self.path.with_name(f"{self.path.name}.{i - 1}") if i > 1 else self.path
                if newer.exists():
                    os.replace(newer, older)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self._size = 0

    def close(self) -> None:
        os.close(self._fd)


class LineSplitter:
    """Turns raw chunks into lines (the newline kept); a partial line waits for its end or a flush."""

    MAX_LINE = 16 * 1024  # docker splits long lines too

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[str]:
        self._buf += data
        out = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) >= self.MAX_LINE:
                    out.append(self._buf[:self.MAX_LINE].decode(errors="replace"))
                    self._buf = self._buf[self.MAX_LINE:]
                    continue
                return out
            out.append(self._buf[:nl + 1].decode(errors="replace"))
            self._buf = self._buf[nl + 1:]

    def flush(self) -> list[str]:
        rest, self._buf = self._buf, b""
        return [rest.decode(errors="replace")] if rest else []


def _rotated_oldest_first(path: Path) -> list[Path]:
    """``path.N`` files, highest N (oldest) first."""
    rotated = [p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()]
    return sorted(rotated, key=lambda p: int(p.suffix[1:]), reverse=True)


def _parse(line: bytes) -> dict[str, str] | None:
    try:
        return json.loads(line)
    except ValueError:
        return None  # a line cut short by a crash mid-write


def read_logs(path: Path, *, tail: int | None = None, since: str | None = None, until: str | None = None,
              follow: bool = False, running: Callable[[], bool] | None = None,
              poll: float = 0.05) -> Iterator[dict[str, str]]:
    """Records oldest first; with ``follow`` keep reading until ``running()`` turns false."""
    # The live file is read once, here, and following resumes exactly after the last complete line that read
    # saw. (A size taken apart from the read let lines written in between be yielded twice: seen with `run`
    # of a quick command.)
    live, inode = b"", None
    try:
        with open(path, "rb") as f:
            inode = os.fstat(f.fileno()).st_ino
            live = f.read()
    except FileNotFoundError:
        pass
    offset = live.rfind(b"\n") + 1 if follow else len(live)

    def snapshot_lines() -> Iterator[bytes]:
        for rotated in _rotated_oldest_first(path):
            try:
                yield from rotated.read_bytes().splitlines()
            except FileNotFoundError:
                continue  # rotated away meanwhile
        yield from live[:offset].splitlines()

    records: Iterator[dict[str, str]] = (r for r in (_parse(line) for line in snapshot_lines()) if r is not None)
    if tail is not None and tail >= 0:
        records = iter(deque(records, maxlen=tail)) if tail else iter(())

    def keep(r: dict[str, str]) -> bool:
        return (since is None or r["time"] >= since) and (until is None or r["time"] < until)

    yield from (r for r in records if keep(r))
    if not follow:
        return
    # Between looks, sleep until the container's directory changes (a log write, a status change, a
    # rotation: runtime/dirwatch.py) rather than looking every ``poll``; at most FOLLOW_RECHECK, for what
    # no write announces. poll=0: the caller's ``running()`` does the waiting.
    watcher = None
    if poll > 0:
        from runtime import dirwatch

        watcher = dirwatch.changes()
    directory = path.parent
    woken = watcher.subscribe(directory) if watcher is not None else None
    try:
        yield from _follow(path, inode, offset, keep, running, poll, woken)
    finally:
        if watcher is not None and woken is not None:
            watcher.unsubscribe(directory, woken)


FOLLOW_RECHECK = 1.0  # seconds: the longest a follower sleeps without looking


def _follow(path: Path, inode: int | None, offset: int, keep: Callable[[dict[str, str]], bool],
            running: Callable[[], bool] | None, poll: float, woken: Any) -> Iterator[dict[str, str]]:
    pending = b""
    while True:
        if woken is not None:
            woken.clear()  # before looking: a change after the look wakes the wait below
        alive = running() if running else False
        try:
            st = path.stat()
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_ino != inode or st.st_size < offset):
            inode, offset, pending = st.st_ino, 0, b""  # rotated or truncated: start the new file
        if st is not None and st.st_size > offset:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
            offset += len(data)
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                r = _parse(line)
                if r is not None and keep(r):
                    yield r
            continue
        if not alive:
            return
        if woken is not None:
            woken.wait(FOLLOW_RECHECK)
        else:
            time.sleep(poll)
