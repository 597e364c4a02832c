"""When the supervisor probes, against the kernel: Docker's timer exactly, never earlier (moby's health
monitor): the first probe one interval after the container's start, or one start_interval after it inside
the start period while starting; each next probe one interval after the previous one ended. The probes'
cgroup attach is prepared ahead of time (runtime.supervisor PROBE_PRIME_AHEAD): that must not move them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from runtime.api import ContainerSpec, Healthcheck
from tests.integration.runtime.conftest import wait_for

# Wall-clock stamps (StartedAt, each probe's Start and End) are compared: a probe run ahead of its time by
# the priming lead (15 ms) or more fails; the allowance is for the stamps' own microseconds.
EARLY = 0.001
# How late a probe may be on a loaded 2-core machine: bounds the check that the timer runs at all.
LATE = 0.5


def _seconds(rfc3339: str) -> float:
    from datetime import datetime

    whole, frac = rfc3339.rstrip("Z").split(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + frac)


@pytest.fixture
def spec(busybox_image: str, unique_id: str) -> ContainerSpec:
    return ContainerSpec(name=f"c{unique_id}", image=busybox_image, command=["sleep", "1000"], network_mode="none",
                         labels={"test.owner": unique_id})


def test_first_probe_one_interval_after_the_start_then_one_after_each_end(engine, spec):
    interval = 0.3
    engine.container_create(replace(spec, healthcheck=Healthcheck(test=["CMD-SHELL", "true"], interval=interval)))
    started = engine.container_start(spec.name)
    assert started.health == "starting"  # recorded with the start itself, before any probe
    state = wait_for(lambda: (s := engine.container_inspect(spec.name)).health_log[2:] and s, what="three probes")
    assert state.health == "healthy"
    log = state.health_log
    first = _seconds(log[0].start) - _seconds(state.started_at)
    assert interval - EARLY <= first < interval + LATE
    for before, after in zip(log, log[1:3], strict=False):
        gap = _seconds(after.start) - _seconds(before.end)
        assert interval - EARLY <= gap < interval + LATE


def test_start_interval_applies_while_starting_inside_the_start_period(engine, spec):
    hc = Healthcheck(test=["CMD-SHELL", "true"], interval=30, start_period=10, start_interval=0.2)
    engine.container_create(replace(spec, healthcheck=hc))
    engine.container_start(spec.name)
    state = wait_for(lambda: (s := engine.container_inspect(spec.name)).health == "healthy" and s, what="healthy")
    first = _seconds(state.health_log[0].start) - _seconds(state.started_at)
    assert 0.2 - EARLY <= first < 0.2 + LATE
