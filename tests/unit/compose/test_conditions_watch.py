"""compose.conditions waits on the engine's container_watch between looks (woken by a change, at most
RECHECK_INTERVAL apart), never in a fixed sleep, and sets the watch up before the look it guards."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

import pytest

from compose import conditions
from compose import labels as L
from compose.scheduler import SERVICE_HEALTHY, ConditionFailed
from runtime.api import ContainerSpec
from tests.support.fake_engine import FakeEngine


class ScriptedWatch:
    """A watch whose every wait() is one scripted change of the engine's state (and reports it)."""

    def __init__(self, engine: WatchingEngine, ids: Sequence[str]) -> None:
        self.engine, self.ids = engine, list(ids)

    def wait(self, timeout: float) -> bool:
        self.engine.waits.append(timeout)
        change = self.engine.script.pop(0)
        change()
        return True

    def __enter__(self) -> ScriptedWatch:
        self.engine.events.append("watch")
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.events.append("unwatch")


class WatchingEngine(FakeEngine):
    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.events: list[str] = []
        self.script: list = []  # type: ignore[type-arg]
        self.watched: list[list[str]] = []

    def container_watch(self, ids: Sequence[str]) -> ScriptedWatch:  # type: ignore[override]
        self.watched.append(list(ids))
        return ScriptedWatch(self, ids)

    def container_list(self, **kw):  # type: ignore[no-untyped-def, override]
        self.events.append("look")
        return super().container_list(**kw)

    def container_inspect(self, ref: str):  # type: ignore[no-untyped-def, override]
        self.events.append("inspect")
        return super().container_inspect(ref)


def _db(engine: WatchingEngine) -> str:
    engine.add_image("busybox")
    # No healthcheck in the spec: the fake engine would script the health itself; here each wake-up does.
    spec = ContainerSpec(name="p-db-1", image="busybox",
                         labels={L.PROJECT: "p", L.SERVICE: "db", L.ONEOFF: L.FALSE, L.CONTAINER_NUMBER: "1"})
    c = engine.container_create(spec)
    engine._set(replace(c, status="running", health="starting", pid=7))
    return c.id


def test_healthy_is_noticed_on_the_watchs_wake_up_not_after_a_sleep() -> None:
    engine = WatchingEngine()
    cid = _db(engine)
    engine.script = [lambda: None,  # woken by some other change: still starting
                     lambda: engine._set(replace(engine._find(cid), health="healthy"))]
    ready: list[str] = []
    wait = conditions.make_waiter(engine, "p", on_ready=lambda name, cond: ready.append(name))
    wait("db", SERVICE_HEALTHY, threading.Event())
    assert ready == ["p-db-1"]
    assert engine.waits == [conditions.RECHECK_INTERVAL] * 2
    assert engine.watched == [[cid]]
    # the watch exists before the look it guards, and is released at the end
    assert engine.events[engine.events.index("watch") + 1] == "look" and engine.events[-1] == "unwatch"


def test_unhealthy_fails_at_once_with_the_reason() -> None:
    engine = WatchingEngine()
    cid = _db(engine)
    engine.script = [lambda: engine._set(replace(engine._find(cid), health="unhealthy"))]
    with pytest.raises(ConditionFailed, match="is unhealthy"):
        conditions.make_waiter(engine, "p")("db", SERVICE_HEALTHY, threading.Event())
    assert len(engine.waits) == 1


def test_wait_ready_waits_on_the_watch_too() -> None:
    engine = WatchingEngine()
    cid = _db(engine)
    engine.script = [lambda: engine._set(replace(engine._find(cid), health="healthy"))]
    failures = conditions.wait_ready(engine, [engine._find(cid)], oneshot=set(), timeout=None)
    assert failures == {} and engine.waits == [conditions.RECHECK_INTERVAL]


def test_a_wake_reads_the_watched_containers_by_id() -> None:
    engine = WatchingEngine()
    cid = _db(engine)
    engine.script = [lambda: engine._set(replace(engine._find(cid), health="healthy"))]
    conditions.make_waiter(engine, "p")("db", SERVICE_HEALTHY, threading.Event())
    # listed before watching and once after (the look the watch guards); the wake-up reads db by id
    assert engine.events == ["look", "watch", "look", "inspect", "unwatch"]


def test_a_container_replaced_meanwhile_is_found_by_listing_again() -> None:
    engine = WatchingEngine()
    cid = _db(engine)

    def replaced() -> None:  # another `up` recreated db: the watched id is gone, its successor is healthy
        old = engine._find(cid)
        assert old.spec is not None
        engine.container_remove(cid, force=True)
        new = engine.container_create(replace(old.spec, name="p-db-2"))
        engine._set(replace(new, status="running", health="healthy", pid=8))

    engine.script = [replaced]
    ready: list[str] = []
    conditions.make_waiter(engine, "p", on_ready=lambda name, cond: ready.append(name))(
        "db", SERVICE_HEALTHY, threading.Event())
    assert ready == ["p-db-2"]
    assert engine.events[-3:] == ["inspect", "look", "unwatch"]  # NotFound by id, then listed again
