"""container_stats against the kernel: a busy busybox container's CPU, memory, PIDs; stopped and unknown ones."""

from __future__ import annotations

import time

import pytest

from runtime.api import ContainerSpec, ContainerStats, Resources
from runtime.errors import NotFound
from tests.integration.runtime.conftest import wait_for

MiB = 1024 * 1024
# ~8 MiB held in a shell variable, then a busy loop: memory and CPU to see.
BUSY = "x=$(head -c 8388608 /dev/zero | tr '\\0' a); touch /tmp/ready; while :; do :; done"


def _cpu_percent(first: ContainerStats, second: ContainerStats) -> float:
    system = second.system_cpu_usage - first.system_cpu_usage
    return (second.cpu_usage - first.cpu_usage) / system * second.online_cpus * 100 if system > 0 else 0.0


def test_stats_of_a_busy_container_then_stopped_then_unknown(engine, busybox_image, unique_id):
    spec = ContainerSpec(name=f"st{unique_id}", image=busybox_image, command=["sh", "-c", BUSY],
                         network_mode="none", resources=Resources(memory=64 * MiB), stop_grace_period=0.5)
    state = engine.container_create(spec)
    engine.container_start(spec.name)
    wait_for(lambda: engine.container_stats(spec.name).memory_usage > 8 * MiB, what="the shell's 8 MiB")
    first = engine.container_stats(spec.name)
    time.sleep(1)
    second = engine.container_stats(spec.name)
    assert second.id == state.id and second.name == spec.name and second.running
    assert second.pids >= 1
    assert second.memory_limit == 64 * MiB
    assert 8 * MiB < second.memory_usage <= second.memory_limit
    assert second.online_cpus >= 1 and second.system_cpu_usage > first.system_cpu_usage
    assert second.cpu_usage > first.cpu_usage
    assert _cpu_percent(first, second) > 50  # one CPU kept busy: about 100 %
    assert second.net_rx == second.net_tx == 0  # network_mode none: only lo, which does not count

    engine.container_stop(spec.name, timeout=0.5)
    assert engine.container_stats(spec.name) == ContainerStats(id=state.id, name=spec.name)
    with pytest.raises(NotFound):
        engine.container_stats(f"missing{unique_id}")


def test_stats_without_a_memory_limit_is_capped_at_the_hosts_memory(engine, busybox_image, unique_id):
    from pathlib import Path

    spec = ContainerSpec(name=f"sm{unique_id}", image=busybox_image, command=["sleep", "1000"],
                         network_mode="none", init=True)
    engine.container_create(spec)
    engine.container_start(spec.name)
    stats = engine.container_stats(spec.name)
    total = next(int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                 if line.startswith("MemTotal:"))
    assert stats.memory_limit == total
    assert stats.pids == 2  # the init and sleep
    assert 0 < stats.memory_usage < total
    engine.container_stop(spec.name, timeout=1)


def test_stats_count_the_bridge_interface_not_lo(engine, busybox_image, unique_id, subnet):
    from runtime.api import EndpointSpec, IPAMConfig, NetworkSpec

    net = f"n{unique_id}"
    engine.network_create(NetworkSpec(name=net, ipam=[IPAMConfig(subnet=str(subnet))]))
    name = f"sn{unique_id}"
    gateway = subnet.network_address + 1
    # Three pings of the gateway (98 bytes a frame each way) go through eth0. The three pings of 127.0.0.1
    # before them (588 bytes each way on lo) must not count.
    script = f"ping -c 3 127.0.0.1 >/dev/null; ping -c 3 -W 1 {gateway} >/dev/null; exec sleep 1000"
    try:
        engine.container_create(ContainerSpec(name=name, image=busybox_image, init=True,
                                              networks=[EndpointSpec(network=net)], command=["sh", "-c", script]))
        engine.container_start(name)
        wait_for(lambda: engine.container_stats(name).net_tx >= 3 * 98, timeout=15, what="the pings on eth0")
        wait_for(lambda: engine.container_stats(name).pids == 2, timeout=15, what="the pings' end")  # init, sleep
        stats = engine.container_stats(name)
        assert 3 * 98 <= stats.net_tx < 3 * 98 + 588  # an ARP request or two besides
        assert stats.net_rx >= 3 * 98  # the replies (and whatever the bridge sends its ports)
    finally:
        for s in engine.container_list(all=True):
            engine.container_remove(s.id, force=True)
        engine.network_remove(net)
