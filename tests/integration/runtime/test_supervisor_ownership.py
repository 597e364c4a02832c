"""One owner at a time: a new run of a container never overlaps the previous supervisor's cleanup (whose
cgroup removal SIGKILLs what is in the cgroup), and reconcile never settles a container a supervisor owns."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

from runtime.api import ContainerSpec
from runtime.containers.cgroups import ContainerCgroups
from runtime.containers.status import try_own
from runtime.engine import open_engine
from tests.integration.runtime.conftest import wait_for


def _spec(busybox_image: str, name: str) -> ContainerSpec:
    return ContainerSpec(name=name, image=busybox_image, command=["sleep", "1000"], network_mode="none",
                         stop_grace_period=0.2)


def test_the_supervisor_owns_its_container_for_its_whole_life(engine, busybox_image, unique_id):
    name = f"ow{unique_id}"
    state = engine.container_create(_spec(busybox_image, name))
    cdir = engine.container_dir(state.id)
    engine.container_start(name)
    assert try_own(cdir) is None  # held by the supervisor (not by the container: its init closed the fd)
    pid = engine.container_inspect(name).pid
    assert not any(os.readlink(f"/proc/{pid}/fd/{fd}").endswith("supervisor.lock")
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    supervisor = json.loads((cdir / "status.json").read_text())["supervisor_pid"]
    engine.container_stop(name)
    wait_for(lambda: not os.path.exists(f"/proc/{supervisor}") or
             open(f"/proc/{supervisor}/stat").read().split(")")[-1].split()[0] == "Z", what="the supervisor's exit")
    fd = try_own(cdir)
    assert fd is not None
    os.close(fd)


def test_a_new_run_waits_until_the_previous_owner_is_done(engine, busybox_image, unique_id):
    """As if the previous supervisor were still removing the cgroup: the start must wait, not join it."""
    name = f"wt{unique_id}"
    state = engine.container_create(_spec(busybox_image, name))
    cdir = engine.container_dir(state.id)
    held = try_own(cdir)  # the "previous supervisor", mid-cleanup
    assert held is not None
    result: dict[str, object] = {}

    def start() -> None:
        try:
            result["state"] = open_engine(engine.root).container_start(name)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            result["error"] = exc

    starter = threading.Thread(target=start)
    starter.start()
    try:
        time.sleep(0.5)  # a bounded window in which nothing of the new run may exist yet
        assert "state" not in result and "error" not in result
        assert not ContainerCgroups(engine.root, state.id).exists()
    finally:
        os.close(held)
        starter.join(30)
    assert result.get("state") is not None and result["state"].status == "running", result
    time.sleep(0.2)
    assert engine.container_inspect(name).status == "running"  # and it stays up


def test_reconcile_leaves_a_container_with_a_live_owner_alone(engine, busybox_image, unique_id):
    name = f"rc{unique_id}"
    state = engine.container_create(_spec(busybox_image, name))
    engine.container_start(name)
    cdir = engine.container_dir(state.id)
    status = json.loads((cdir / "status.json").read_text())
    os.kill(status["supervisor_pid"], signal.SIGKILL)  # the record now names a dead supervisor...
    # ...but a new owner (a starting supervisor) takes the container once the kernel dropped the old lock.
    held = wait_for(lambda: try_own(cdir), what="the dead supervisor's lock to go")
    try:
        os.kill(status["pid"], signal.SIGKILL)
        wait_for(lambda: not os.path.exists(f"/proc/{status['pid']}"), what="the init's exit")
        seen = open_engine(engine.root).container_inspect(name)
        assert seen.status == "running"  # not settled: the owner's record stands until it writes its own
        assert json.loads((cdir / "status.json").read_text())["status"] == "running"
    finally:
        os.close(held)
    settled = open_engine(engine.root).container_inspect(name)
    assert settled.status == "exited" and settled.exit_code == 255
