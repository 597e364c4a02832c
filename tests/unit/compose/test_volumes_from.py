"""``volumes_from`` (compose/volumesfrom.py) through the orchestrator on the in-memory engine: the consumer
mounts its sources' binds, named and anonymous volumes at the same places (the image's VOLUMEs: see
tests/e2e/test_volumes_from.py), ``:ro`` makes
them read-only, its own mounts win, tmpfs stays the source's, and a missing source is a clear error."""

from __future__ import annotations

from compose.errors import OperationError
from compose.model import project_from_document
from compose.orchestrator import Orchestrator, UpOptions
from compose.scheduler import Outcome
from runtime.api import Mount
from tests.support.fake_engine import FakeEngine


def up(services: dict, *, ok: bool = True) -> tuple[FakeEngine, Outcome]:  # type: ignore[type-arg]
    project = project_from_document({"name": "p", "services": services,
                                     "volumes": {"data": {}}}, working_dir="/w")
    engine = FakeEngine()
    engine.add_image("busybox")
    outcome = Orchestrator(engine, "p", project).up(UpOptions()).outcome
    assert outcome.ok == ok, outcome
    return engine, outcome


def mounts(engine: FakeEngine, name: str) -> dict[str, Mount]:
    spec = engine.container_inspect(name).spec
    assert spec is not None
    return {m.target: m for m in spec.mounts}


def bind(source: str, target: str, **more: object) -> dict[str, object]:
    return {"type": "bind", "source": source, "target": target, **more}


def volume(target: str, source: str = "", **more: object) -> dict[str, object]:
    return {"type": "volume", "target": target, **({"source": source} if source else {}), **more}


APP = {"image": "busybox", "volumes": [bind("/host/src", "/src"), volume("/data", "data"), volume("/cache"),
                                  {"type": "tmpfs", "target": "/tmp"}]}


def test_the_consumer_mounts_every_mount_point_of_the_sources_first_container() -> None:
    engine, _ = up({"app": APP, "web": {"image": "busybox", "volumes_from": ["app"]}})
    source, got = mounts(engine, "p-app-1"), mounts(engine, "p-web-1")
    assert set(got) == {"/src", "/data", "/cache"}  # tmpfs is the source's own
    assert (got["/src"].type, got["/src"].source) == ("bind", source["/src"].source)
    assert (got["/data"].type, got["/data"].source) == ("volume", "p_data")
    anonymous = engine.container_anonymous_volumes("p-app-1")
    assert got["/cache"].source == anonymous["/cache"]
    # Shared, not owned: the consumer's `rm -v` must not take the source's anonymous volumes.
    assert not any(m.anonymous for m in got.values())
    assert all(m.nocopy for m in got.values() if m.type == "volume")
    assert not any(m.read_only for m in got.values())


def test_ro_makes_them_read_only_and_the_consumers_own_mounts_win() -> None:
    engine, _ = up({"app": APP, "web": {"image": "busybox", "volumes_from": ["app:ro"],
                                     "volumes": [bind("/elsewhere", "/data")]}})
    got = mounts(engine, "p-web-1")
    assert got["/data"].type == "bind" and got["/data"].source == "/elsewhere" and not got["/data"].read_only
    assert all(m.read_only for target, m in got.items() if target != "/data")


def test_rw_keeps_a_read_only_source_mount_read_only_and_container_form_names_a_container() -> None:
    engine, _ = up({"app": {"image": "busybox", "volumes": [bind("/host/conf", "/conf", read_only=True),
                                                    volume("/data", "data")]},
                 "web": {"image": "busybox", "volumes_from": ["container:p-app-1:rw"],
                         "depends_on": {"app": {"condition": "service_started", "required": True}}}})
    got = mounts(engine, "p-web-1")
    assert got["/conf"].read_only and not got["/data"].read_only


def test_a_missing_source_container_is_a_clear_error() -> None:
    _, outcome = up({"web": {"image": "busybox", "volumes_from": ["container:gone-1"]}}, ok=False)
    error = outcome.failed["web"]
    assert isinstance(error, OperationError)
    assert str(error).startswith('service "web" takes volumes from container "gone-1", which does not exist')
    assert "--no-deps" in str(error)  # the hint: how it comes to be missing
