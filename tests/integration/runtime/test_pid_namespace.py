"""The supervisor forks PID 1 straight into its PID namespace (unshare/setns CLONE_NEWPID, fork, back):
a private namespace, another container's (``pid: container:x``) or the host's, and the supervisor's own
later children (healthchecks, restarts) start in the host's namespace again."""

from __future__ import annotations

import json
import os

from runtime.api import ContainerSpec
from tests.integration.runtime.conftest import output


def _sleeper(engine, busybox_image: str, name: str) -> int:
    engine.container_create(ContainerSpec(name=name, image=busybox_image, command=["sleep", "1000"],
                                          network_mode="none", stop_grace_period=0.2))
    engine.container_start(name)
    return engine.container_inspect(name).pid


def test_the_supervisor_goes_back_to_its_own_pid_namespace(engine, busybox_image, unique_id):
    pid1 = _sleeper(engine, busybox_image, f"pn{unique_id}")
    status = json.loads((engine.container_dir(engine.container_inspect(f"pn{unique_id}").id)
                         / "status.json").read_text())
    host_ns = os.readlink("/proc/self/ns/pid")
    assert os.readlink(f"/proc/{pid1}/ns/pid") != host_ns
    assert os.readlink(f"/proc/{status['supervisor_pid']}/ns/pid_for_children") == host_ns


def test_pid_mode_container_joins_the_other_containers_namespace(engine, probe, busybox_image, unique_id):
    target = f"pt{unique_id}"
    pid1 = _sleeper(engine, busybox_image, target)
    code, out = probe("echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo; readlink /proc/self/ns/pid",
                      pid_mode=f"container:{target}")
    own_pid, first_cmdline, ns = out.splitlines()
    assert code == 0
    assert own_pid != "1" and first_cmdline.strip() == "sleep 1000"
    assert ns == os.readlink(f"/proc/{pid1}/ns/pid")


def test_pid_mode_host_sees_the_host(engine, probe):
    code, out = probe("echo $$; readlink /proc/self/ns/pid", pid_mode="host")
    own_pid, ns = out.splitlines()
    assert code == 0
    assert own_pid != "1" and ns == os.readlink("/proc/self/ns/pid")


def test_ipc_mode_container_joins_the_other_containers_namespace(engine, busybox_image, unique_id):
    target = f"pi{unique_id}"
    pid1 = _sleeper(engine, busybox_image, target)
    name = f"pj{unique_id}"
    engine.container_create(ContainerSpec(name=name, image=busybox_image, network_mode="none",
                                          command=["readlink", "/proc/self/ns/ipc"], ipc_mode=f"container:{target}"))
    engine.container_start(name)
    assert engine.container_wait(name, timeout=30) == 0
    assert output(engine, name).strip() == os.readlink(f"/proc/{pid1}/ns/ipc")
