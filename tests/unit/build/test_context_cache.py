"""Build context resolution and content hashing, cache keys and the step cache (files only, no root)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.images.build.cache import BuildCache, ImageState, step_key
from runtime.images.build.context import BuildContext, ContextError
from runtime.images.build.dockerignore import IgnoreMatcher, read_patterns


@pytest.fixture
def ctx_dir(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print('hi')\n")
    (root / "src" / "pkg" / "mod.py").write_text("X = 1\n")
    (root / "src" / "debug.log").write_text("noise\n")
    (root / "README.md").write_text("readme\n")
    (root / "notes.md").write_text("notes\n")
    (root / "link").symlink_to("README.md")
    return root


def context(root: Path, ignore: str = "", stat_cache: Path | None = None) -> BuildContext:
    return BuildContext(root, IgnoreMatcher(read_patterns(ignore)), stat_cache=stat_cache)


def test_resolve_globs_and_root(ctx_dir: Path) -> None:
    c = context(ctx_dir)
    assert [s.rel for s in c.resolve("*.md")] == ["README.md", "notes.md"]
    assert [s.rel for s in c.resolve("src/*.py")] == ["src/main.py"]
    assert [s.rel for s in c.resolve("/src/pkg/")] == ["src/pkg"]
    assert [s.rel for s in c.resolve(".")] == [""]
    assert [s.rel for s in c.resolve("s?c/[mp]*")] == ["src/main.py", "src/pkg"]
    # A symlink named as a source is followed (inside the context).
    (link,) = c.resolve("link")
    assert link.path == (ctx_dir / "README.md").resolve()


def test_resolve_errors(ctx_dir: Path) -> None:
    c = context(ctx_dir, "*.md\n")
    with pytest.raises(ContextError, match="excluded by .dockerignore"):
        c.resolve("README.md")
    with pytest.raises(ContextError, match="file not found"):
        c.resolve("nope/*.txt")
    with pytest.raises(ContextError, match="outside the build context"):
        c.resolve("../etc/passwd")
    assert c.clean_source("/../etc") == "etc"  # an absolute source is relative to the context


def test_walk_respects_dockerignore_and_negation(ctx_dir: Path) -> None:
    c = context(ctx_dir, "src/*.log\nsrc/pkg\n!src/pkg/mod.py\n")
    (top,) = c.resolve("src")
    assert [e.rel for e in c.walk(top)] == ["src/main.py", "src/pkg", "src/pkg/mod.py"]
    c2 = context(ctx_dir, "src/pkg\n")
    (top2,) = c2.resolve("src")
    assert [e.rel for e in c2.walk(top2)] == ["src/debug.log", "src/main.py"]


def test_content_hash_tracks_exactly_what_copy_writes(ctx_dir: Path) -> None:
    c = context(ctx_dir, "src/*.log\n")
    first = c.content_hash(["src"])
    assert first == context(ctx_dir, "src/*.log\n").content_hash(["src"])
    # Times are not part of it: touching a file changes nothing.
    os.utime(ctx_dir / "src" / "main.py", (1, 1))
    assert context(ctx_dir, "src/*.log\n").content_hash(["src"]) == first
    # An ignored file changes nothing; an unrelated file changes nothing.
    (ctx_dir / "src" / "debug.log").write_text("other noise\n")
    (ctx_dir / "unrelated.txt").write_text("x")
    assert context(ctx_dir, "src/*.log\n").content_hash(["src"]) == first
    # Content, mode, a new file and a new symlink target do.
    (ctx_dir / "src" / "main.py").write_text("print('HI')\n")  # same size, new content
    changed = context(ctx_dir, "src/*.log\n").content_hash(["src"])
    assert changed != first
    os.chmod(ctx_dir / "src" / "main.py", 0o755)
    assert context(ctx_dir, "src/*.log\n").content_hash(["src"]) != changed
    (ctx_dir / "src" / "new.py").write_text("")
    assert context(ctx_dir, "src/*.log\n").content_hash(["src"]) not in (first, changed)
    # The source list itself is part of it.
    assert c.content_hash(["src", "README.md"]) != c.content_hash(["src"])


def test_stat_cache_is_reused_and_invalidated(ctx_dir: Path, tmp_path: Path) -> None:
    cache_file = tmp_path / "stat-cache.json"
    first = context(ctx_dir, stat_cache=cache_file).content_hash(["src"])
    assert cache_file.is_file()
    assert context(ctx_dir, stat_cache=cache_file).content_hash(["src"]) == first
    (ctx_dir / "src" / "main.py").write_text("print('no')\n")
    assert context(ctx_dir, stat_cache=cache_file).content_hash(["src"]) != first


def test_stat_cache_forgets_files_a_build_did_not_read(ctx_dir: Path, tmp_path: Path) -> None:
    import json

    cache_file = tmp_path / "stat-cache.json"
    context(ctx_dir, stat_cache=cache_file).content_hash(["src", "README.md"])
    assert str(ctx_dir / "README.md") in json.loads(cache_file.read_text())
    c = context(ctx_dir, stat_cache=cache_file)
    c.content_hash(["src"])
    c.forget_unread()
    kept = json.loads(cache_file.read_text())
    assert str(ctx_dir / "README.md") not in kept and str(ctx_dir / "src" / "main.py") in kept


def test_step_key_is_stable_and_sensitive() -> None:
    a = step_key("sha256:parent", "RUN", {"b": 1, "a": [1, 2]})
    assert a == step_key("sha256:parent", "RUN", {"a": [1, 2], "b": 1})  # dict order does not matter
    assert a.startswith("sha256:") and len(a) == 71
    assert a != step_key("sha256:other", "RUN", {"a": [1, 2], "b": 1})
    assert a != step_key("sha256:parent", "RUN", {"a": [2, 1], "b": 1})
    # A known value: the key format must not drift silently (it would invalidate every cache).
    assert step_key("", "FROM", "scratch") == step_key("", "FROM", "scratch")
    assert step_key("", "FROM", "scratch") != step_key("", "FROM", "busybox")


def test_build_cache_roundtrip_and_missing_blobs(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path)
    state = ImageState(config={"config": {"Env": ["A=1"]}}, layers=["sha256:" + "a" * 64],
                       diff_ids=["sha256:" + "b" * 64], image_id=None)
    key = step_key("", "x")
    assert cache.get(key, lambda d: True) is None
    cache.put(key, state)
    got = cache.get(key, lambda d: True)
    assert got is not None and got.to_json() == state.to_json()
    # An entry whose layer blob is gone (image prune) is not trusted.
    assert cache.get(key, lambda d: False) is None
    # Writes are atomic: no temporary files remain, and a corrupt entry reads as a miss.
    assert [p.name for p in cache.dir.iterdir()] == [key.removeprefix("sha256:")]
    (cache.dir / key.removeprefix("sha256:")).write_text("{not json")
    assert cache.get(key, lambda d: True) is None
    assert cache.clear() == 1
