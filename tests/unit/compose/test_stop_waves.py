"""`down` and `stop` send the stop signals of their first wave from one loop before any waiting starts
(Engine.container_stop_begin), and the reverse dependency order still holds for everything after it."""

from __future__ import annotations

import threading

from compose.events import Recorder
from compose.model import project_from_document
from compose.orchestrator import Orchestrator, UpOptions
from runtime.api import ContainerState
from tests.support.fake_engine import FakeEngine


class _TwoPhaseEngine(FakeEngine):
    """Records begun and finished stops in order, with the thread each ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()

    def container_stop_begin(self, ref: str, *, timeout: float | None = None) -> tuple[str, float | None]:
        with self.lock:
            self.order.append(("begin", self._find(ref).name, threading.current_thread().name))
        return super().container_stop_begin(ref, timeout=timeout)

    def container_stop(self, ref: str, *, timeout: float | None = None) -> ContainerState:
        with self.lock:
            self.order.append(("stop", self._find(ref).name, threading.current_thread().name))
        return super().container_stop(ref, timeout=timeout)


SERVICES = {
    "db": {"image": "busybox"},
    "web": {"image": "busybox", "depends_on": {"db": {"condition": "service_started", "required": True, "restart": False}}},
    "cache": {"image": "busybox"},
    "worker": {"image": "busybox", "scale": 2},
}


def _up(engine: FakeEngine) -> None:
    project = project_from_document({"name": "p", "services": SERVICES}, working_dir="/w")
    engine.add_image("busybox")
    assert Orchestrator(engine, "p", project).up(UpOptions()).outcome.ok


def _check_waves(engine: _TwoPhaseEngine) -> None:
    main = threading.main_thread().name
    first_stop = next(i for i, (op, _, _) in enumerate(engine.order) if op == "stop")
    # The first wave, all begun before any wait, from one loop: every container no other service depends
    # on; db waits for web, so it is not in it (its own thread begins it when its turn comes).
    assert sorted(name for _, name, _ in engine.order[:first_stop]) == [
        "p-cache-1", "p-web-1", "p-worker-1", "p-worker-2"]
    assert {(op, t) for op, _, t in engine.order[:first_stop]} == {("begin", main)}
    assert [t != main for op, name, t in engine.order if op == "begin" and name == "p-db-1"] == [True]
    stops = [name for op, name, _ in engine.order if op == "stop"]
    assert stops.index("p-db-1") > stops.index("p-web-1")  # reverse dependency order kept
    assert sorted(stops) == ["p-cache-1", "p-db-1", "p-web-1", "p-worker-1", "p-worker-2"]


def test_down_begins_the_first_wave_of_stops_in_one_loop() -> None:
    engine = _TwoPhaseEngine()
    _up(engine)
    rec = Recorder()
    assert Orchestrator(engine, "p", None, sink=rec).down(timeout=1.0).ok
    _check_waves(engine)
    assert not engine.containers
    # Each container says Stopping once and Stopped once, begun early or not.
    for name in ("p-web-1", "p-db-1"):
        texts = [e.text for e in rec.events if e.id == f"Container {name}"]
        assert texts.count("Stopping") == 1 and texts.count("Stopped") == 1, texts


def test_stop_begins_the_first_wave_too_and_a_parallel_limit_turns_it_off() -> None:
    engine = _TwoPhaseEngine()
    _up(engine)
    assert Orchestrator(engine, "p", None).stop().ok
    _check_waves(engine)
    limited = _TwoPhaseEngine()
    _up(limited)
    orchestrator = Orchestrator(limited, "p", None)
    orchestrator.parallel = 1  # --parallel 1: one engine operation at a time, none begun ahead
    assert orchestrator.stop().ok
    assert {t for op, _, t in limited.order if op == "begin"} & {threading.main_thread().name} == set()
