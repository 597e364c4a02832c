"""The orchestrator over a fake engine: up ordering under each condition, failures, convergence, scale,
orphans, down ordering and what it leaves."""

from __future__ import annotations

import threading

import pytest

from compose import labels as L
from compose.events import DONE, ERROR, Recorder
from compose.model import project_from_document
from compose.orchestrator import Orchestrator, UpOptions
from tests.support.fake_engine import FakeEngine

HC = {"test": ["CMD", "true"], "interval": "1s"}


def setup(services: dict, **top) -> tuple[FakeEngine, Orchestrator, Recorder]:  # type: ignore[type-arg]
    p = project_from_document({"name": "p", "services": services, **top}, working_dir="/w")
    engine = FakeEngine()
    engine.add_image("busybox")
    rec = Recorder()
    return engine, Orchestrator(engine, "p", p, sink=rec), rec


def starts(engine: FakeEngine) -> list[str]:
    return [ref for op, ref in engine.calls if op == "start"]


def test_service_healthy_waits_for_health() -> None:
    engine, orch, rec = setup({"db": {"image": "busybox", "healthcheck": HC},
                               "web": {"image": "busybox",
                                       "depends_on": {"db": {"condition": "service_healthy"}}}})
    engine.healthy_after["p-db-1"] = 0.2
    result = orch.up(UpOptions())
    assert result.outcome.ok
    assert starts(engine) == ["p-db-1", "p-web-1"]
    texts = [(e.id, e.text) for e in rec.events]
    assert texts.index(("Container p-db-1", "Healthy")) < texts.index(("Container p-web-1", "Starting"))
    # As compose: every container is created first, then started in order.
    assert texts.index(("Container p-web-1", "Created")) < texts.index(("Container p-db-1", "Starting"))


def test_service_completed_successfully_and_failure() -> None:
    engine, orch, _ = setup({"init": {"image": "busybox"},
                             "web": {"image": "busybox",
                                     "depends_on": {"init": {"condition": "service_completed_successfully"}}}})
    engine.exit_on_start["p-init-1"] = 0
    assert orch.up(UpOptions()).outcome.ok
    assert starts(engine) == ["p-init-1", "p-web-1"]

    engine, orch, rec = setup({"init": {"image": "busybox"},
                               "web": {"image": "busybox",
                                       "depends_on": {"init": {"condition": "service_completed_successfully"}}}})
    engine.exit_on_start["p-init-1"] = 3
    outcome = orch.up(UpOptions()).outcome
    assert "web" in outcome.skipped
    assert "didn't complete successfully: exit 3" in outcome.skipped["web"]
    assert ("start", "p-web-1") not in engine.calls  # created (as compose does) but never started
    assert engine.container_inspect("p-web-1").status == "created"
    assert any(e.status == ERROR and e.id == "Service web" for e in rec.events)


def test_never_healthy_dependency_blocks_dependents_with_last_output() -> None:
    engine, orch, _ = setup({"db": {"image": "busybox", "healthcheck": HC},
                             "web": {"image": "busybox", "depends_on": {"db": {"condition": "service_healthy"}}},
                             "proxy": {"image": "busybox", "depends_on": {"web": {"condition": "service_started"}}},
                             "lone": {"image": "busybox"}})
    engine.healthy_after["p-db-1"] = None
    outcome = orch.up(UpOptions()).outcome
    assert "container p-db-1 is unhealthy" in outcome.skipped["web"]
    assert "connection refused" in outcome.skipped["web"]
    assert 'dependency "web"' in outcome.skipped["proxy"]
    assert set(starts(engine)) == {"p-db-1", "p-lone-1"}


def test_healthy_condition_without_healthcheck_fails_clearly() -> None:
    engine, orch, _ = setup({"db": {"image": "busybox"},
                             "web": {"image": "busybox", "depends_on": {"db": {"condition": "service_healthy"}}}})
    outcome = orch.up(UpOptions()).outcome
    assert outcome.skipped["web"] == "container p-db-1 has no healthcheck configured"


def test_optional_dependency_that_fails_only_warns() -> None:
    engine, orch, _ = setup({"db": {"image": "busybox"},
                             "web": {"image": "busybox",
                                     "depends_on": {"db": {"condition": "service_completed_successfully",
                                                           "required": False}}}})
    engine.exit_on_start["p-db-1"] = 1
    outcome = orch.up(UpOptions()).outcome
    assert "p-web-1" in starts(engine)
    assert any("optional dependency" in w for w in outcome.warnings)


def test_second_up_is_noop_and_change_recreates_only_that_service() -> None:
    services = {"db": {"image": "busybox"}, "web": {"image": "busybox", "command": ["a"]}}
    engine, orch, _ = setup(services)
    orch.up(UpOptions())
    again = orch.up(UpOptions())
    assert not again.changed
    changed = project_from_document({"name": "p", "services": {**services, "web": {"image": "busybox",
                                                                                   "command": ["b"]}}},
                                    working_dir="/w")
    engine.calls.clear()
    result = Orchestrator(engine, "p", changed).up(UpOptions())
    assert [(a.kind, a.service) for sp in result.plan.services.values() for a in sp.actions] == \
        [("noop", "db"), ("recreate", "web")]
    assert ("create", "p-web-1") in engine.calls and ("create", "p-db-1") not in engine.calls


def test_scale_up_and_down_and_orphans() -> None:
    engine, orch, rec = setup({"web": {"image": "busybox"}, "old": {"image": "busybox"}})
    orch.up(UpOptions())
    orch.up(UpOptions(scale={"web": 3}))
    names = sorted(c.name for c in orch.containers(services=["web"]))
    assert names == ["p-web-1", "p-web-2", "p-web-3"]
    orch.up(UpOptions(scale={"web": 1}))
    assert [c.name for c in orch.containers(services=["web"])] == ["p-web-1"]
    # "old" left the compose file: an orphan, warned about, removed only with --remove-orphans.
    smaller = project_from_document({"name": "p", "services": {"web": {"image": "busybox"}}}, working_dir="/w")
    orch2 = Orchestrator(engine, "p", smaller, sink=rec)
    orch2.up(UpOptions())
    assert any("orphan containers (p-old-1)" in e.details for e in rec.events)
    assert engine.containers and any(c.name == "p-old-1" for c in engine.containers.values())
    orch2.up(UpOptions(remove_orphans=True))
    assert not any(c.name == "p-old-1" for c in engine.containers.values())


def test_down_reverse_order_networks_and_volumes() -> None:
    engine, orch, _ = setup({"db": {"image": "busybox",
                                    "volumes": [{"type": "volume", "source": "data", "target": "/d"}]},
                             "web": {"image": "busybox", "depends_on": {"db": {"condition": "service_started"}}}},
                            volumes={"data": {}})
    orch.up(UpOptions())
    assert "p_data" in engine.volumes and "p_default" in engine.networks
    engine.calls.clear()
    # Without the compose file: labels alone drive the order.
    Orchestrator(engine, "p", None).down()
    stops = [ref for op, ref in engine.calls if op == "stop"]
    assert stops == ["p-web-1", "p-db-1"]
    assert not engine.containers and not engine.networks
    assert "p_data" in engine.volumes  # plain down keeps volumes
    orch.up(UpOptions())
    orch.down(volumes=True)
    assert not engine.volumes


def test_dependency_restart_true_restarts_dependent_on_recreate() -> None:
    base = {"db": {"image": "busybox", "command": ["1"]},
            "web": {"image": "busybox", "depends_on": {"db": {"condition": "service_started", "restart": True}}}}
    engine, orch, _ = setup(base)
    orch.up(UpOptions())
    engine.calls.clear()
    changed = project_from_document({"name": "p", "services": {**base, "db": {"image": "busybox",
                                                                              "command": ["2"]}}},
                                    working_dir="/w")
    Orchestrator(engine, "p", changed).up(UpOptions())
    assert ("restart", "p-web-1") in engine.calls
    assert engine.calls.index(("start", "p-db-1")) < engine.calls.index(("restart", "p-web-1"))


def test_concurrent_up_converges_without_duplicates() -> None:
    engine, orch, _ = setup({f"s{i}": {"image": "busybox"} for i in range(5)})
    p = orch.project
    results = []

    def go() -> None:
        results.append(Orchestrator(engine, "p", p).up(UpOptions()).outcome)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(engine.containers) == 5


def test_stop_start_kill_pause() -> None:
    engine, orch, rec = setup({"db": {"image": "busybox"},
                               "web": {"image": "busybox", "depends_on": {"db": {"condition": "service_started"}}}})
    orch.up(UpOptions())
    engine.calls.clear()
    orch.stop()
    assert [r for op, r in engine.calls if op == "stop"] == ["p-web-1", "p-db-1"]
    orch.start()
    assert starts(engine) == ["p-db-1", "p-web-1"]
    orch.pause(["web"])
    assert engine.container_inspect("p-web-1").status == "paused"
    orch.unpause()
    orch.kill(["db"])
    assert engine.container_inspect("p-db-1").exit_code == 137
    assert all(e.status in (DONE, "Working") for e in rec.events)


def test_unknown_service_is_a_usage_error() -> None:
    from compose.errors import UsageError

    _, orch, _ = setup({"web": {"image": "busybox"}})
    with pytest.raises(UsageError, match="no such service: nope"):
        orch.up(UpOptions(services=["nope"]))


def test_labels_on_everything() -> None:
    engine, orch, _ = setup({"web": {"image": "busybox"}})
    orch.up(UpOptions())
    (c,) = engine.containers.values()
    assert c.labels[L.PROJECT] == "p" and c.labels[L.VERSION]
    assert engine.networks["p_default"].labels == {L.PROJECT: "p", L.VERSION: c.labels[L.VERSION],
                                                   L.NETWORK: "default"}


def test_restart_of_a_dependency_restarts_restart_true_dependents_after_it() -> None:
    engine, orch, _ = setup({"db": {"image": "busybox"},
                             "web": {"image": "busybox",
                                     "depends_on": {"db": {"condition": "service_started", "restart": True}}},
                             "other": {"image": "busybox", "depends_on": {"db": {"condition": "service_started"}}}})
    orch.up(UpOptions())
    engine.calls.clear()
    orch.restart(["db"])
    restarted = [ref for op, ref in engine.calls if op == "restart"]
    assert restarted == ["p-db-1", "p-web-1"]


def test_force_recreate_is_for_the_named_services_and_always_recreate_deps_for_their_dependencies() -> None:
    engine, orch, _ = setup({"db": {"image": "busybox"},
                             "web": {"image": "busybox", "depends_on": {"db": {"condition": "service_started"}}}})
    assert orch.up(UpOptions()).outcome.ok

    def recreated(**opts: object) -> set[str]:
        _, plan = orch.plan_up(UpOptions(**opts))  # type: ignore[arg-type]
        return {name for name, p in plan.services.items() if p.of_kind("recreate")}

    # As compose: the dependency that comes with `web` is recreated only if it changed...
    assert recreated(services=["web"], force_recreate=True) == {"web"}
    # ...or when asked to; naming no service names them all.
    assert recreated(services=["web"], force_recreate=True, always_recreate_deps=True) == {"web", "db"}
    assert recreated(services=["web"], always_recreate_deps=True) == {"db"}
    assert recreated(force_recreate=True) == {"web", "db"}
    assert recreated(services=["web"], force_recreate=True, no_deps=True) == {"web"}
