"""Waiting for containers' recorded state to change without polling: inotify on each container's directory.

A supervisor records every change of its container (started, healthy, exited ...) by writing a new
``status.json`` and renaming it over the old one, so each change is one IN_MOVED_TO event of that name in
the container's directory. Waiting on those events wakes a waiter (a ``depends_on`` condition, ``up --wait``)
within a millisecond of the change, instead of at its next poll, and costs no CPU in between.

Some changes are not written by anyone (a supervisor killed outright is only noticed when the state is read
and checked against the kernel): callers therefore wait with a timeout and look again when it passes.
Stdlib only (ctypes).
"""

from __future__ import annotations

import ctypes
import os
import select
import struct
import threading
import time
from collections.abc import Sequence
from pathlib import Path

IN_MOVED_TO = 0x80
IN_DELETE_SELF = 0x400
IN_IGNORED = 0x8000  # the watch is gone (its directory was removed)
_EVENT = struct.Struct("=iIII")  # wd, mask, cookie, name length
FALLBACK_INTERVAL = 0.02  # seconds between looks when inotify is unavailable (instance limit reached ...)
# inotify instances are limited per user (fs.inotify.max_user_instances, often 128, shared by every process
# of root): one process never holds more than this many for its waits; further waits poll instead.
MAX_INSTANCES = 8
_instances = threading.BoundedSemaphore(MAX_INSTANCES)

_libc: ctypes.CDLL | None = None


def _inotify() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        from runtime.syscalls import open_libc

        libc = open_libc()
        libc.inotify_init1.argtypes = (ctypes.c_int,)
        libc.inotify_add_watch.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        _libc = libc
    return _libc


class StatusWatch:
    """Watches ``filename`` in each of ``directories``; ``wait(timeout)`` returns True when one was replaced
    (or a directory went away), False when ``timeout`` passed first. Close it (or use ``with``)."""

    def __init__(self, directories: Sequence[Path], filename: str) -> None:
        self.filename = filename.encode()
        self._fd: int | None = None
        self._slots = _instances  # released to the budget it was taken from, whenever the close completes
        if not self._slots.acquire(blocking=False):
            return  # wait() falls back to short sleeps
        try:
            libc = _inotify()
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:  # no usable libc inotify
            fd = -1
        if fd < 0:  # EMFILE (max_user_instances) or no inotify: wait() falls back to short sleeps
            self._slots.release()
            return
        self._fd = fd
        for directory in directories:
            # A directory that is already gone (-1, ENOENT) is a container being removed: the caller's next
            # look sees that, so there is nothing to watch.
            libc.inotify_add_watch(fd, os.fsencode(directory), IN_MOVED_TO | IN_DELETE_SELF)

    @property
    def event_driven(self) -> bool:
        return self._fd is not None

    def wait(self, timeout: float) -> bool:
        if self._fd is None:
            time.sleep(min(timeout, FALLBACK_INTERVAL))
            return True
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                return False
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            if self._relevant(data):
                return True

    def _relevant(self, data: bytes) -> bool:
        """Whether any event in ``data`` is our file replaced or a watched directory gone (log writes and
        other files of the container's directory are not)."""
        offset = 0
        while offset + _EVENT.size <= len(data):
            _, mask, _, length = _EVENT.unpack_from(data, offset)
            name = data[offset + _EVENT.size:offset + _EVENT.size + length].rstrip(b"\0")
            offset += _EVENT.size + length
            if mask & (IN_DELETE_SELF | IN_IGNORED) or name == self.filename:
                return True
        return False

    def close(self) -> None:
        """Returns at once: closing an inotify instance waits out an SRCU grace period in the kernel
        (fsnotify group teardown, measured 10-20 ms here), which would add to every stop and every wait
        for a condition. A daemon thread closes it; the slot frees once it is really gone."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            threading.Thread(target=_close_instance, args=(fd, self._slots), name="hoist-inotify-close", daemon=True).start()

    def __enter__(self) -> StatusWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_instance(fd: int, slots: threading.BoundedSemaphore) -> None:
    try:
        os.close(fd)
    finally:
        slots.release()
