"""PID 1 is put in its cgroups by the supervisor while it mounts (runc's model): it must never get past its
cgroup step, let alone exec, unless that attach succeeded; and its cgroup namespace is rooted at the
container's cgroup, so it is unshared only after the move."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runtime import syscalls as sc
from runtime.api import ContainerSpec, Resources
from runtime.containers.cgroups import CgroupError, ContainerCgroups
from runtime.containers.init import EXIT_SETUP_FAILED, SpawnError, spawn
from runtime.containers.plan import LaunchPlan
from runtime.errors import SetupError


def test_cgroup_namespace_is_rooted_at_the_container_cgroup(probe):
    code, out = probe("cat /proc/self/cgroup")
    lines = out.split()
    assert code == 0 and lines
    # ``N:controllers:/``: any other path means the namespace was made before the move into the cgroup.
    assert all(line.endswith(":/") for line in lines), lines


def _spawn_in_helper(plan: LaunchPlan, attach: Callable[[int], None],
                     prepare: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run ``spawn`` in a forked "supervisor" under a forked subreaper that reaps every descendant.

    Returns the supervisor's report (PID 1's pid or the SpawnError) and the exit code of every process the
    subreaper reaped, PID 1 included.
    """
    result_r, result_w = os.pipe()
    helper = os.fork()
    if helper == 0:
        os.close(result_r)
        reaped: dict[int, int] = {}
        try:
            sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
            supervisor = os.fork()
            if supervisor == 0:
                report: dict[str, Any] = {}
                try:
                    sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
                    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
                    null = os.open("/dev/null", os.O_RDWR)
                    dirs = {k: str(v) for k, v in ContainerCgroups(Path(plan.root), plan.id).dirs().items()}
                    try:
                        report["pid"] = spawn(plan, attach, dirs, (null, null, null), prepare=prepare)
                    except SpawnError as exc:
                        report.update(step=exc.step, message=exc.message)
                except BaseException as exc:  # noqa: BLE001
                    report["crash"] = repr(exc)
                os.write(result_w, json.dumps(report).encode() + b"\n")
                os._exit(0)
            while True:
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                reaped[pid] = os.waitstatus_to_exitcode(status)
        finally:
            os.write(result_w, json.dumps({"reaped": reaped}).encode() + b"\n")
            os._exit(0)
    os.close(result_w)
    with os.fdopen(result_r) as f:
        lines = f.read().splitlines()
    os.waitpid(helper, 0)
    merged: dict[str, Any] = {}
    for line in lines:
        merged.update(json.loads(line))
    merged["reaped"] = {int(k): v for k, v in merged.get("reaped", {}).items()}
    return merged


def _created_plan(engine, busybox_image: str, name: str, marker: str, make_dirs: bool = True) -> LaunchPlan:
    state = engine.container_create(ContainerSpec(name=name, image=busybox_image, network_mode="none",
                                                  command=["touch", marker]))
    plan = LaunchPlan.load(engine.container_dir(state.id))
    if make_dirs:
        ContainerCgroups(engine.root, state.id).make_dirs()  # as the engine's head start does
    return plan


def test_pid1_waits_for_the_cgroup_directories_that_prepare_makes(engine, busybox_image, unique_id):
    """The supervisor forks PID 1 first and makes the cgroup directories while it mounts: PID 1 must not
    bind-mount them into its /sys/fs/cgroup before they exist (the mount would fail), however late."""
    plan = _created_plan(engine, busybox_image, f"cp{unique_id}", "/ran-with-its-cgroups", make_dirs=False)
    cgroups = ContainerCgroups(engine.root, plan.id)
    assert not cgroups.exists()

    def prepare(pid: int) -> None:
        time.sleep(0.3)  # PID 1 reaches its mounts long before this
        cgroups.make_dirs()

    try:
        report = _spawn_in_helper(plan, cgroups.attach, prepare)
        assert "step" not in report and report.get("pid"), report
        assert list(report["reaped"].values()) == [0, 0], report  # the supervisor, and PID 1's `touch`
        assert os.path.exists(os.path.join(plan.upper_dir, "ran-with-its-cgroups"))
    finally:
        cgroups.remove()


def test_a_failed_prepare_stops_pid1_before_it_runs_anything(engine, busybox_image, unique_id):
    plan = _created_plan(engine, busybox_image, f"cf{unique_id}", "/prepare-failed-but-ran", make_dirs=False)
    cgroups = ContainerCgroups(engine.root, plan.id)

    def prepare(pid: int) -> None:
        raise SpawnError("cgroups", "cannot make the directories: Read-only file system")

    def attach(pid: int) -> None:
        raise AssertionError("no attach after a failed prepare")

    try:
        report = _spawn_in_helper(plan, attach, prepare)
        assert (report.get("step"), report.get("message")) == ("cgroups", "cannot make the directories: "
                                                               "Read-only file system"), report
        assert list(report["reaped"].values()) == [0]  # the supervisor: it killed and reaped PID 1 itself
        assert not os.path.exists(os.path.join(plan.upper_dir, "prepare-failed-but-ran"))
    finally:
        cgroups.remove()


def test_pid1_exits_without_exec_when_the_supervisor_dies_while_preparing(engine, busybox_image, unique_id):
    """A supervisor SIGKILLed after forking PID 1 but before it recorded the start: nothing runs, and the
    record still says what it said before (no "starting" without a supervisor)."""
    plan = _created_plan(engine, busybox_image, f"ck{unique_id}", "/died-preparing-but-ran", make_dirs=False)
    cgroups = ContainerCgroups(engine.root, plan.id)
    before = (Path(plan.container_dir) / "status.json").read_text()

    def prepare(pid: int) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    try:
        report = _spawn_in_helper(plan, cgroups.attach, prepare)
        assert "pid" not in report and "step" not in report
        assert sorted(report["reaped"].values()) == [-signal.SIGKILL, EXIT_SETUP_FAILED], report
        assert not os.path.exists(os.path.join(plan.upper_dir, "died-preparing-but-ran"))
        assert (Path(plan.container_dir) / "status.json").read_text() == before
        assert engine.container_inspect(plan.id).status == "created"
    finally:
        cgroups.remove()


def test_a_failed_attach_stops_pid1_before_it_runs_anything(engine, busybox_image, unique_id):
    plan = _created_plan(engine, busybox_image, f"ca{unique_id}", "/attach-failed-but-ran")
    cgroups = ContainerCgroups(engine.root, plan.id)

    def attach(pid: int) -> None:
        raise CgroupError(28, f"cannot write {pid!r} to cgroup.procs: No space left on device")

    try:
        report = _spawn_in_helper(plan, attach)
        assert report.get("step") == "cgroup", report
        assert "No space left on device" in report["message"]
        assert list(report["reaped"].values()) == [0]  # the supervisor: it killed and reaped PID 1 itself
        assert not os.path.exists(os.path.join(plan.upper_dir, "attach-failed-but-ran"))
        assert cgroups.pids() == []
    finally:
        cgroups.remove()


def test_pid1_exits_without_exec_when_the_supervisor_dies_before_attaching_it(engine, busybox_image, unique_id):
    plan = _created_plan(engine, busybox_image, f"cd{unique_id}", "/supervisor-died-but-ran")
    cgroups = ContainerCgroups(engine.root, plan.id)

    def attach(pid: int) -> None:
        os._exit(0)  # as a SIGKILLed supervisor: it never attaches PID 1 nor tells it anything

    try:
        report = _spawn_in_helper(plan, attach)
        assert "pid" not in report and "step" not in report  # the supervisor died inside spawn
        # Reaped by the subreaper: the supervisor (0) and its child PID 1, which gave up
        # at its cgroup step with the setup-failure code instead of running the command.
        assert sorted(report["reaped"].values()) == [0, EXIT_SETUP_FAILED], report
        assert not os.path.exists(os.path.join(plan.upper_dir, "supervisor-died-but-ran"))
        assert cgroups.pids() == []
    finally:
        cgroups.remove()


def test_priming_moves_nothing(hoist_root):
    """The priming write names the writer's own pid and the cgroup it is in: the kernel takes its lock and
    finds nothing to move."""
    before = Path("/proc/self/cgroup").read_text()
    cgroups = ContainerCgroups(hoist_root, "c" * 64)
    priming = cgroups.prime_attach()
    assert priming is not None  # this host has a hierarchy the container would use
    priming.join()
    assert Path("/proc/self/cgroup").read_text() == before
    assert not cgroups.exists()  # and it made nothing (make_dirs_first is the engine's head start)


def test_a_limit_the_kernel_refuses_fails_the_start_by_its_step(engine, busybox_image, unique_id):
    """Limits are written while PID 1 mounts, before it is attached: a refused one still fails the start as
    the "cgroups" step, with the file named, and PID 1 never runs the command."""
    name = f"cl{unique_id}"
    state = engine.container_create(ContainerSpec(name=name, image=busybox_image, network_mode="none",
                                                  command=["touch", "/limit-refused-but-ran"],
                                                  resources=Resources(cpuset_cpus="4095")))
    with pytest.raises(SetupError) as failure:
        engine.container_start(name)
    assert "cgroups: " in str(failure.value) and "cpuset.cpus" in str(failure.value)
    after = engine.container_inspect(name)
    assert after.status == "exited" and after.exit_code == 125 and "cpuset.cpus" in after.error
    assert not (engine.container_dir(state.id) / "upper" / "limit-refused-but-ran").exists()
    assert not ContainerCgroups(engine.root, state.id).exists()
