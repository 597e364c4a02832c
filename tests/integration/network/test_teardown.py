"""The batched network teardown `down` uses (Engine.batched_network_teardown, runtime.network.teardown): a
removal releases the netns but holds it, the network removal deletes the held veths in one kernel batch with
its bridge, a veth no bridge took is checked when the scope ends, a link group that is not ours alone
deletes nothing, and a process killed inside the scope leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from runtime.api import ContainerSpec, EndpointSpec, IPAMConfig, NetworkSpec
from runtime.network import teardown
from tests.integration.runtime.conftest import _quick_launcher_exit, engine  # noqa: F401

PROJECT_DIR = Path(__file__).resolve().parents[3]


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def _link_group(name: str) -> str:
    out = subprocess.run(["ip", "-d", "link", "show", name], capture_output=True, text=True, check=True).stdout
    return out.split(" group ", 1)[1].split()[0]


def _wait_gone(names: list[str], timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    left = [n for n in names if _link_exists(n)]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [n for n in left if _link_exists(n)]
    return left


def _containers(engine, net: str, prefix: str, count: int, busybox_image: str) -> list[tuple[str, str]]:  # noqa: F811
    """(container id, host veth) of ``count`` created containers on ``net``."""
    out = []
    for i in range(count):
        c = engine.container_create(ContainerSpec(name=f"{prefix}{i}", image=busybox_image,
                                                  networks=[EndpointSpec(network=net)], command=["true"]))
        out.append((c.id, engine.network_manager().store.endpoints_of_container(c.id)[0].veth))
    return out


def test_veths_go_in_one_batch_with_the_bridge(engine, busybox_image, unique_id, subnet,  # noqa: F811
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    net = f"b{unique_id}"
    engine.network_create(NetworkSpec(name=net, ipam=[IPAMConfig(subnet=str(subnet))]))
    made = _containers(engine, net, f"b{unique_id}", 3, busybox_image)
    manager = engine.network_manager()
    bridge_name = manager.store.find_network(net).bridge
    batches: list[tuple[list[str], bool]] = []
    real = teardown.delete_together

    def spy(names: list[str]) -> bool:
        done = real(names)
        batches.append((names, done))
        return done

    monkeypatch.setattr(teardown, "delete_together", spy)
    with engine.batched_network_teardown():
        for cid, _ in made:
            engine.container_remove(cid)
        # Released (mount and rows gone) but held: the veths are still there for the bridge's batch.
        assert not any(manager.netns_path(cid).exists() for cid, _ in made)
        assert manager.store.endpoints_of_network(manager.store.find_network(net).id) == []
        assert all(_link_exists(veth) for _, veth in made)
        engine.network_remove(net)
        assert not _link_exists(bridge_name) and not any(_link_exists(veth) for _, veth in made)
    assert batches == [([bridge_name, *(veth for _, veth in made)], True)]


def test_a_veth_no_bridge_took_is_checked_when_the_scope_ends(engine, busybox_image, unique_id,  # noqa: F811
                                                               subnet) -> None:
    net = f"k{unique_id}"
    engine.network_create(NetworkSpec(name=net, ipam=[IPAMConfig(subnet=str(subnet))]))
    made = _containers(engine, net, f"k{unique_id}", 2, busybox_image)
    with engine.batched_network_teardown():
        for cid, _ in made:
            engine.container_remove(cid)
        assert all(_link_exists(veth) for _, veth in made)  # held until the scope ends
    assert not any(_link_exists(veth) for _, veth in made)  # the end of the scope waited for the kernel
    engine.network_remove(net)  # outside a scope: the plain deletion


def test_a_group_another_link_carries_deletes_nothing(unique_id, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = [f"hsta{unique_id}"[:15], f"hstb{unique_id}"[:15]]
    foreign = f"hstf{unique_id}"[:15]
    group = 987654321
    try:
        for name in [*ours, foreign]:
            subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
        subprocess.run(["ip", "link", "set", foreign, "group", str(group)], check=True)
        monkeypatch.setattr(teardown, "_random_group", lambda: group)
        assert teardown.delete_together(ours) is False
        assert all(_link_exists(n) for n in [*ours, foreign])
        assert [_link_group(n) for n in ours] == ["default", "default"]  # put back as they were
        assert _link_group(foreign) == str(group)
        monkeypatch.undo()
        assert teardown.delete_together([*ours, f"hstz{unique_id}"[:15]]) is True  # a missing one is fine
        assert not any(_link_exists(n) for n in ours) and _link_exists(foreign)
    finally:
        for name in [*ours, foreign]:
            subprocess.run(["ip", "link", "del", name], capture_output=True)


KILLED_IN_SCOPE = """
import os, signal, sys
from pathlib import Path
from runtime.engine import open_engine
engine = open_engine(Path(sys.argv[1]))
with engine.batched_network_teardown():
    for cid in sys.argv[2:]:
        engine.container_remove(cid)
    print("removed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_process_killed_in_the_scope_leaves_nothing(engine, busybox_image, unique_id,  # noqa: F811
                                                       subnet) -> None:
    net = f"c{unique_id}"
    engine.network_create(NetworkSpec(name=net, ipam=[IPAMConfig(subnet=str(subnet))]))
    made = _containers(engine, net, f"c{unique_id}", 2, busybox_image)
    proc = subprocess.run([sys.executable, "-c", KILLED_IN_SCOPE, str(engine.root), *(cid for cid, _ in made)],
                          capture_output=True, text=True, cwd=PROJECT_DIR,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)})
    assert proc.returncode == -9 and "removed" in proc.stdout, proc.stderr
    # Its fds died with it: the kernel destroys the released netns and their veths on its own.
    assert _wait_gone([veth for _, veth in made]) == []
    manager = engine.network_manager()
    assert not any(manager.netns_path(cid).exists() for cid, _ in made)
    assert engine.container_list(all=True) == []
    engine.network_remove(net)  # nothing holds it any more


def _wait(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_a_labeled_network_goes_as_soon_as_its_last_endpoint_did(engine, busybox_image, unique_id,  # noqa: F811
                                                                  subnet_factory) -> None:
    gone, kept = f"e{unique_id}", f"o{unique_id}"
    engine.network_create(NetworkSpec(name=gone, labels={"p": "x"}, ipam=[IPAMConfig(subnet=str(subnet_factory()))]))
    engine.network_create(NetworkSpec(name=kept, ipam=[IPAMConfig(subnet=str(subnet_factory()))]))
    on_gone = _containers(engine, gone, f"e{unique_id}", 2, busybox_image)
    on_kept = _containers(engine, kept, f"o{unique_id}", 1, busybox_image)
    manager = engine.network_manager()
    bridges = {n: manager.store.find_network(n).bridge for n in (gone, kept)}
    with engine.batched_network_teardown({"p": "x"}):
        engine.container_remove(on_gone[0][0])
        assert _link_exists(bridges[gone])  # one endpoint left: nothing starts
        engine.container_remove(on_gone[1][0])
        engine.container_remove(on_kept[0][0])
        # The last endpoint went: bridge and veths go in the background, the row stays for network_remove.
        _wait(lambda: not _link_exists(bridges[gone]))
        assert not any(_link_exists(veth) for _, veth in on_gone)
        assert manager.store.find_network(gone) is not None
        assert _link_exists(bridges[kept])  # not labeled: untouched until removed
        engine.network_remove(gone)
        assert manager.store.find_network(gone) is None
    engine.network_remove(kept)


def test_an_early_teardown_no_removal_follows_is_undone(engine, busybox_image, unique_id, subnet) -> None:  # noqa: F811
    net = f"u{unique_id}"
    engine.network_create(NetworkSpec(name=net, labels={"p": "x"}, ipam=[IPAMConfig(subnet=str(subnet))]))
    made = _containers(engine, net, f"u{unique_id}", 1, busybox_image)
    manager = engine.network_manager()
    name = manager.store.find_network(net).bridge
    with engine.batched_network_teardown({"p": "x"}):
        engine.container_remove(made[0][0])
        _wait(lambda: not _link_exists(name))
    assert _link_exists(name)  # made whole again: the network is still there and usable
    again = _containers(engine, net, f"v{unique_id}", 1, busybox_image)
    engine.container_remove(again[0][0])
    engine.network_remove(net)
    assert not _link_exists(name)


KILLED_AFTER_EARLY_TEARDOWN = """
import os, signal, socket, sys, time
from pathlib import Path
from runtime.engine import open_engine
engine = open_engine(Path(sys.argv[1]))
with engine.batched_network_teardown({"p": "x"}):
    engine.container_remove(sys.argv[3])
    while sys.argv[2] in [name for _, name in socket.if_nameindex()]:  # the early teardown's bridge deletion
        time.sleep(0.01)
    print("torn", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # before network_remove deletes the row
"""


def test_a_row_left_by_a_crash_after_an_early_teardown_is_removed(engine, busybox_image, unique_id,  # noqa: F811
                                                                   subnet) -> None:
    net = f"w{unique_id}"
    engine.network_create(NetworkSpec(name=net, labels={"p": "x"}, ipam=[IPAMConfig(subnet=str(subnet))]))
    made = _containers(engine, net, f"w{unique_id}", 1, busybox_image)
    manager = engine.network_manager()
    name = manager.store.find_network(net).bridge
    proc = subprocess.run([sys.executable, "-c", KILLED_AFTER_EARLY_TEARDOWN, str(engine.root), name, made[0][0]],
                          capture_output=True, text=True, cwd=PROJECT_DIR,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)})
    assert proc.returncode == -9 and "torn" in proc.stdout, proc.stderr
    assert not _link_exists(name) and manager.store.find_network(net) is not None  # the row the crash left
    engine.network_remove(net)  # a missing bridge (and rules) is fine there
    assert manager.store.find_network(net) is None


def test_the_scope_is_made_during_a_grace_period(engine, busybox_image, unique_id) -> None:  # noqa: F811
    """A stop that waits out a grace period prepares the scope meanwhile (off the removals' path); the scope
    ends cleanly, and a later scope starts empty."""
    c = engine.container_create(ContainerSpec(name=f"g{unique_id}", image=busybox_image, network_mode="none",
                                              command=["sleep", "60"]))  # PID 1: SIGTERM is ignored
    engine.container_start(c.id)
    seen: list[object] = []
    with engine.batched_network_teardown():
        assert engine._teardown_scope is None  # nothing made before a stop needs it

        def watch() -> None:
            deadline = time.monotonic() + 5.0
            while engine._teardown_scope is None and time.monotonic() < deadline:
                time.sleep(0.01)
            seen.append(engine._teardown_scope)

        watcher = threading.Thread(target=watch)
        watcher.start()
        state = engine.container_stop(c.id, timeout=1.0)
        watcher.join()
        assert state.status == "exited"
        assert seen and seen[0] is not None, "the scope was not made while the stop waited"
        engine.container_remove(c.id)
    assert engine._teardown_scope is None and not engine._teardown_prepared
