"""post_start / pre_stop hooks (compose/hooks.py) in the orchestrator, on the in-memory engine: when they run
against the start and the stop, and what a failing one does."""

from __future__ import annotations

from compose.errors import OperationError
from compose.events import Recorder
from compose.model import project_from_document
from compose.orchestrator import Orchestrator, UpOptions
from tests.support.fake_engine import FakeEngine

HOOKS = {"post_start": [{"command": ["sh", "-c", "echo started"]}],
         "pre_stop": [{"command": ["sh", "-c", "echo stopping"], "user": "root"}]}


def setup() -> tuple[FakeEngine, Orchestrator, Recorder]:
    p = project_from_document({"name": "p", "services": {"web": {"image": "busybox", **HOOKS},
                                                         "db": {"image": "busybox"}}}, working_dir="/w")
    engine = FakeEngine()
    engine.add_image("busybox")
    rec = Recorder()
    return engine, Orchestrator(engine, "p", p, sink=rec), rec


def ops(engine: FakeEngine, *kinds: str) -> list[tuple[str, str]]:
    return [(op, ref) for op, ref in engine.calls if op in kinds]


def test_post_start_runs_after_the_start_and_before_started_pre_stop_before_the_stop() -> None:
    engine, orch, rec = setup()
    assert orch.up(UpOptions()).outcome.ok
    calls = ops(engine, "start", "exec", "stop")
    assert [c for c in calls if c[1] == "p-web-1"] == [("start", "p-web-1"), ("exec", "p-web-1")]  # hook after start
    assert ("exec", "p-db-1") not in calls  # no hooks, no exec
    texts = [(e.id, e.text) for e in rec.events]
    assert texts.index(("Container p-web-1", "Started")) > texts.index(("Container p-web-1", "Starting"))

    engine.calls.clear()
    assert orch.stop().ok
    assert [c for c in ops(engine, "exec", "stop") if c[1] == "p-web-1"] == [("exec", "p-web-1"), ("stop", "p-web-1")]
    assert engine.container_inspect("p-web-1").status == "exited"


def test_a_failing_post_start_hook_fails_the_service_and_leaves_it_running() -> None:
    engine, orch, _ = setup()
    engine.exec_exit["p-web-1"] = 3
    outcome = orch.up(UpOptions()).outcome
    error = outcome.failed["web"]
    assert isinstance(error, OperationError) and str(error).startswith("web hook exited with status 3")
    assert engine.container_inspect("p-web-1").status == "running"  # as compose: not stopped for it
    assert "db" not in outcome.failed


def test_a_failing_pre_stop_hook_aborts_that_stop() -> None:
    engine, orch, _ = setup()
    assert orch.up(UpOptions()).outcome.ok
    engine.exec_exit["p-web-1"] = 1
    outcome = orch.stop()
    assert str(outcome.failed["web"]).startswith("web hook exited with status 1")
    assert engine.container_inspect("p-web-1").status == "running"
    assert engine.container_inspect("p-db-1").status == "exited"
