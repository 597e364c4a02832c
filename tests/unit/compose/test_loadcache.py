"""The load cache: a hit only when no input changed; never inside the project directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose import loadcache
from compose.project import LoadOptions, load_project


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("HOIST_NO_LOAD_CACHE", raising=False)
    return tmp_path / "cache"


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import compose.project as project

    calls: list[int] = []
    real = project.load_document

    def counting(options: LoadOptions) -> object:
        calls.append(1)
        return real(options)

    monkeypatch.setattr(project, "load_document", counting)
    return calls


def test_hit_and_invalidation(tmp_path: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "compose.yaml").write_text("services:\n  a:\n    image: x:${TAG}\n    env_file: [a.env]\n")
    (proj / "a.env").write_text("K=1\n")
    calls = _count_loads(monkeypatch)
    environ = {"TAG": "1"}

    def load() -> object:
        return load_project(LoadOptions(cwd=str(proj), environ=dict(environ)))

    first = load()
    assert load() == first and len(calls) == 1  # hit
    (proj / "a.env").write_text("K=2\n")
    assert load().services["a"].environment == {"K": "2"} and len(calls) == 2  # env_file changed
    environ["TAG"] = "2"
    assert load().services["a"].image == "x:2" and len(calls) == 3  # a used variable changed
    environ["UNRELATED"] = "x"
    load()
    assert len(calls) == 3  # a variable the project does not use: still a hit
    (proj / "compose.override.yaml").write_text("services:\n  a:\n    image: y\n")
    assert load().services["a"].image == "y" and len(calls) == 4  # a new override file is discovered
    assert not any(p.name.endswith(".pickle") for p in proj.rglob("*"))
    assert list(Path(loadcache.cache_dir()).glob("*.pickle"))


def test_warnings_are_replayed_on_hit(tmp_path: Path, cache_home: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x:${NOT_SET}\n")
    seen: list[str] = []
    for _ in range(2):
        load_project(LoadOptions(cwd=str(tmp_path), environ={}, warn=seen.append))
    assert len(seen) == 2 and all("NOT_SET" in w for w in seen)


def test_corrupt_entry_is_a_miss(tmp_path: Path, cache_home: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n")
    load_project(LoadOptions(cwd=str(tmp_path), environ={}))
    for entry in Path(loadcache.cache_dir()).glob("*.pickle"):
        entry.write_bytes(b"garbage")
    assert load_project(LoadOptions(cwd=str(tmp_path), environ={})).services["a"].image == "x"


def test_cache_is_pruned(tmp_path: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loadcache, "MAX_ENTRIES", 3)
    for i in range(5):
        d = tmp_path / f"p{i}"
        d.mkdir()
        (d / "compose.yaml").write_text("services:\n  a:\n    image: x\n")
        load_project(LoadOptions(cwd=str(d), environ={}))
    assert len(list(Path(loadcache.cache_dir()).glob("*.pickle"))) == 3
