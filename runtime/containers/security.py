"""Process-level confinement applied last, right before exec: sysctls, rlimits, user, capabilities, NNP."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterable

from runtime import syscalls as sc
from runtime.containers.defaults import CAPABILITY_NUMBERS
from runtime.containers.users import ExecUser


def apply_sysctls(sysctls: dict[str, str]) -> None:
    for key, value in sysctls.items():
        with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
            f.write(value)


def apply_oom_score_adj(value: int | None) -> None:
    if value is not None:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))


def apply_ulimits(ulimits: Iterable[tuple[str, int, int]]) -> None:
    for name, soft, hard in ulimits:
        which = getattr(resource, f"RLIMIT_{name.upper()}")
        hard_v = resource.RLIM_INFINITY if hard < 0 else hard
        soft_v = resource.RLIM_INFINITY if soft < 0 else soft
        resource.setrlimit(which, (soft_v, hard_v))


def capability_mask(names: Iterable[str]) -> int:
    mask = 0
    for name in names:
        mask |= 1 << CAPABILITY_NUMBERS[name]
    return mask


def drop_bounding(keep_mask: int) -> None:
    for cap in range(sc.cap_last_cap() + 1):
        if not keep_mask & (1 << cap):
            sc.prctl(sc.PR_CAPBSET_DROP, cap)


def _permitted() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapPrm:"):
                return int(line.split()[1], 16)
    return (1 << (sc.cap_last_cap() + 1)) - 1


def switch_user(user: ExecUser) -> None:
    os.setgroups(list(user.groups))
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)


def confine(user: ExecUser, capabilities: list[str], no_new_privs: bool) -> None:
    """Bounding set first (needs CAP_SETPCAP), then the user; root keeps the kept caps in E and P.

    A non-root user ends with empty permitted/effective sets (the kernel clears them on setuid), which is
    what Docker gives a non-root user too; inheritable and ambient stay empty.
    """
    become_user(user, limit_bounding_set(capabilities), no_new_privs)


def limit_bounding_set(capabilities: list[str]) -> int:
    """The first half of ``confine``: drop what is not kept from the bounding set; returns the kept mask.

    It may run well before ``become_user`` (the container's init does it before waiting for its cgroup):
    the bounding set only limits what an exec or capset can gain, so the effective set (CAP_SYS_ADMIN for
    the cgroup namespace, CAP_SETUID...) stays as it was until ``become_user``.
    """
    # Never ask for more than this process holds (root in some VMs lacks CAP_SYS_RESOURCE): privileged
    # containers get everything the runtime has, as with Docker.
    keep = capability_mask(capabilities) & _permitted()
    drop_bounding(keep)
    return keep


def become_user(user: ExecUser, keep: int, no_new_privs: bool) -> None:
    """The second half of ``confine``, after ``limit_bounding_set`` returned ``keep``."""
    switch_user(user)
    if user.uid == 0:
        sc.capset(keep, keep, 0)
    sc.prctl(sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_CLEAR_ALL)
    if no_new_privs:
        sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
