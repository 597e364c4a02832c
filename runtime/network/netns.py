"""Persistent network namespaces (bind-mounted files, as ``ip netns`` keeps them) and running code inside one.

Everything here uses short-lived threads: unshare()/setns() change only the calling thread, and a thread
that entered a namespace ends right after, so no other work ever runs in the wrong netns. A netlink socket
opened in such a thread stays bound to that netns.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from runtime import syscalls as sc

T = TypeVar("T")


def _in_thread(fn: Callable[[], T]) -> T:
    result: dict[str, object] = {}

    def body() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            result["error"] = exc

    t = threading.Thread(target=body, name="hoist-netns")
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]  # type: ignore[return-value]


def is_netns(path: Path) -> bool:
    """True if ``path`` is a mounted namespace file (nsfs lives on its own device)."""
    try:
        return os.stat(path).st_dev != os.stat(path.parent).st_dev
    except OSError:
        return False


def create(path: Path, then: Callable[[], object] | None = None) -> None:
    """A new netns kept alive by a bind mount on ``path``; ``then`` runs inside it right after, in the same
    thread (saves a second thread and setns). Idempotent: an existing netns is entered for ``then``."""
    if is_netns(path):
        if then is not None:
            run_in(path, then)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)

    def make() -> None:
        sc.unshare(sc.CLONE_NEWNET)
        sc.mount(f"/proc/self/task/{threading.get_native_id()}/ns/net", str(path), None, sc.MS_BIND)
        if then is not None:
            then()

    _in_thread(make)


def run_in(path: Path | str, fn: Callable[[], T]) -> T:
    """Call ``fn`` in a thread that has entered the netns at ``path``."""
    def enter_and_call() -> T:
        sc.setns_path(path, sc.CLONE_NEWNET)
        return fn()

    return _in_thread(enter_and_call)


def remove(path: Path) -> bool:
    """Unmount and delete (safe when already gone); whether a netns was mounted there. The netns dies when its
    last user goes."""
    mounted = is_netns(path)
    if mounted:
        try:
            sc.umount2(str(path), sc.MNT_DETACH)
        except OSError:
            pass
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    return mounted
