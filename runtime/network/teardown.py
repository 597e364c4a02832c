"""Tearing down a project's networking in as few kernel batches as possible (`down`).

Why: every link deletion waits out RCU grace periods in the kernel, whatever else runs. Measured on a 2 vCPU
VM (kernel 6.18): one RTM_DELLINK of a bridge 35-45 ms, of a veth ~16 ms. A released netns takes its veth
pairs with it in the kernel's netns cleanup, which has RCU waits of its own: 10 netns released at once,
their veths gone, then the bridge deleted: ~90 ms; released one after another (as parallel removals do) the
cleanup even runs several times in a row. One RTM_DELLINK by link group takes the bridge and every veth in a
single batch: ~50 ms for all of it.

How: during a teardown scope (``Engine.batched_network_teardown``), a container's removal still releases its
netns at once (the bind mount goes, the rows go) but keeps the netns alive with an open fd, so that its veth
pairs are still there when the network's bridge is deleted: then bridge and veths go in one batch. When the
scope ends, the fds are closed (the netns, down to its loopback, is left to the kernel) and every veth is
checked as before: a bounded wait, then a plain delete of whatever outlived it.

Crash-safety: the fds die with the process. A CLI killed inside the scope leaves netns whose only reference
was that fd; the kernel destroys them with their veth pairs, as it does for any released netns. Nothing is
left that the rows would have been needed to find.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from runtime import filelock
from runtime.network import bridge, netns
from runtime.network.rtnl import NetlinkError, Rtnl

# Host-wide: two hoist processes never pick link groups at the same moment.
GROUP_LOCK = Path("/run/lock/hoist-link-group.lock")
# A link group is a u32 that every link of the host carries (0 by default). A random one far from the small
# numbers people assign by hand; it is verified to be carried by our links alone before anything is deleted.
_GROUP_RANGE = (1 << 24, 1 << 31)


class _ForeignLink(Exception):
    """A link that is not ours carries the group: nothing may be deleted by it."""


class HeldNetns:
    """Released netns kept alive by an fd, and the host ends of their veth pairs (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fds: list[int] = []
        self._veths: list[str] = []

    def release(self, ns_path: Path, veths: list[str]) -> bool:
        """Unmount and delete the netns file at ``ns_path`` but keep the netns (and ``veths``) alive until
        ``close``. False, with nothing done, when there is no netns to hold (the caller releases it its usual
        way)."""
        if not netns.is_netns(ns_path):
            return False
        try:
            fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)  # before the unmount: from now on it holds the netns
        except OSError:
            return False
        with self._lock:
            self._fds.append(fd)
            self._veths.extend(veths)
        netns.remove(ns_path)
        return True

    def veths(self) -> list[str]:
        with self._lock:
            return list(self._veths)

    def close(self) -> list[str]:
        """Let go of every netns; returns their veths, which the kernel now destroys with them (the caller
        checks that they went)."""
        with self._lock:
            fds, self._fds = self._fds, []
            veths, self._veths = self._veths, []
        for fd in fds:
            os.close(fd)
        return veths


def delete_together(names: list[str]) -> bool:
    """Delete the links ``names`` of the calling netns (a bridge and veths) in one kernel batch: each joins a
    fresh link group, the group is checked to hold exactly these links, then deleted by group. True when done
    (links already gone count as deleted); False when it could not be done that way, with the group of every
    link reset and nothing deleted: the caller then deletes them its usual way."""
    with filelock.exclusive(GROUP_LOCK), Rtnl() as ipr:
        present = [n for n in names if bridge.link_index(ipr, n) is not None]
        if not present:
            return True
        group = _random_group()
        joined: list[str] = []
        try:
            for name in present:
                ipr.set_group(name, group)
                joined.append(name)
            # Never delete a link that is not ours: the group must hold exactly what we put in it.
            if sorted(ipr.links_in_group(group)) != sorted(present):
                raise _ForeignLink(group)
            ipr.delete_group(group)
            return True
        except (NetlinkError, _ForeignLink):
            for name in joined:
                with contextlib.suppress(NetlinkError):
                    ipr.set_group(name, 0)
            return False


def _random_group() -> int:
    return _GROUP_RANGE[0] + int.from_bytes(os.urandom(4), "little") % (_GROUP_RANGE[1] - _GROUP_RANGE[0])
