"""The cgroup writers on fake hierarchies: which file gets which value on cgroup v2 and on v1."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime import naming
from runtime.containers import cgroups
from runtime.containers.cgroups import ContainerCgroups, Limits, shares_to_weight

LIMITS = Limits(memory=64 << 20, memory_reservation=32 << 20, memory_swap=128 << 20, cpus=1.5, cpu_shares=512,
                cpuset_cpus="0", pids_limit=20)


def _read(path: Path) -> str:
    return path.read_text().strip()


def _record_device_filters(monkeypatch) -> list[tuple[Path, tuple[str, ...]]]:
    """A fake directory is no cgroup to attach a BPF program to: record what would be attached."""
    attached: list[tuple[Path, tuple[str, ...]]] = []
    monkeypatch.setattr(cgroups, "_apply_device_filter", lambda path, rules: attached.append((path, rules)))
    return attached


def test_v2_files(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups, "CGROUP_FS", tmp_path)
    attached = _record_device_filters(monkeypatch)
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    cg = ContainerCgroups(Path("/r"), "c1")
    cg.create(LIMITS)
    d = tmp_path / naming.cgroup_parent(Path("/r")) / "c1"
    assert attached == [(d, cgroups.DEFAULT_DEVICE_RULES)]
    assert _read(d / "memory.max") == str(64 << 20)
    assert _read(d / "memory.low") == str(32 << 20)
    assert _read(d / "cpu.max") == "150000 100000"
    assert _read(d / "cpu.weight") == str(shares_to_weight(512))
    assert _read(d / "pids.max") == "20"
    assert _read(d / "cpuset.cpus") == "0"
    assert cg.dirs() == {"unified": d}
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert cg.oom_kills() == 1
    cg.freeze()
    assert _read(d / "cgroup.freeze") == "1" and cg.is_frozen()


@pytest.mark.parametrize("privileged", [False, True])
def test_v2_device_filter_carries_the_spec_devices_unless_privileged(tmp_path, monkeypatch, privileged):
    monkeypatch.setattr(cgroups, "CGROUP_FS", tmp_path)
    attached = _record_device_filters(monkeypatch)
    (tmp_path / "cgroup.controllers").write_text("pids\n")
    ContainerCgroups(Path("/r"), "c1").create(Limits(privileged=privileged, device_rules=("c 10:229 rwm",)))
    d = tmp_path / naming.cgroup_parent(Path("/r")) / "c1"
    assert attached == ([] if privileged else [(d, cgroups.DEFAULT_DEVICE_RULES + ("c 10:229 rwm",))])


def test_v2_controllers_already_delegated_are_not_written_again(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups, "CGROUP_FS", tmp_path)
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    parent = tmp_path / naming.cgroup_parent(Path("/r"))
    parent.mkdir()
    for level in (tmp_path, parent):
        (level / "cgroup.subtree_control").write_text("cpuset cpu memory pids\n")
    (parent / "cgroup.subtree_control").write_text("cpu memory\n")
    ContainerCgroups(Path("/r"), "c1").make_dirs()
    # a fake file keeps only the last write: the root's is untouched, the parent's got the last missing one
    assert _read(tmp_path / "cgroup.subtree_control") == "cpuset cpu memory pids"
    assert _read(parent / "cgroup.subtree_control") == "+pids"
    assert (parent / "c1").is_dir()


def test_v1_files_and_device_rules(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups, "CGROUP_FS", tmp_path)
    for c in cgroups.V1_CONTROLLERS:
        (tmp_path / c).mkdir()
    (tmp_path / "cpuset" / "cpuset.cpus").write_text("0-1\n")
    (tmp_path / "cpuset" / "cpuset.mems").write_text("0\n")
    cg = ContainerCgroups(Path("/r"), "c1")
    cg.create(LIMITS)
    rel = f"{naming.cgroup_parent(Path('/r'))}/c1"
    assert _read(tmp_path / "memory" / rel / "memory.limit_in_bytes") == str(64 << 20)
    assert _read(tmp_path / "memory" / rel / "memory.soft_limit_in_bytes") == str(32 << 20)
    assert _read(tmp_path / "cpu" / rel / "cpu.cfs_quota_us") == "150000"
    assert _read(tmp_path / "cpu" / rel / "cpu.shares") == "512"
    assert _read(tmp_path / "pids" / rel / "pids.max") == "20"
    assert _read(tmp_path / "cpuset" / rel / "cpuset.cpus") == "0"
    # a fake file keeps only the last write: the last allow rule; the real kernel file accumulates them
    assert _read(tmp_path / "devices" / rel / "devices.deny") == "a"
    assert _read(tmp_path / "devices" / rel / "devices.allow") == cgroups.DEFAULT_DEVICE_RULES[-1]
    assert set(cg.dirs()) == set(cgroups.V1_CONTROLLERS)


@pytest.mark.parametrize("shares,weight", [(2, 1), (1024, 39), (262144, 10000)])
def test_shares_to_weight(shares, weight):
    assert shares_to_weight(shares) == weight
