"""Make recorded state agree with the kernel: supervisors killed with SIGKILL, containers gone, reboots.

The truth is the kernel's: a pid counts as the recorded process only when its /proc start time matches, and
a status written in another boot describes processes that no longer exist. A reboot (or a wiped run dir)
is noticed by the boot marker ``<run dir>/boot-id`` (a tmpfs, gone after a reboot).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from runtime import naming
from runtime import syscalls as sc
from runtime.containers.cgroups import ContainerCgroups
from runtime.containers.status import RunStatus, try_own
from runtime.logs import rfc3339_nano

ACTIVE = ("starting", "running", "restarting")
EXIT_UNKNOWN = 255  # the supervisor died before it could see the exit status (docker's "unknown")
BOOT_MARKER = "boot-id"


def supervisor_alive(st: RunStatus) -> bool:
    return bool(st.supervisor_pid) and sc.process_start_time(st.supervisor_pid) == st.supervisor_start


def init_alive(st: RunStatus) -> bool:
    return bool(st.pid) and sc.process_start_time(st.pid) == st.pid_start


def reconcile(root: Path, container_id: str, st: RunStatus, current_boot: str) -> RunStatus:
    """Return the true status, rewriting status.json (and removing leftovers) when the record was stale."""
    if st.status not in ACTIVE:
        return st
    if st.boot_id == current_boot and supervisor_alive(st):
        return st
    if st.boot_id == current_boot and init_alive(st):
        # The supervisor is gone but the container runs on: report it as it is.
        if st.status != "running":
            st.status = "running"
        st.error = "the container's supervisor is gone; its exit code will not be known"
        return st
    container_dir = root / "containers" / container_id
    try:
        owner = try_own(container_dir)
    except FileNotFoundError:
        return RunStatus.load(container_dir)  # removed meanwhile
    if owner is None:
        return RunStatus.load(container_dir)  # a supervisor lives (a new run starting): its record is the truth
    try:
        return _settle(root, container_id, container_dir, st, current_boot)
    finally:
        os.close(owner)


def _settle(root: Path, container_id: str, container_dir: Path, st: RunStatus, current_boot: str) -> RunStatus:
    """Under the owner lock: record the dead supervisor's run as exited and remove its leftovers."""
    fresh = RunStatus.load(container_dir)
    if fresh.generation != st.generation or fresh.status not in ACTIVE:
        return fresh  # a supervisor finished or a new run began meanwhile
    st.status = "exited"
    st.exit_code = EXIT_UNKNOWN
    st.finished_at = st.finished_at or rfc3339_nano()
    st.pid = st.pid_start = 0
    st.error = st.error or ("the host rebooted" if st.boot_id != current_boot else
                            "the container's supervisor was killed")
    cgroups = ContainerCgroups(root, container_id, _cgroup_parent(container_dir))
    try:
        cgroups.remove()
    except OSError:
        pass
    st.save(container_dir)
    return st


def _cgroup_parent(container_dir: Path) -> str:
    """The container's cgroup_parent, from the plan its supervisor ran ("" when there is none to read)."""
    from runtime.containers.plan import LaunchPlan

    try:
        return LaunchPlan.load(container_dir).cgroup_parent
    except (OSError, ValueError, TypeError):
        return ""


def check_boot(root: Path, container_ids: list[str]) -> None:
    """After a reboot (or a wiped run dir), settle every container that claims to be running, once."""
    run = naming.run_dir(root)
    marker = run / BOOT_MARKER
    current = sc.boot_id()
    try:
        if marker.read_text().strip() == current:
            return
    except FileNotFoundError:
        pass
    for cid in container_ids:
        container_dir = root / "containers" / cid
        reconcile(root, cid, RunStatus.load(container_dir), current)
    run.mkdir(parents=True, exist_ok=True)
    # Unique per thread too: the scheduler starts several containers of one process at once.
    tmp = run / f".{BOOT_MARKER}.{os.getpid()}.{threading.get_ident()}"
    tmp.write_text(current)
    os.replace(tmp, marker)
