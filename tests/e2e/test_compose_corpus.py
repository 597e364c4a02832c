"""Scenarios of docker compose's own e2e suite (../shared/corpus/compose-e2e), their compose files run as
written except that the alpine image is the busybox test image and `sleep infinity` a long sleep."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Hoist


@pytest.fixture
def corpus(hoist_root: Path, busybox_image: str, project_name: str, tmp_path: Path, shared_dir: Path):  # type: ignore[no-untyped-def]
    made: list[Hoist] = []

    def load(name: str) -> Hoist:
        text = (shared_dir / "corpus" / "compose-e2e" / name / "compose.yaml").read_text()
        text = text.replace("image: alpine", f"image: {busybox_image}").replace("sleep infinity", "sleep 1000")
        h = Hoist(hoist_root, tmp_path, project_name)
        h.write(text)
        made.append(h)
        return h

    yield load
    for h in made:
        h("down", "-t", "1", "--remove-orphans", check=False)


def test_cascade_stop_exits_0_and_stops_the_rest(corpus) -> None:  # type: ignore[no-untyped-def]
    h = corpus("TestCascadeStop")
    r = h("up", "--abort-on-container-exit", check=False)
    assert r.rc == 0, r.err
    assert "Aborting on container exit..." in r.out and "exit-1 exited with code 0" in r.out
    assert h.states()[f"{h.project}-running-1"] == "exited"


def test_cascade_fail_propagates_the_failing_exit_code(corpus) -> None:  # type: ignore[no-untyped-def]
    h = corpus("TestCascadeFail")
    r = h("up", "--abort-on-container-failure", check=False)
    assert r.rc == 111, r.err
    assert "fail-1 exited with code 111" in r.out
    assert h.states()[f"{h.project}-running-1"] == "exited"


def test_init_container_runs_to_completion_first(corpus) -> None:  # type: ignore[no-untyped-def]
    h = corpus("TestInitContainer")
    r = h("--ansi", "never", "up", "--menu=false", check=False)
    assert r.rc == 0, r.err
    assert r.out.index("foo-1 | hello") < r.out.index("bar-1 | world")


def test_pause_semantics(corpus) -> None:  # type: ignore[no-untyped-def]
    h = corpus("TestPause")
    assert h("pause", "a").rc == 0  # no container yet: a no-op, as compose
    h("up", "-d")
    ids = {c["Name"]: c["ID"] for c in h.ps()}
    h("pause", "a")
    states = h.states()
    assert states[f"{h.project}-a-1"] == "paused" and states[f"{h.project}-b-1"] == "running"
    again = h("pause", "a", check=False)
    assert again.rc == 1 and "already paused" in again.err
    assert h("pause", "does_not_exist", check=False).rc == 1
    h("unpause", "a")
    assert h.states()[f"{h.project}-a-1"] == "running"
    assert {c["Name"]: c["ID"] for c in h.ps()} == ids  # resumed in place, nothing recreated
