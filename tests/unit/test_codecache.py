"""The dataclass code cache: same classes as without it, compiled once, robust to a bad cache file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter (the hook is process-wide): defines dataclasses the way hoist's modules do,
# prints what they generated and how many compiles the cache had to do.
SCRIPT = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, PROJECT)
from compose.cli import codecache
codecache.cache_path = lambda: Path(CACHE)
compiles = []
real_compile = compile
def counting_compile(*args, **kwargs):
    compiles.append(args[0])
    return real_compile(*args, **kwargs)
codecache.compile = counting_compile
codecache.install()
import dataclasses
from dataclasses import dataclass, field

@dataclass(frozen=True)
class Point:
    x: int
    y: int = 2
    tags: list = field(default_factory=list)

@dataclass
class Box:
    corner: Point
    name: str = "box"

p = Point(1)
out = {
    "repr": repr(Box(p)),
    "eq": Point(1) == Point(1, 2, []),
    "hash": hash(Point(1, 2, ())) == hash(Point(1, 2, ())),
    "frozen": False,
    "annotations": {k: repr(v) for k, v in Point.__init__.__annotations__.items()},
    "replace": repr(dataclasses.replace(p, y=5)),
    "fields": [f.name for f in dataclasses.fields(Box)],
    "compiles": len(compiles),
}
try:
    p.x = 3
except dataclasses.FrozenInstanceError:
    out["frozen"] = True
codecache.save()
print(json.dumps(out))
"""


def _run(cache: Path, *, write_bytecode: bool = True) -> dict:
    code = f"PROJECT = {str(PROJECT)!r}\nCACHE = {str(cache)!r}\n" + SCRIPT
    flags = [] if write_bytecode else ["-B"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True,
                          env=env)
    return json.loads(proc.stdout)


def test_generated_methods_behave_as_without_the_cache(tmp_path: Path) -> None:
    out = _run(tmp_path / "cache.bin")
    assert out["repr"] == "Box(corner=Point(x=1, y=2, tags=[]), name='box')"
    assert out["eq"] and out["hash"] and out["frozen"]
    assert out["replace"] == "Point(x=1, y=5, tags=[])"
    assert out["fields"] == ["corner", "name"]
    # Compiled without this module's `from __future__ import annotations`: annotations stay objects.
    assert out["annotations"]["return"] == "None"


def test_second_process_compiles_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "cache.bin"
    first = _run(cache)
    assert first["compiles"] > 5 and cache.exists()
    second = _run(cache)
    assert second["compiles"] == 0
    assert {k: v for k, v in second.items() if k != "compiles"} == {
        k: v for k, v in first.items() if k != "compiles"}


def test_corrupt_cache_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    cache = tmp_path / "cache.bin"
    cache.write_bytes(b"\x00not marshal data")
    out = _run(cache)
    assert out["repr"].startswith("Box(") and out["compiles"] > 5
    assert _run(cache)["compiles"] == 0


def test_no_write_when_bytecode_writing_is_off(tmp_path: Path) -> None:
    cache = tmp_path / "cache.bin"
    _run(cache, write_bytecode=False)
    assert not cache.exists()


def test_install_is_idempotent() -> None:
    code = (f"import sys; sys.path.insert(0, {str(PROJECT)!r})\n"
            "from compose.cli import codecache\n"
            "import dataclasses\n"
            "codecache.install(); first = dataclasses.exec\n"
            "codecache.install(); print(dataclasses.exec is first)")
    proc = subprocess.run([sys.executable, "-B", "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "True"


def test_cache_keys_are_source_texts(tmp_path: Path) -> None:
    """Keyed by the exact text: a changed class can never be served another class's code."""
    import marshal

    cache = tmp_path / "cache.bin"
    _run(cache)
    data = marshal.loads(cache.read_bytes())
    assert all(isinstance(k, str) and "def __create_fn__" in k and isinstance(v, bytes) for k, v in data.items())
    assert json.dumps(sorted(data)[0])  # plain text keys


def test_a_corrupt_entry_is_recompiled(tmp_path: Path) -> None:
    import marshal

    cache = tmp_path / "cache.bin"
    first = _run(cache)
    data = marshal.loads(cache.read_bytes())
    cache.write_bytes(marshal.dumps({k: b"\x00garbage" for k in data}))
    again = _run(cache)
    assert again["compiles"] == first["compiles"] and again["repr"] == first["repr"]
    assert _run(cache)["compiles"] == 0  # rewritten with good entries
