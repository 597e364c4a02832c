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


class _Cgroups:
    """prime_attach as the supervisor sees it: a started priming (or an error), counted."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error, self.primed, self.joined = error, 0, 0

    def prime_attach(self) -> object:
        if self.error is not None:
            raise self.error
        self.primed += 1
        cgroups = self

        class Priming:
            def join(self) -> None:
                cgroups.joined += 1

        return Priming()


def _supervisor(cgroups: _Cgroups):  # type: ignore[no-untyped-def]
    from runtime.supervisor import Supervisor

    sup = object.__new__(Supervisor)  # only the probe priming's state: no plan, no container directory
    sup.cgroups, sup.probe_priming, sup.probe_primed = cgroups, None, False  # type: ignore[assignment]
    return sup


def test_probe_priming_once_per_probe_and_joined_before_it():
    cgroups = _Cgroups()
    sup = _supervisor(cgroups)
    sup._prime_probe()
    sup._prime_probe()  # the loop wakes again before the probe is due: no second priming
    assert (cgroups.primed, cgroups.joined) == (1, 0)
    sup._join_probe_priming()  # as _start_probe does before forking the helper
    assert (cgroups.primed, cgroups.joined, sup.probe_primed) == (1, 1, False)
    sup._prime_probe()  # the next probe primes again
    assert cgroups.primed == 2


def test_probe_priming_without_a_thread_is_skipped_not_retried():
    cgroups = _Cgroups(RuntimeError("can't start new thread"))
    sup = _supervisor(cgroups)
    sup._prime_probe()
    assert sup.probe_primed and sup.probe_priming is None  # the loop then sleeps until the probe is due
    sup._join_probe_priming()
    assert not sup.probe_primed


def test_a_probe_reaped_before_its_output_was_read_still_records_it(tmp_path):
    import os
    import selectors

    from runtime.containers.status import RunStatus
    from runtime.supervisor import _Probe

    def check(close_writer: bool) -> str:
        sup = _supervisor(_Cgroups())
        sup.dir, sup.status, sup.sel = tmp_path, RunStatus(), selectors.DefaultSelector()  # type: ignore[assignment]
        sup.health = HealthState(HealthPlan(test=["CMD", "x"]), started_at=0.0)
        r, w = os.pipe2(os.O_NONBLOCK)
        os.write(w, b"fine\n")
        if close_writer:
            os.close(w)  # the command and the helper are gone
        sup.sel.register(r, selectors.EVENT_READ, "probe")
        # The loop reaped the helper in the round the output arrived, before reading the pipe.
        sup.probe = _Probe(helper=1, command=2, fd=r, started=0.0, started_iso="s", deadline=1e9, exit_code=0)
        sup._check_probe(now=0.0)
        if not close_writer:
            os.close(w)  # a child the command left behind held it: not waited for
        assert sup.probe is None and not sup.sel.get_map()  # the pipe is closed either way
        return sup.health.log[-1]["Output"]  # type: ignore[return-value]

    assert check(close_writer=True) == "fine\n"
    assert check(close_writer=False) == "fine\n"
