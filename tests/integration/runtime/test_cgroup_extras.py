"""device_cgroup_rules, mem_swappiness and oom_kill_disable (cgroup v1, as on this host), probed from inside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.api import ContainerSpec, Resources
from runtime.errors import InvalidSpec
from tests.integration.runtime.conftest import output

MEMORY = Path("/sys/fs/cgroup/memory")
# loop-control: opening it does nothing until an ioctl (which needs CAP_SYS_ADMIN); not in Docker's defaults.
OPEN_LOOP_CONTROL = "mknod /tmp/lc c 10 237 && (true < /tmp/lc) 2>/dev/null; echo rc=$?"


def test_a_device_cgroup_rule_opens_a_device_the_defaults_deny(probe):
    code, denied = probe(OPEN_LOOP_CONTROL)
    assert code == 0 and denied.strip() == "rc=1", denied
    code, allowed = probe(OPEN_LOOP_CONTROL, device_cgroup_rules=["c 10:237 rwm"])
    assert code == 0 and allowed.strip() == "rc=0", allowed


def test_a_bad_device_cgroup_rule_is_refused(engine, busybox_image, unique_id):
    with pytest.raises(InvalidSpec, match="device_cgroup_rules"):
        engine.container_create(ContainerSpec(name=f"dr{unique_id}", image=busybox_image, command=["true"],
                                              network_mode="none", device_cgroup_rules=["c 10:237 rwx"]))


@pytest.mark.skipif(not (MEMORY / "memory.swappiness").exists(), reason="needs the cgroup v1 memory controller")
def test_swappiness_and_oom_kill_disable_reach_the_memory_cgroup(engine, busybox_image, unique_id):
    name = f"sw{unique_id}"
    engine.container_create(ContainerSpec(
        name=name, image=busybox_image, network_mode="none", command=["sleep", "1000"], stop_grace_period=0.2,
        resources=Resources(memory=32 << 20, mem_swappiness=7, oom_kill_disable=True)))
    state = engine.container_start(name)
    cgroup = next(p for p in MEMORY.rglob(state.id) if p.is_dir())
    assert (cgroup / "memory.swappiness").read_text().strip() == "7"
    assert "oom_kill_disable 1" in (cgroup / "memory.oom_control").read_text()
    engine.container_remove(name, force=True)


def test_swappiness_out_of_range_is_refused(engine, busybox_image, unique_id):
    with pytest.raises(InvalidSpec, match="mem_swappiness"):
        engine.container_create(ContainerSpec(name=f"sr{unique_id}", image=busybox_image, command=["true"],
                                              network_mode="none", resources=Resources(mem_swappiness=101)))


def test_the_defaults_leave_swappiness_inherited(engine, busybox_image, unique_id):
    name = f"sd{unique_id}"
    engine.container_create(ContainerSpec(name=name, image=busybox_image, network_mode="none",
                                          command=["cat", "/sys/fs/cgroup/memory/memory.oom_control"]))
    engine.container_start(name)
    assert engine.container_wait(name, timeout=30) == 0
    assert "oom_kill_disable 0" in output(engine, name)


def _a_block_device() -> Path | None:
    import stat

    for name in sorted(os.listdir("/sys/block")):
        dev = Path("/dev") / name
        if dev.exists() and stat.S_ISBLK(dev.stat().st_mode) and not name.startswith(("loop", "ram")):
            return dev
    return None


@pytest.mark.skipif(not Path("/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device").exists(),
                    reason="needs the cgroup v1 blkio controller")
def test_block_io_throttles_reach_the_blkio_cgroup(engine, busybox_image, unique_id):
    device = _a_block_device()
    assert device is not None, "this VM has a disk"
    st = device.stat()
    number = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    name = f"bio{unique_id}"
    engine.container_create(ContainerSpec(
        name=name, image=busybox_image, network_mode="none", command=["sleep", "1000"], stop_grace_period=0.2,
        resources=Resources(device_read_bps=[(str(device), 1 << 20)], device_write_iops=[(str(device), 50)])))
    state = engine.container_start(name)
    cgroup = next(p for p in Path("/sys/fs/cgroup/blkio").rglob(state.id) if p.is_dir())
    assert (cgroup / "blkio.throttle.read_bps_device").read_text().split() == [number, str(1 << 20)]
    assert (cgroup / "blkio.throttle.write_iops_device").read_text().split() == [number, "50"]
    engine.container_remove(name, force=True)


def test_block_io_on_something_that_is_not_a_block_device_is_refused(engine, busybox_image, unique_id):
    with pytest.raises(InvalidSpec, match="/dev/null is not a block device"):
        engine.container_create(ContainerSpec(name=f"bn{unique_id}", image=busybox_image, command=["true"],
                                              network_mode="none",
                                              resources=Resources(device_read_bps=[("/dev/null", 1)])))
