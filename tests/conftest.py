"""Shared fixtures: tiers by directory, root enforcement, a temp HOIST_ROOT, unique names, leak checks."""

from __future__ import annotations

import ipaddress
import os
import random
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime import naming
from tests.support import leaks

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = PROJECT_DIR.parent / "shared"
ROOT_TIERS = {"integration", "e2e", "faults"}
IS_ROOT = os.geteuid() == 0
# CI (and `make test`) must run every tier: a root test skipped there for lack of root is a failure.
REQUIRE_ROOT = os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get(
    "HOIST_REQUIRE_ROOT") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(PROJECT_DIR / "tests")
        tier = rel.parts[0] if len(rel.parts) > 1 else "unit"
        if tier in ("unit", "integration", "e2e", "compat", "faults"):
            item.add_marker(getattr(pytest.mark, tier))
        if tier in ROOT_TIERS:
            item.add_marker(pytest.mark.root)
        if item.get_closest_marker("root") and not IS_ROOT:
            if REQUIRE_ROOT:
                item.add_marker(pytest.mark.xfail(
                    reason="root test not run: CI requires root", run=False, strict=True))
            else:
                item.add_marker(pytest.mark.skip(
                    reason="needs root (namespaces, mounts, netlink); CI runs every tier as root"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") and not IS_ROOT and REQUIRE_ROOT:
        pytest.fail("this root test cannot run: CI requires every tier to run as root", pytrace=False)


# ----------------------------------------------------------------------------------------------- names


@pytest.fixture
def unique_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def project_name(unique_id: str) -> str:
    """A compose project name no other test (or run) uses."""
    return f"t{unique_id}"


def _routed_networks() -> list[ipaddress.IPv4Network]:
    out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    nets = []
    for line in out.splitlines():
        first = line.split()[0] if line.split() else ""
        if first in ("local", "broadcast", "unreachable", "blackhole"):
            first = line.split()[1]
        try:
            if first != "default":
                nets.append(ipaddress.ip_network(first, strict=False))
        except ValueError:
            continue
    return nets


@pytest.fixture
def subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.128.0.0/9 that nothing on this host routes, chosen at random per test."""
    routed = _routed_networks()
    rng = random.Random(uuid.uuid4().int)
    for _ in range(1000):
        candidate = ipaddress.ip_network(f"10.{rng.randint(128, 254)}.{rng.randint(0, 255)}.0/24")
        if not any(candidate.overlaps(n) for n in routed):
            return candidate
    raise RuntimeError("no free 10.x /24 found")


@pytest.fixture
def subnet_factory() -> Iterator[object]:
    """Call it for as many distinct free /24s as a test needs."""
    handed: list[ipaddress.IPv4Network] = []

    def make() -> ipaddress.IPv4Network:
        routed = _routed_networks() + handed
        rng = random.Random(uuid.uuid4().int)
        for _ in range(1000):
            c = ipaddress.ip_network(f"10.{rng.randint(128, 254)}.{rng.randint(0, 255)}.0/24")
            if not any(c.overlaps(n) for n in routed):
                handed.append(c)
                return c
        raise RuntimeError("no free 10.x /24 found")

    yield make


# ------------------------------------------------------------------------------------ state root, leaks


@pytest.fixture
def hoist_root(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh state root for one test, exported as HOIST_ROOT; for root tests, a leak check afterwards."""
    base = Path(tempfile.mkdtemp(prefix="hoist-test-"))
    root = base / "root"
    root.mkdir()
    monkeypatch.setenv("HOIST_ROOT", str(root))
    # The supervisor launcher lingers 2 s for the next start; here it should be gone before the leak check.
    monkeypatch.setenv("HOIST_LAUNCHER_IDLE", "0.2")
    check = IS_ROOT and request.node.get_closest_marker("root") is not None
    before = leaks.snapshot(root) if check else None
    yield root
    if check and before is not None:
        left = _settled_leaks(root, before)
        if left:
            _force_cleanup(root, left)
            pytest.fail(f"the test left kernel objects of its own behind:\n{left.describe()}", pytrace=False)
    rundir = naming.run_dir(root)
    shutil.rmtree(base, ignore_errors=True)
    if rundir != naming.DEFAULT_RUN_DIR:
        shutil.rmtree(rundir, ignore_errors=True)


def _settled_leaks(root: Path, before: leaks.Snapshot, timeout: float = 5.0) -> leaks.Snapshot:
    """Objects still present after a short bounded wait (processes take a moment to be reaped)."""
    deadline = time.monotonic() + timeout
    while True:
        left = leaks.snapshot(root).minus(before)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def _force_cleanup(root: Path, left: leaks.Snapshot) -> None:
    """Remove what a failed test leaked, so one failure does not cascade into the next tests."""
    for entry in left.processes:
        try:
            os.kill(int(entry.split()[0]), 9)
        except (ProcessLookupError, ValueError):
            pass
    for mount in sorted(left.mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)
    for link in left.links:
        subprocess.run(["ip", "link", "del", link], capture_output=True)
    for ns in left.netns:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    for rule in left.rules:
        table, _, line = rule.partition(": ")
        if line.startswith("-A "):
            subprocess.run(["iptables", "-t", table, "-D", *shlex.split(line[3:])], capture_output=True)
    time.sleep(0.1)
    for cg in sorted(left.cgroups, key=len, reverse=True):
        try:
            os.rmdir(cg)
        except OSError:
            pass


# ------------------------------------------------------------------------------------------- test images


@pytest.fixture(scope="session")
def busybox_rootfs() -> Path:
    """A busybox root filesystem (Debian's busybox-static), cached outside the work tree."""
    from tests.support.images import ensure_busybox_rootfs

    return ensure_busybox_rootfs()


@pytest.fixture(scope="session")
def debian_rootfs() -> Path:
    """A Debian bookworm minbase root filesystem (debootstrap, with python3), cached outside the work tree."""
    from tests.support.images import ensure_debian_rootfs

    return ensure_debian_rootfs()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared: the reference notes, the official schema (a test oracle only) and the corpora."""
    if not SHARED_DIR.is_dir():
        pytest.fail(f"{SHARED_DIR} is missing: CI lays shared/ beside the project", pytrace=False)
    return SHARED_DIR


@pytest.fixture
def busybox_image(hoist_root: Path, busybox_rootfs: Path) -> str:
    """"busybox:latest" in the test's image store (imported once per machine, hardlinked per test)."""
    from tests.support.image_store import cached_store, link_into

    link_into(cached_store(busybox_rootfs, "busybox:latest"), hoist_root)
    return "busybox:latest"


@pytest.fixture
def debian_image(hoist_root: Path, debian_rootfs: Path) -> str:
    """"debian:bookworm-slim" (with python3) in the test's image store, hardlinked from a cached store."""
    from tests.support.image_store import cached_store, link_into

    link_into(cached_store(debian_rootfs, "debian:bookworm-slim"), hoist_root)
    return "debian:bookworm-slim"
