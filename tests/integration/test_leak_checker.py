"""The leak checker finds a test's own kernel objects, and only those."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from runtime import naming
from tests.support import leaks


def test_detects_and_forgets_own_link_and_mount(hoist_root: Path) -> None:
    before = leaks.snapshot(hoist_root)
    link = naming.bridge_name(hoist_root, "leak01")
    mnt = hoist_root / "mnt"
    mnt.mkdir()
    subprocess.run(["ip", "link", "add", link, "type", "bridge"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mnt)], check=True)
    try:
        found = leaks.snapshot(hoist_root).minus(before)
        assert link in found.links
        assert str(mnt) in found.mounts
    finally:
        subprocess.run(["ip", "link", "del", link], check=True)
        subprocess.run(["umount", str(mnt)], check=True)
    assert not leaks.snapshot(hoist_root).minus(before)


def test_detects_own_process(hoist_root: Path) -> None:
    before = leaks.snapshot(hoist_root)
    proc = subprocess.Popen(["sh", "-c", "exec sleep 30", str(hoist_root)])
    try:
        deadline = time.monotonic() + 5
        while True:  # the child shows its own command line only once it has exec'd
            seen = any(p.startswith(f"{proc.pid} ") for p in leaks.snapshot(hoist_root).minus(before).processes)
            if seen or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert seen
    finally:
        proc.kill()
        proc.wait()
    assert not leaks.snapshot(hoist_root).minus(before).processes


def test_test_images_are_usable(busybox_rootfs: Path, debian_rootfs: Path) -> None:
    out = subprocess.run(["chroot", str(busybox_rootfs), "/bin/sh", "-c", "echo hi; id -u"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["hi", "0"]
    py = subprocess.run(["chroot", str(debian_rootfs), "python3", "-c", "print(6*7)"],
                        capture_output=True, text=True, check=True).stdout.strip()
    assert py == "42"


def test_detects_own_firewall_chain(hoist_root: Path) -> None:
    before = leaks.snapshot(hoist_root)
    chain = f"HOIST-{naming.instance_tag(hoist_root)}-LEAK"
    subprocess.run(["iptables", "-N", chain], check=True)
    try:
        assert any(chain in rule for rule in leaks.snapshot(hoist_root).minus(before).rules)
    finally:
        subprocess.run(["iptables", "-X", chain], check=True)
    assert not leaks.snapshot(hoist_root).minus(before).rules
