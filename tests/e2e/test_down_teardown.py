"""`down` end to end on bridge networks: each service's stop_grace_period from the compose file (read from the
project outline, without the typed model), orphans kept, and networks, veths and netns gone afterwards (the
leak checker of ``hoist_root`` runs after each test)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import Hoist

# PID 1 ignores SIGTERM (no init): only the grace period's end (SIGKILL) stops these.
STUBBORN = """
services:
  quick:
    image: {image}
    command: ["sleep", "1000"]
    stop_grace_period: {quick}
  other:
    image: {image}
    command: ["sleep", "1000"]
    stop_grace_period: {other}
"""


def stubborn(image: str, quick: str = "200ms", other: str = "300ms") -> str:
    return STUBBORN.format(image=image, quick=quick, other=other)


@pytest.fixture
def hoist(hoist_root: Path, busybox_image: str, project_name: str, tmp_path: Path) -> Hoist:
    h = Hoist(hoist_root, tmp_path, project_name)
    yield h
    h("down", "--remove-orphans", "-t", "0", check=False)


def _links_of(root: Path) -> list[str]:
    from runtime import naming

    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    tag = naming.instance_tag(root)
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if tag in line]


def test_down_uses_each_services_grace_period_and_leaves_no_links(hoist: Hoist, busybox_image: str) -> None:
    hoist.write(stubborn(busybox_image, "6s", "6s"))
    hoist("up", "-d")
    assert len(_links_of(hoist.root)) >= 3  # the bridge and a veth per container
    # As compose: the file's grace periods now, not those the containers were created with (6 s).
    hoist.write(stubborn(busybox_image))
    started = time.monotonic()
    result = hoist("down")
    took = time.monotonic() - started
    assert 0.3 <= took < 5, took  # both at once, SIGKILL after 200 and 300 ms
    assert hoist.states() == {}
    assert "Network" in result.err and "Removed" in result.err
    assert _links_of(hoist.root) == []  # bridge and veths gone when down returns, not later


def test_down_keeps_orphans_without_the_flag(hoist: Hoist, busybox_image: str) -> None:
    hoist.write(stubborn(busybox_image))
    hoist("up", "-d")
    hoist.write(stubborn(busybox_image).split("  other:")[0])  # "other" left the file
    result = hoist("down", "-t", "0")
    assert "orphan containers" in result.err
    assert list(hoist.states()) == [f"{hoist.project}-other-1"]
    # Its network stays while the orphan uses it; --remove-orphans takes both.
    hoist("down", "-t", "0", "--remove-orphans")
    assert hoist.states() == {} and _links_of(hoist.root) == []


MIXED = """
services:
  polite:
    image: {image}
    command: ["sleep", "1000"]
    init: true
  stubborn:
    image: {image}
    command: ["sleep", "1000"]
"""


def test_the_network_stays_while_any_container_on_it_can_still_run(hoist: Hoist, busybox_image: str) -> None:
    # `polite` exits on SIGTERM at once; `stubborn` runs on until the grace period's SIGKILL. The network's
    # early teardown waits for every container on it to be dead or SIGKILLed, never for the first only.
    from tests.support.cli import wait_for

    hoist.write(MIXED.format(image=busybox_image))
    hoist("up", "-d")
    before = set(_links_of(hoist.root))  # the bridge and a veth per container
    down = hoist.popen("down", "-t", "6")  # long enough to look while stubborn runs, even under load
    try:
        wait_for(lambda: f"{hoist.project}-polite-1" not in hoist.states(), timeout=10, what="polite removed")
        assert hoist.states() == {f"{hoist.project}-stubborn-1": "running"}
        left = set(_links_of(hoist.root))  # polite's veth may be gone; the bridge and stubborn's are not
        assert len(before) == 3 and len(left) >= 2 and left <= before, (before, left)
        assert down.wait(timeout=20) == 0
    finally:
        if down.poll() is None:
            down.kill()
            down.wait()
    assert hoist.states() == {} and _links_of(hoist.root) == []
