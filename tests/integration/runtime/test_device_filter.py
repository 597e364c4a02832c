"""The cgroup v2 device filter on the real kernel: a process in the cgroup may mknod and open only what the
rules allow. This host is hybrid, so the tests use its cgroup2 mount (no controllers needed for device BPF)."""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime import naming
from runtime.containers import cgroups
from runtime.containers.cgroups import DEFAULT_DEVICE_RULES, ContainerCgroups, Limits
from runtime.containers.devicefilter import apply_device_filter

CGROUP2 = Path("/sys/fs/cgroup/unified")
if not (CGROUP2 / "cgroup.procs").exists():
    CGROUP2 = Path("/sys/fs/cgroup")  # a pure v2 host
pytestmark = pytest.mark.skipif(not (CGROUP2 / "cgroup.procs").exists(), reason="no cgroup2 mount")

LOOP0 = os.makedev(7, 0)  # a block device: Docker's rules allow its mknod, never its open


def _outcome(action: Callable[[], None]) -> str:
    try:
        action()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return "ok"


def _open(path: str, flags: int) -> Callable[[], None]:
    return lambda: os.close(os.open(path, flags))


def _probe(tmp: Path) -> dict[str, str]:
    """What a process may do with device nodes, as errno names ("ok" when allowed)."""
    node = str(tmp / f"loop0-{os.getpid()}")
    report = {
        "null_rw": _outcome(_open("/dev/null", os.O_RDWR)),
        "null_ro": _outcome(_open("/dev/null", os.O_RDONLY)),
        "kmsg_ro": _outcome(_open("/dev/kmsg", os.O_RDONLY)),  # c 1:11: in no rule
        "mknod_block": _outcome(lambda: os.mknod(node, stat.S_IFBLK | 0o600, LOOP0)),
    }
    if report["mknod_block"] == "ok":
        report["open_block"] = _outcome(_open(node, os.O_RDONLY | os.O_NONBLOCK))
        os.unlink(node)
    return report


def _in_child(join: Callable[[int], None], tmp: Path) -> dict[str, str]:
    """Fork a child, let ``join`` put it in the cgroup (the child waits for that), and return its probe."""
    go_r, go_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(go_w)
            os.close(out_r)
            if os.read(go_r, 1) == b"1":
                os.write(out_w, json.dumps(_probe(tmp)).encode())
                code = 0
        finally:
            os._exit(code)
    os.close(go_r)
    os.close(out_w)
    try:
        try:
            join(pid)
            os.write(go_w, b"1")
        finally:
            os.close(go_w)
        with os.fdopen(out_r, "rb") as out:
            data = out.read()
    finally:
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, data
    return json.loads(data)


def _rmdir(path: Path) -> None:
    """The child's exit leaves the cgroup a moment after waitpid returns: a bounded retry on EBUSY."""
    deadline = time.monotonic() + 5
    while path.is_dir():
        try:
            path.rmdir()
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _probe_with_rules(root: Path, name: str, rules: tuple[str, ...] | None, tmp: Path) -> dict[str, str]:
    """Probe from a fresh cgroup named after the test root (the leak checker's attribution), with a filter
    for ``rules`` attached (None: no filter, the control)."""
    parent = CGROUP2 / naming.cgroup_parent(root)
    path = parent / name
    parent.mkdir(exist_ok=True)
    path.mkdir()
    try:
        if rules is not None:
            apply_device_filter(str(path), rules)
        return _in_child(lambda pid: (path / "cgroup.procs").write_text(str(pid)), tmp)
    finally:
        _rmdir(path)
        _rmdir(parent)


def test_no_filter_control_allows_everything(hoist_root, tmp_path):
    # What the filtered cases below must differ from: root with CAP_MKNOD may do it all without a filter.
    report = _probe_with_rules(hoist_root, "control", None, tmp_path)
    assert report["kmsg_ro"] == "ok" and report["mknod_block"] == "ok"
    assert report["open_block"] != "EPERM", report  # ENXIO without a loop driver, but not refused


def test_docker_default_rules(hoist_root, tmp_path):
    report = _probe_with_rules(hoist_root, "defaults", DEFAULT_DEVICE_RULES, tmp_path)
    assert report == {"null_rw": "ok", "null_ro": "ok", "kmsg_ro": "EPERM", "mknod_block": "ok",
                      "open_block": "EPERM"}


def test_block_mknod_needs_a_rule(hoist_root, tmp_path):
    without = _probe_with_rules(hoist_root, "without", ("c 1:3 rwm",), tmp_path)
    assert without["mknod_block"] == "EPERM" and without["null_rw"] == "ok", without
    allowed = _probe_with_rules(hoist_root, "with", ("c 1:3 rwm", "b 7:0 m"), tmp_path)
    # "m" alone: the node can be made but not opened
    assert allowed["mknod_block"] == "ok" and allowed["open_block"] == "EPERM", allowed


def test_access_subset(hoist_root, tmp_path):
    report = _probe_with_rules(hoist_root, "readonly", ("c 1:3 r",), tmp_path)
    assert report["null_ro"] == "ok" and report["null_rw"] == "EPERM", report


def test_allow_all_rule(hoist_root, tmp_path):
    report = _probe_with_rules(hoist_root, "all", ("a",), tmp_path)
    assert report["kmsg_ro"] == "ok" and report["mknod_block"] == "ok" and report["open_block"] != "EPERM"


@pytest.fixture
def v2_cgroups(monkeypatch: pytest.MonkeyPatch) -> None:
    """ContainerCgroups on the cgroup2 mount, as on a pure v2 host (its v2 path, filter included)."""
    monkeypatch.setattr(cgroups, "CGROUP_FS", CGROUP2)
    monkeypatch.setattr(cgroups, "_unified", {})


@pytest.mark.parametrize("privileged", [False, True])
def test_container_cgroups_v2_attaches_docker_rules(hoist_root, tmp_path, v2_cgroups, privileged):
    cg = ContainerCgroups(hoist_root, f"dev{int(privileged)}")
    assert cg.v2 == CGROUP2
    try:
        cg.create(Limits(privileged=privileged, device_rules=("c 1:11 r",)))
        report = _in_child(cg.attach, tmp_path)
    finally:
        cg.remove()
    assert report["kmsg_ro"] == "ok"  # the spec's extra rule (or no filter at all when privileged)
    if privileged:
        assert report["open_block"] != "EPERM", report
    else:
        assert report["null_rw"] == "ok" and report["mknod_block"] == "ok" and report["open_block"] == "EPERM"
