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
        (level / "cgroup.subtree_control").write_text("cpuset cpu io memory pids\n")
    (parent / "cgroup.subtree_control").write_text("cpu memory\n")
    ContainerCgroups(Path("/r"), "c1").make_dirs()
    # a fake file keeps only the last write: the root's is untouched, the parent's got the last missing one
    assert _read(tmp_path / "cgroup.subtree_control") == "cpuset cpu io memory pids"
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


@pytest.fixture
def parent_notes(tmp_path, monkeypatch):
    from runtime.containers import cgroup_parents

    monkeypatch.setattr(cgroup_parents, "NOTES", tmp_path / "notes")
    monkeypatch.setattr(cgroup_parents, "LOCK", tmp_path / "notes.lock")
    return cgroup_parents


@pytest.mark.parametrize("given,relative", [("apps", "apps"), ("/apps/web/", "apps/web"), ("./a//b", "a/b"),
                                            (None, ""), ("", "")])
def test_user_parent_path(given, relative):
    assert cgroups.user_parent_path(given) == relative


@pytest.mark.parametrize("given", ["..", "a/../../b", "/", "x/cgroup.procs"])
def test_user_parent_path_refuses_what_leaves_the_hierarchy(given):
    with pytest.raises(ValueError, match="invalid cgroup_parent"):
        cgroups.user_parent_path(given)


def test_v1_user_parent_levels_are_made_inherited_and_removed_only_if_hoists(tmp_path, monkeypatch, parent_notes):
    fs = tmp_path / "fs"
    monkeypatch.setattr(cgroups, "CGROUP_FS", fs)
    for c in ("memory", "cpuset"):
        (fs / c).mkdir(parents=True)
    (fs / "cpuset" / "cpuset.cpus").write_text("0-1\n")
    (fs / "cpuset" / "cpuset.mems").write_text("0\n")
    (fs / "memory" / "team").mkdir()  # the user's own: stays
    a = ContainerCgroups(Path("/r"), "c1", "team/web")
    b = ContainerCgroups(Path("/r"), "c2", "team/web")
    a.make_dirs()
    b.make_dirs()
    assert a.dirs() == {"memory": fs / "memory/team/web/c1", "cpuset": fs / "cpuset/team/web/c1"}
    assert _read(fs / "cpuset/team/web/cpuset.cpus") == "0-1" and _read(fs / "cpuset/team/cpuset.mems") == "0"
    assert not parent_notes.made_by_hoist(fs / "memory/team") and parent_notes.made_by_hoist(fs / "cpuset/team")
    for name in ("cpuset.cpus", "cpuset.mems"):  # fake files the kernel would not let rmdir see
        for level in (fs / "cpuset/team", fs / "cpuset/team/web", fs / "cpuset/team/web/c1",
                      fs / "cpuset/team/web/c2"):
            (level / name).unlink()
    a.remove()
    assert (fs / "memory/team/web/c2").is_dir()  # b still lives there
    b.remove()
    assert not (fs / "memory/team/web").exists() and (fs / "memory/team").is_dir()
    assert not (fs / "cpuset/team").exists()
    assert not parent_notes.NOTES.exists()


def test_v2_user_parent_delegates_controllers_at_every_level(tmp_path, monkeypatch, parent_notes):
    fs = tmp_path / "fs"
    fs.mkdir()
    monkeypatch.setattr(cgroups, "CGROUP_FS", fs)
    (fs / "cgroup.controllers").write_text("memory pids\n")
    ContainerCgroups(Path("/r"), "c1", "a/b").make_dirs()
    for level in (fs, fs / "a", fs / "a/b"):
        assert _read(level / "cgroup.subtree_control") == "+pids"  # the last write of a fake file
    assert (fs / "a/b/c1").is_dir()


def test_block_io_files_on_v1_and_v2(tmp_path, monkeypatch):
    limits = Limits(blkio_weight=500, blkio_weight_device=("254:0 100",), device_read_bps=("254:0 1048576",),
                    device_write_iops=("254:0 120",), device_write_bps=("254:0 2048",))
    v1 = tmp_path / "v1"
    monkeypatch.setattr(cgroups, "CGROUP_FS", v1)
    (v1 / "blkio").mkdir(parents=True)
    rel = f"{naming.cgroup_parent(Path('/r'))}/c1"
    cg = ContainerCgroups(Path("/r"), "c1")
    cg.make_dirs()
    (v1 / "blkio" / rel / "blkio.bfq.weight").write_text("100\n")  # a kernel with BFQ: its weight file
    cg.set_limits(limits)
    d = v1 / "blkio" / rel
    assert _read(d / "blkio.bfq.weight") == "500" and _read(d / "blkio.bfq.weight_device") == "254:0 100"
    assert _read(d / "blkio.throttle.read_bps_device") == "254:0 1048576"
    assert _read(d / "blkio.throttle.write_iops_device") == "254:0 120"

    v2 = tmp_path / "v2"
    v2.mkdir()
    monkeypatch.setattr(cgroups, "CGROUP_FS", v2)
    monkeypatch.setattr(cgroups, "_unified", {})
    _record_device_filters(monkeypatch)
    (v2 / "cgroup.controllers").write_text("io memory pids\n")
    cg = ContainerCgroups(Path("/r"), "c1")
    cg.make_dirs()
    d = v2 / rel
    (d / "io.weight").write_text("default 100\n")
    cg.set_limits(limits)
    assert _read(d / "io.weight") == f"254:0 {1 + 90 * 9999 // 990}"  # the last write: the device's
    assert _read(d / "io.max") == "254:0 rbps=1048576 wbps=2048 wiops=120"
