"""runtime.plain.as_plain: the same JSON as dataclasses.asdict for the records it serialises."""

from __future__ import annotations

import json
from dataclasses import asdict

from runtime.api import ContainerSpec, Healthcheck, Mount, PortBinding, Resources, RestartPolicy, Ulimit
from runtime.containers.plan import HealthPlan, LaunchPlan
from runtime.plain import as_plain


def _spec() -> ContainerSpec:
    return ContainerSpec(
        name="web", image="busybox:latest", command=["sh", "-c", "echo hi"], env={"A": "1", "B": "two"},
        labels={"com.docker.compose.service": "web"},
        mounts=[Mount(type="bind", target="/src", source="/tmp/src", read_only=True),
                Mount(type="tmpfs", target="/run", tmpfs_size=1 << 20, tmpfs_mode=0o1777)],
        ulimits=[Ulimit(name="nofile", soft=1024, hard=2048)],
        healthcheck=Healthcheck(test=["CMD", "true"], interval=1.5, retries=2),
        restart=RestartPolicy(name="on-failure", max_retries=3),
        resources=Resources(memory=1 << 26, cpus=0.5, device_read_bps=[("/dev/sda", 1000)]),
        ports=[PortBinding(container_port=80, host_port=8080)],
    )


def test_a_spec_serialises_as_asdict_does() -> None:
    spec = _spec()
    assert json.dumps(as_plain(spec)) == json.dumps(asdict(spec))


def test_a_launch_plan_serialises_as_asdict_does() -> None:
    plan = LaunchPlan(id="c1", name="c1", root="/r", container_dir="/r/c", lower_dirs=["/a", "/b"], args=["true"],
                      env=["A=1"], healthcheck=HealthPlan(test=["CMD-SHELL", "exit 0"]),
                      limits={"memory": 1 << 20, "cpus": 1.5})
    assert json.dumps(as_plain(plan)) == json.dumps(asdict(plan))


def test_leaves_are_not_copied_and_types_are_not_taken_for_instances() -> None:
    env = {"K": "V"}
    assert as_plain({"env": env, "nested": ({"x": 1},)}) == {"env": {"K": "V"}, "nested": [{"x": 1}]}
    assert as_plain(ContainerSpec) is ContainerSpec  # a dataclass *type* is a leaf, as asdict leaves it
