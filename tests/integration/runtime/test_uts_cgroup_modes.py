"""uts: host, cgroup: host|private and cgroup_parent, probed from inside the container (root)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from runtime import naming
from runtime.api import ContainerSpec
from runtime.containers import cgroup_parents
from runtime.errors import InvalidSpec
from tests.integration.runtime.conftest import output

MEMORY = Path("/sys/fs/cgroup/memory")


def test_uts_host_shares_the_hosts_names(probe):
    code, out = probe("hostname; echo $HOSTNAME; cat /etc/hostname; readlink /proc/self/ns/uts", uts_mode="host")
    assert code == 0
    name, env_name, file_name, ns = out.splitlines()
    assert name == env_name == file_name == socket.gethostname()
    assert ns == os.readlink("/proc/self/ns/uts")


def test_a_private_uts_namespace_has_the_containers_own_name(probe):
    code, out = probe("hostname; readlink /proc/self/ns/uts", hostname="web-1")
    assert code == 0
    name, ns = out.splitlines()
    assert name == "web-1" and ns != os.readlink("/proc/self/ns/uts")


def test_uts_host_with_a_hostname_is_refused_as_docker_does(engine, busybox_image, unique_id):
    with pytest.raises(InvalidSpec, match="conflicting options: hostname and the UTS mode"):
        engine.container_create(ContainerSpec(name=f"ut{unique_id}", image=busybox_image, command=["true"],
                                              network_mode="none", uts_mode="host", hostname="x"))
    assert engine.container_list(all=True) == []


def test_cgroup_namespace_private_by_default_and_host_on_request(engine, probe):
    code, private = probe("cat /proc/self/cgroup; readlink /proc/self/ns/cgroup")
    assert code == 0
    *lines, ns = private.splitlines()
    assert ns != os.readlink("/proc/self/ns/cgroup")
    assert all(line.endswith(":/") for line in lines if ":memory:" in line or line.startswith("0::"))

    code, host = probe("cat /proc/self/cgroup; readlink /proc/self/ns/cgroup", cgroupns_mode="host")
    assert code == 0
    *lines, ns = host.splitlines()
    assert ns == os.readlink("/proc/self/ns/cgroup")
    memory = next(line for line in lines if ":memory:" in line)
    # the full host path: the root's parent cgroup, then the container's id
    assert memory.split(":", 2)[2].startswith(f"/{naming.cgroup_parent(engine.root)}/")
    assert len(memory.split("/")[-1]) == 64


def test_cgroup_parent_made_used_and_removed_with_its_last_container(engine, busybox_image, unique_id):
    parent = f"hoist-test-cp{unique_id}/apps"
    top = MEMORY / f"hoist-test-cp{unique_id}"
    assert not top.exists()
    names = [f"cp{unique_id}a", f"cp{unique_id}b"]
    for name in names:
        engine.container_create(ContainerSpec(name=name, image=busybox_image, command=["sleep", "1000"],
                                              network_mode="none", cgroup_parent=parent, stop_grace_period=0.2,
                                              resources=_mem(64)))
        engine.container_start(name)
    try:
        first = engine.container_inspect(names[0])
        leaf = MEMORY / parent / first.id
        assert str(first.pid) in (leaf / "cgroup.procs").read_text().split()
        assert (leaf / "memory.limit_in_bytes").read_text().strip() == str(64 * 1024 * 1024)
        assert cgroup_parents.made_by_hoist(top) and cgroup_parents.made_by_hoist(MEMORY / parent)
        # pause and top find the container in its parent too
        engine.container_pause(names[0])
        assert engine.container_inspect(names[0]).status == "paused"
        engine.container_unpause(names[0])
        assert [row for row in engine.container_top(names[0])]

        engine.container_remove(names[0], force=True)
        assert not leaf.exists() and (MEMORY / parent).is_dir()  # the other container still lives there
    finally:
        for name in names:
            try:
                engine.container_remove(name, force=True)
            except Exception:  # noqa: BLE001
                pass
    assert not top.exists(), "the parent hoist made goes with its last container"
    assert not cgroup_parents.made_by_hoist(top)


def test_a_cgroup_parent_the_user_made_stays(engine, busybox_image, unique_id):
    top = MEMORY / f"hoist-test-cu{unique_id}"
    top.mkdir()
    try:
        name = f"cu{unique_id}"
        engine.container_create(ContainerSpec(name=name, image=busybox_image, command=["cat", "/proc/self/cgroup"],
                                              network_mode="none", cgroup_parent="/" + top.name + "/",
                                              cgroupns_mode="host"))
        engine.container_start(name)
        assert engine.container_wait(name, timeout=30) == 0
        state = engine.container_inspect(name)
        memory = next(line for line in output(engine, name).splitlines() if ":memory:" in line)
        assert memory.split(":", 2)[2] == f"/{top.name}/{state.id}"
        engine.container_remove(name)
        assert top.is_dir() and not (top / state.id).exists()
    finally:
        top.rmdir()


@pytest.mark.parametrize("parent", ["../escape", "a/../../b", "/", "x/cgroup.procs"])
def test_a_cgroup_parent_outside_the_hierarchy_is_refused(engine, busybox_image, unique_id, parent):
    with pytest.raises(InvalidSpec, match="invalid cgroup_parent"):
        engine.container_create(ContainerSpec(name=f"cx{unique_id}", image=busybox_image, command=["true"],
                                              network_mode="none", cgroup_parent=parent))


def _mem(mib: int):
    from runtime.api import Resources

    return Resources(memory=mib * 1024 * 1024)
