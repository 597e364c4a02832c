"""The dependency-aware executor: ordering, conditions, parallel limit, skips, reverse order."""

from __future__ import annotations

import threading
import time

import pytest

from compose.scheduler import ConditionFailed, Dependency, Scheduler, Task


def _recording(order: list[str], lock: threading.Lock, name: str, delay: float = 0.0):
    def run() -> None:
        if delay:
            time.sleep(delay)
        with lock:
            order.append(name)
    return run


def test_dependencies_run_first_and_independent_tasks_run_concurrently() -> None:
    order: list[str] = []
    lock = threading.Lock()
    running = []
    peak = [0]

    def slow(name: str):
        def run() -> None:
            with lock:
                running.append(name)
                peak[0] = max(peak[0], len(running))
            time.sleep(0.1)
            with lock:
                running.remove(name)
                order.append(name)
        return run

    tasks = {
        "db": Task("db", slow("db")),
        "cache": Task("cache", slow("cache")),
        "web": Task("web", slow("web"), [Dependency("db"), Dependency("cache")]),
    }
    outcome = Scheduler(tasks).run()
    assert outcome.ok
    assert order[-1] == "web"
    assert peak[0] == 2  # db and cache overlapped


def test_parallel_limit_is_respected() -> None:
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def work() -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    tasks = {f"s{i}": Task(f"s{i}", work) for i in range(6)}
    assert Scheduler(tasks, parallel=2).run().ok
    assert peak[0] == 2


def test_failed_dependency_skips_dependents_with_reason_and_others_go_on() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def boom() -> None:
        raise RuntimeError("image not found")

    tasks = {
        "db": Task("db", boom),
        "web": Task("web", _recording(order, lock, "web"), [Dependency("db")]),
        "proxy": Task("proxy", _recording(order, lock, "proxy"), [Dependency("web")]),
        "other": Task("other", _recording(order, lock, "other")),
    }
    outcome = Scheduler(tasks).run()
    assert "db" in outcome.failed
    assert 'dependency "db" of "web" failed: image not found' == outcome.skipped["web"]
    assert "proxy" in outcome.skipped
    assert order == ["other"]


def test_optional_dependency_failure_only_warns() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def boom() -> None:
        raise RuntimeError("nope")

    tasks = {
        "db": Task("db", boom),
        "web": Task("web", _recording(order, lock, "web"), [Dependency("db", required=False)]),
    }
    outcome = Scheduler(tasks).run()
    assert order == ["web"]
    assert any('optional dependency "db"' in w for w in outcome.warnings)


def test_condition_waiter_gates_start_and_failure_skips() -> None:
    order: list[str] = []
    lock = threading.Lock()
    seen: list[tuple[str, str]] = []

    def waiter(dep: str, condition: str, cancel: threading.Event) -> None:
        seen.append((dep, condition))
        if dep == "bad":
            raise ConditionFailed("container p-bad-1 is unhealthy (last health check exited 1: refused)")

    tasks = {
        "db": Task("db", _recording(order, lock, "db")),
        "bad": Task("bad", _recording(order, lock, "bad")),
        "web": Task("web", _recording(order, lock, "web"), [Dependency("db", "service_healthy")]),
        "api": Task("api", _recording(order, lock, "api"), [Dependency("bad", "service_healthy")]),
    }
    outcome = Scheduler(tasks, wait_condition=waiter).run()
    assert ("db", "service_healthy") in seen
    assert "web" in order and "api" not in order
    assert "unhealthy" in outcome.skipped["api"] and "refused" in outcome.skipped["api"]


def test_reverse_mode_runs_dependents_first_even_after_failures() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def web() -> None:
        with lock:
            order.append("web")
        raise RuntimeError("stop failed")

    tasks = {
        "db": Task("db", _recording(order, lock, "db")),
        "web": Task("web", web, [Dependency("db")]),
        "proxy": Task("proxy", _recording(order, lock, "proxy"), [Dependency("web")]),
    }
    outcome = Scheduler(tasks, reverse=True).run()
    assert order == ["proxy", "web", "db"]
    assert "web" in outcome.failed and "db" in outcome.done


def test_cancel_skips_pending_tasks() -> None:
    gate = threading.Event()
    sched: Scheduler

    def first() -> None:
        sched.cancel()
        gate.set()

    tasks = {"a": Task("a", first), "b": Task("b", lambda: None, [Dependency("a")])}
    sched = Scheduler(tasks)
    outcome = sched.run()
    assert gate.is_set()
    assert outcome.skipped == {"b": "cancelled"}


@pytest.mark.parametrize("parallel", [1, -1])
def test_chain_order(parallel: int) -> None:
    order: list[str] = []
    lock = threading.Lock()
    names = [f"s{i}" for i in range(5)]
    tasks = {n: Task(n, _recording(order, lock, n), [Dependency(names[i - 1])] if i else [])
             for i, n in enumerate(names)}
    assert Scheduler(tasks, parallel=parallel).run().ok
    assert order == names
