"""Waking threads when something in a directory changes: one inotify instance per process, shared.

Why: following a container's log (``logs -f``, an attached ``up``, ``up --watch``) used to look at the file
every 50 ms, for as long as the container lives: ~0.7 % of a core per followed container doing nothing, and
up to 50 ms before a new line shows. A supervisor's every log write and status change is an inotify event in
the container's directory (IN_MODIFY of the log, IN_MOVED_TO of ``status.json``, IN_CREATE of a rotated
file), so a follower can sleep until one comes.

One instance serves every follower of the process (inotify instances are limited per user, and
statuswatch.py keeps its own budget): a daemon thread reads it and sets the ``threading.Event`` of each
subscriber of the directory the event is about. Callers still wait with a timeout: a change nobody writes
(a supervisor killed outright) is only seen by looking. Without inotify, ``subscribe`` returns None and the
caller keeps polling. Stdlib only (ctypes, through statuswatch's libc).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from runtime.statuswatch import _EVENT, IN_DELETE_SELF, IN_IGNORED, IN_MOVED_TO, _inotify

IN_MODIFY = 0x2
IN_CREATE = 0x100
_MASK = IN_MODIFY | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF


class DirChanges:
    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._wd_of: dict[str, int] = {}
        self._waiters: dict[int, list[threading.Event]] = {}
        threading.Thread(target=self._read, name="hoist-dirwatch", daemon=True).start()

    def subscribe(self, directory: Path) -> threading.Event | None:
        """An event set on every change in ``directory`` (the caller clears it); None if it cannot be
        watched (gone, or no watch to be had): the caller then polls."""
        key = os.fsdecode(os.path.abspath(directory))
        event = threading.Event()
        with self._lock:
            wd = _inotify().inotify_add_watch(self._fd, os.fsencode(key), _MASK)
            if wd < 0:
                return None
            self._wd_of[key] = wd
            self._waiters.setdefault(wd, []).append(event)
        return event

    def unsubscribe(self, directory: Path, event: threading.Event) -> None:
        """Drop ``event``; the directory's watch goes with its last subscriber."""
        key = os.fsdecode(os.path.abspath(directory))
        with self._lock:
            wd = self._wd_of.get(key)
            waiters = self._waiters.get(wd, []) if wd is not None else []
            if event in waiters:
                waiters.remove(event)
            if wd is not None and not waiters:
                del self._wd_of[key]
                self._waiters.pop(wd, None)
                _inotify().inotify_rm_watch(self._fd, wd)  # -1 when already gone with its directory: fine

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except InterruptedError:
                continue
            except OSError:
                return
            woken: set[int] = set()
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size + length
                woken.add(wd)
                if mask & IN_IGNORED:  # the directory is gone: its watch too
                    with self._lock:
                        for key, known in list(self._wd_of.items()):
                            if known == wd:
                                del self._wd_of[key]
                        for event in self._waiters.pop(wd, []):
                            event.set()
            with self._lock:
                for wd in woken:
                    for event in self._waiters.get(wd, []):
                        event.set()


_shared: DirChanges | None = None
_shared_lock = threading.Lock()
_unavailable = False


def changes() -> DirChanges | None:
    """The process's shared instance (made on first use), or None where inotify cannot be had."""
    global _shared, _unavailable
    if _shared is not None or _unavailable:
        return _shared
    with _shared_lock:
        if _shared is None and not _unavailable:
            try:
                fd = _inotify().inotify_init1(os.O_CLOEXEC)
            except (OSError, AttributeError):
                fd = -1
            if fd < 0:
                _unavailable = True
            else:
                _shared = DirChanges(fd)
    return _shared
