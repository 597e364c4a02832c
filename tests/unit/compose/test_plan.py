"""The convergence plan: create / recreate / start / noop / scale-down / restart / orphans."""

from __future__ import annotations

from compose import labels as L
from compose.plan import Desired, Options, make_plan, plan_service
from runtime.api import ContainerState


def _c(service: str, number: int, *, hash_: str = "h1", status: str = "running", image_id: str = "img",
       project: str = "p") -> ContainerState:
    return ContainerState(id=f"{service}{number}".ljust(64, "0"), name=f"{project}-{service}-{number}", image="x",
                          image_id=image_id, status=status, created="2024-01-01T00:00:00Z",  # type: ignore[arg-type]
                          labels={L.PROJECT: project, L.SERVICE: service, L.CONTAINER_NUMBER: str(number),
                                  L.ONEOFF: "False", L.CONFIG_HASH: hash_})


def kinds(plan) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(a.kind, a.number) for a in plan.actions]


def test_missing_containers_are_created() -> None:
    assert kinds(plan_service(Desired("web", 2, "h1"), [], Options())) == [("create", 1), ("create", 2)]


def test_unchanged_running_is_noop_and_stopped_is_started() -> None:
    p = plan_service(Desired("web", 2, "h1"), [_c("web", 1), _c("web", 2, status="exited")], Options())
    assert kinds(p) == [("noop", 1), ("start", 2)]
    assert not plan_service(Desired("web", 1, "h1"), [_c("web", 1)], Options()).changes


def test_changed_hash_recreates_unless_no_recreate() -> None:
    p = plan_service(Desired("web", 1, "h2"), [_c("web", 1)], Options())
    assert kinds(p) == [("recreate", 1)]
    assert p.actions[0].reason == "configuration changed"
    assert kinds(plan_service(Desired("web", 1, "h2"), [_c("web", 1)], Options(no_recreate=True))) == [("noop", 1)]


def test_force_recreate_and_image_change() -> None:
    assert kinds(plan_service(Desired("web", 1, "h1"), [_c("web", 1)], Options(force_recreate=True))) == \
        [("recreate", 1)]
    p = plan_service(Desired("web", 1, "h1", image_id="new"), [_c("web", 1, image_id="old")], Options())
    assert p.actions[0].kind == "recreate" and p.actions[0].reason == "image changed"


def test_scale_up_numbers_after_the_highest_and_scale_down_removes_highest() -> None:
    up = plan_service(Desired("web", 3, "h1"), [_c("web", 1), _c("web", 4)], Options())
    assert kinds(up) == [("noop", 1), ("noop", 4), ("create", 5)]
    down = plan_service(Desired("web", 1, "h1"), [_c("web", 3), _c("web", 1), _c("web", 2)], Options())
    assert kinds(down) == [("scale-down", 3), ("scale-down", 2), ("noop", 1)]


def test_no_start_leaves_stopped_containers() -> None:
    p = plan_service(Desired("web", 1, "h1"), [_c("web", 1, status="created")], Options(start=False))
    assert kinds(p) == [("noop", 1)]


def test_orphans_exclude_known_services() -> None:
    observed = [_c("web", 1), _c("old", 1), _c("disabled", 1)]
    plan = make_plan({"web": Desired("web", 1, "h1")}, observed, Options(), known_services=["disabled"])
    assert [c.name for c in plan.orphans] == ["p-old-1"]


def test_restart_true_dependents_restart_when_dependency_recreated() -> None:
    desired = {"db": Desired("db", 1, "h2"), "web": Desired("web", 1, "h1", restart_on=("db",)),
               "other": Desired("other", 1, "h1")}
    plan = make_plan(desired, [_c("db", 1), _c("web", 1), _c("other", 1)], Options())
    assert kinds(plan.services["db"]) == [("recreate", 1)]
    assert kinds(plan.services["web"]) == [("restart", 1)]
    assert 'dependency "db"' in plan.services["web"].actions[0].reason
    assert kinds(plan.services["other"]) == [("noop", 1)]
    assert "restart p-web-1" in " ".join(plan.describe())
