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
from collections.abc import Iterable
from pathlib import Path

from runtime.statuswatch import _EVENT, IN_DELETE_SELF, IN_IGNORED, IN_MOVED_TO, _inotify

IN_MODIFY = 0x2
IN_CREATE = 0x100
ANY_CHANGE = IN_MODIFY | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF  # what a log follower wakes for


class _Subscriber:
    __slots__ = ("event", "names", "mask")

    def __init__(self, event: threading.Event, names: frozenset[bytes] | None, mask: int) -> None:
        self.event, self.names, self.mask = event, names, mask

    def wants(self, mask: int, name: bytes) -> bool:
        if not mask & self.mask:
            return False
        return self.names is None or not name or name in self.names


class DirChanges:
    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._wd_of: dict[str, int] = {}
        self._subscribers: dict[int, list[_Subscriber]] = {}  # per watch
        threading.Thread(target=self._read, name="hoist-dirwatch", daemon=True).start()

    def subscribe(self, directory: Path, event: threading.Event | None = None, *,
                  names: Iterable[str] | None = None, mask: int = ANY_CHANGE) -> threading.Event | None:
        """An event set on every change in ``directory`` (the caller clears it); None if it cannot be
        watched (gone, or no watch to be had): the caller then polls.

        ``event``: set this one (one waiter watching several directories) instead of a new one.
        ``names``: only changes to these entries of the directory. ``mask``: only these inotify events (the
        kernel is asked for what the directory's subscribers want together, so a subscriber of renames
        alone does not make every log write wake this process). The directory's removal wakes everyone."""
        key = os.fsdecode(os.path.abspath(directory))
        sub = _Subscriber(event or threading.Event(), None if names is None else frozenset(map(os.fsencode, names)),
                          mask | IN_DELETE_SELF)
        with self._lock:
            wd = self._wd_of.get(key)
            others = self._subscribers.get(wd, []) if wd is not None else []
            wanted = sub.mask
            for other in others:
                wanted |= other.mask
            # On a directory already watched this replaces the watch's mask (same wd): the union.
            wd = _inotify().inotify_add_watch(self._fd, os.fsencode(key), wanted)
            if wd < 0:
                return None
            self._wd_of[key] = wd
            self._subscribers.setdefault(wd, []).append(sub)
        return sub.event

    def unsubscribe(self, directory: Path, event: threading.Event) -> None:
        """Drop ``event``'s subscription to ``directory``; the directory's watch goes with its last subscriber."""
        key = os.fsdecode(os.path.abspath(directory))
        with self._lock:
            wd = self._wd_of.get(key)
            if wd is None:
                return  # never watched, or its watch went with the directory
            subs = self._subscribers.get(wd, [])
            subs[:] = [s for s in subs if s.event is not event]
            if subs:
                return  # a mask wider than the rest need costs a few wake-ups, not worth a system call
            del self._wd_of[key]
            self._subscribers.pop(wd, None)
            _inotify().inotify_rm_watch(self._fd, wd)  # -1 when already gone with its directory: fine

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except InterruptedError:
                continue
            except OSError:
                return
            to_set: list[threading.Event] = []
            offset = 0
            with self._lock:
                while offset + _EVENT.size <= len(data):
                    wd, mask, _, length = _EVENT.unpack_from(data, offset)
                    name = data[offset + _EVENT.size:offset + _EVENT.size + length].rstrip(b"\0")
                    offset += _EVENT.size + length
                    if mask & IN_IGNORED:  # the directory is gone: its watch too
                        for key, known in list(self._wd_of.items()):
                            if known == wd:
                                del self._wd_of[key]
                        to_set.extend(s.event for s in self._subscribers.pop(wd, []))
                        continue
                    to_set.extend(s.event for s in self._subscribers.get(wd, []) if s.wants(mask, name))
            for event in set(to_set):
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
