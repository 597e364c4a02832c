"""``container inspect``'s docker shape: HostConfig carries the namespace, cgroup and annotation settings."""

from __future__ import annotations

import socket

from compose.cli.inspect_format import container_to_docker
from runtime.api import ContainerSpec, ContainerState, Resources


def _state(spec: ContainerSpec) -> ContainerState:
    return ContainerState(id="a" * 64, name=spec.name, image="busybox", image_id="sha256:" + "b" * 64, labels={},
                          status="created", created="2026-11-28T00:00:00Z", spec=spec)


def test_host_config_shows_modes_cgroup_settings_and_annotations() -> None:
    spec = ContainerSpec(name="web", image="busybox", uts_mode="host", cgroupns_mode="host", cgroup_parent="apps",
                         device_cgroup_rules=["c 10:237 rwm"], annotations={"k": "v"},
                         resources=Resources(mem_swappiness=5, oom_kill_disable=True))
    out = container_to_docker(_state(spec))
    host = out["HostConfig"]
    assert (host["UTSMode"], host["CgroupnsMode"], host["CgroupParent"]) == ("host", "host", "apps")
    assert (host["MemorySwappiness"], host["OomKillDisable"]) == (5, True)
    assert host["DeviceCgroupRules"] == ["c 10:237 rwm"] and host["Annotations"] == {"k": "v"}
    assert out["Config"]["Hostname"] == socket.gethostname()  # the host's UTS namespace: the host's name


def test_defaults_are_dockers() -> None:
    out = container_to_docker(_state(ContainerSpec(name="web", image="busybox")))
    host = out["HostConfig"]
    assert (host["UTSMode"], host["CgroupnsMode"], host["CgroupParent"], host["IpcMode"]) == ("", "private", "", "private")
    assert host["Annotations"] is None and host["DeviceCgroupRules"] is None and host["MemorySwappiness"] is None
    assert out["Config"]["Hostname"] == "a" * 12
