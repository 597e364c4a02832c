"""Seeded mutations of the corpus through the whole pipeline: every outcome is a model or a ComposeError
(a user error with a message), never a crash with a traceback."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import yaml

from compose.errors import ComposeError
from compose.project import LoadOptions, load_project
from compose.yamlfile import load_yaml, strip_merge_tags

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
REPLACEMENTS: list[Any] = [{}, [], [{}], "x", "", 5, -1, 1.5, True, None, "${X}", "8080:80", "10s", {"a": 1},
                           ["a", "a"], "service:x", "./rel", "all"]
SEED = 20261127


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


def _documents() -> list[dict[str, Any]]:
    docs = []
    for folder in ("awesome-compose", "conformance-tests", "compose-go/golden"):
        for path in sorted((CORPUS / folder).rglob("*.y*ml")):
            doc, _ = load_yaml(path.read_text(), str(path))
            if isinstance(doc, dict):
                docs.append(strip_merge_tags(doc))
    return docs


def test_mutated_corpus_never_crashes(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    checked = errors = 0
    for base in _documents():
        paths = _paths(base)
        for _ in range(25):
            doc = copy.deepcopy(base)
            path = rng.choice(paths)
            parent = doc
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = copy.deepcopy(rng.choice(REPLACEMENTS))
            text = yaml.safe_dump(doc)
            try:
                load_project(LoadOptions(files=["-"], stdin=text, cwd=str(tmp_path), environ={},
                                         use_cache=False, project_name="p"))
            except ComposeError as exc:
                errors += 1
                assert str(exc), "an error always says something"
            checked += 1
    assert checked >= 1000
    assert 0 < errors < checked  # mutations break some documents and leave others valid
