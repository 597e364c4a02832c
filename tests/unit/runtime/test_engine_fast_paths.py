"""The engine's cheap paths: waiting for a supervisor on its pidfd, container ids without decoding rows."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from runtime import syscalls
from runtime.api import ContainerSpec
from runtime.containers.records import ContainerRecord, ContainerRecords
from runtime.containers.status import RunStatus
from runtime.engine import Engine
from runtime.state import StateDB


def _status_of(proc: subprocess.Popen[bytes]) -> RunStatus:
    st = RunStatus()
    st.supervisor_pid = proc.pid
    st.supervisor_start = syscalls.process_start_time(proc.pid) or 0
    return st


def test_waits_for_the_supervisor_to_exit_and_no_longer() -> None:
    proc = subprocess.Popen(["sleep", "0.3"])
    try:
        started = time.monotonic()
        Engine._wait_supervisor_gone(_status_of(proc), timeout=10.0)
        waited = time.monotonic() - started
        assert proc.poll() is not None or syscalls.process_start_time(proc.pid) is None  # exited (maybe a zombie)
        assert 0.2 < waited < 5.0
    finally:
        proc.kill()
        proc.wait()


def test_a_reused_pid_or_a_gone_process_is_not_waited_for() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        st = _status_of(proc)
        st.supervisor_start += 1  # the recorded supervisor started at another time: this pid is someone else
        started = time.monotonic()
        Engine._wait_supervisor_gone(st, timeout=10.0)
        assert time.monotonic() - started < 1.0
    finally:
        proc.kill()
        proc.wait()
    started = time.monotonic()
    Engine._wait_supervisor_gone(_status_of_exited(proc.pid), timeout=10.0)  # reaped: no such process
    Engine._wait_supervisor_gone(RunStatus(), timeout=10.0)  # never started
    assert time.monotonic() - started < 1.0


def _status_of_exited(pid: int) -> RunStatus:
    st = RunStatus()
    st.supervisor_pid, st.supervisor_start = pid, 12345
    return st


def test_the_wait_is_bounded() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        started = time.monotonic()
        Engine._wait_supervisor_gone(_status_of(proc), timeout=0.2)
        assert 0.15 < time.monotonic() - started < 5.0 and proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_ids_lists_every_container(tmp_path: Path) -> None:
    records = ContainerRecords(StateDB(tmp_path))
    assert records.ids() == []
    for i in range(3):
        records.insert(ContainerRecord(id=f"{i:064x}", name=f"c{i}", image="busybox", image_id="sha256:x",
                                       created=f"2024-01-01T00:00:0{i}Z", labels={},
                                       spec=ContainerSpec(name=f"c{i}", image="busybox"), anonymous_volumes=[],
                                       endpoints=[], ports=[]))
    assert sorted(records.ids()) == sorted(r.id for r in records.all())
