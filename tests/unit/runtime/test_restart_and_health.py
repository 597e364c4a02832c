"""moby's restart backoff and Docker's healthcheck state machine, on a fake clock."""

from __future__ import annotations

from runtime.containers.plan import HealthPlan
from runtime.containers.restart import RestartManager
from runtime.health import HealthState, probe_argv


def test_backoff_doubles_from_100ms_to_a_minute():
    rm = RestartManager("always")
    delays = [rm.should_restart(1, False, ran_for=0.5) for _ in range(12)]
    assert delays[:5] == [0.1, 0.2, 0.4, 0.8, 1.6]
    assert delays[-1] == 60.0 and max(delays) == 60.0
    assert rm.restart_count == 12


def test_backoff_resets_after_ten_seconds_of_uptime():
    rm = RestartManager("always")
    for _ in range(5):
        rm.should_restart(1, False, ran_for=1)
    assert rm.should_restart(1, False, ran_for=10.0) == 0.1


def test_policies():
    assert RestartManager("no").should_restart(1, False, 0) is None
    assert RestartManager("on-failure").should_restart(0, False, 0) is None
    assert RestartManager("on-failure").should_restart(2, False, 0) == 0.1
    assert RestartManager("unless-stopped").should_restart(0, False, 0) == 0.1
    for policy in ("always", "unless-stopped", "on-failure"):
        assert RestartManager(policy).should_restart(1, True, 0) is None  # a manual stop wins


def test_on_failure_max_retries():
    rm = RestartManager("on-failure", max_retries=2)
    assert [rm.should_restart(1, False, 0) is not None for _ in range(4)] == [True, True, False, False]


def _record(h: HealthState, at: float, code: int, output: str = "") -> None:
    h.record(at, at + 0.01, code, output, f"s{at}", f"e{at}")


def test_health_start_period_failures_do_not_count_but_success_does():
    h = HealthState(HealthPlan(test=["CMD", "x"], start_period=10, retries=2), started_at=0.0)
    for t in (1, 2, 3, 4):
        _record(h, t, 1)
    assert h.status == "starting" and h.failing_streak == 0
    _record(h, 5, 0)
    assert h.status == "healthy"
    _record(h, 6, 1)  # healthy now: the start period no longer shields failures
    assert h.failing_streak == 1 and h.status == "healthy"
    _record(h, 7, 1)
    assert h.status == "unhealthy"
    _record(h, 8, 0)
    assert h.status == "healthy" and h.failing_streak == 0


def test_health_keeps_five_results_and_caps_output():
    h = HealthState(HealthPlan(test=["CMD", "x"]), started_at=0.0)
    for t in range(8):
        _record(h, 100 + t, 0, "y" * 10000)
    assert len(h.log) == 5 and h.log[0]["Start"] == "s103"
    assert all(len(e["Output"]) == 4096 for e in h.log)  # type: ignore[arg-type]


def test_health_intervals_and_defaults():
    h = HealthState(HealthPlan(test=["CMD", "x"], interval=0, timeout=0, retries=0, start_period=30,
                               start_interval=2), started_at=0.0)
    assert (h.interval, h.timeout, h.retries) == (30.0, 30.0, 3)
    assert h.next_delay(now=1) == 2  # start interval inside the start period
    assert h.next_delay(now=31) == 30.0


def test_probe_forms():
    assert probe_argv(["CMD", "curl", "-f", "x"]) == ["curl", "-f", "x"]
    assert probe_argv(["CMD-SHELL", "curl -f x || exit 1"]) == ["/bin/sh", "-c", "curl -f x || exit 1"]
    assert probe_argv(["NONE"]) is None
