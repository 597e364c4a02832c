"""Compiled code of the methods ``dataclasses`` generates, cached across CLI processes like a ``.pyc``.

Why: on Python 3.11 ``@dataclass`` writes the source of every generated method (``__init__``, ``__repr__``,
``__eq__``, ``__hash__``, a frozen class's ``__setattr__``/``__delattr__``) and compiles it with ``exec`` when
the class is created. The ~170 dataclasses on the CLI's paths cost 60-75 ms of compiling in every process
(measured with the ``up`` path), more than all other imports together. That text is a pure function of the
class definition, so its compiled code can be kept on disk and reused.

How: ``dataclasses`` calls ``exec`` by its global name, so an ``exec`` in that module's namespace shadows the
builtin for that module alone; no private function is replaced. Ours compiles exactly as the builtin would
(``"<string>"``, no inherited ``__future__`` flags) and remembers the result by the source text. Anything
unexpected (unreadable or foreign cache file, read-only tree) falls back to compiling, as without the cache.
"""

from __future__ import annotations

import builtins
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

MAX_ENTRIES = 4096  # stale texts pile up as classes change; past this, keep only what this process used

# Source text -> marshalled code: each entry is unmarshalled only when its class is created (a process uses a
# fraction of the file; unmarshalling all of it cost as much as half of what the cache saves).
_cache: dict[str, bytes] = {}
_used: dict[str, bytes] = {}
_missed = False
_path: Path | None = None


def cache_path() -> Path:
    tag = sys.implementation.cache_tag or "unknown"
    return Path(__file__).resolve().parent / "__pycache__" / f"dataclass-code.{tag}.bin"


def install() -> None:
    """Route ``dataclasses``' compiling through the cache; call before the dataclass-heavy imports."""
    global _path
    import dataclasses

    if getattr(dataclasses, "exec", None) is _cached_exec:
        return
    _path = cache_path()
    _cache.update(_load(_path))
    dataclasses.exec = _cached_exec  # type: ignore[attr-defined]


def _load(path: Path) -> dict[str, bytes]:
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, bytes)}


def _code(source: str) -> CodeType | None:
    raw = _cache.get(source)
    if raw is None:
        return None
    try:
        code = marshal.loads(raw)
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def _cached_exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    global _missed
    if isinstance(source, str):
        code = _code(source)
        if code is None:
            # dont_inherit: the builtin exec compiles with the *caller's* flags (dataclasses has no
            # ``from __future__ import annotations``); this module's flags must not leak into the code.
            code = compile(source, "<string>", "exec", dont_inherit=True)
            _cache[source] = marshal.dumps(code)
            if not _missed:
                _missed = True
                import atexit

                atexit.register(save)
        _used[source] = _cache[source]
        source = code
    if globals is None:  # the builtin's defaults: the caller's namespaces, not this module's
        frame = sys._getframe(1)
        globals = frame.f_globals
        if locals is None:
            locals = frame.f_locals
    builtins.exec(source, globals, locals)


def save() -> None:
    """Write the cache if this process compiled anything new (atomic; best effort, like .pyc writing)."""
    if not _missed or _path is None or sys.dont_write_bytecode:
        return
    entries = _cache if len(_cache) <= MAX_ENTRIES else _used
    tmp = _path.with_name(f"{_path.name}.{os.getpid()}.tmp")
    try:
        _path.parent.mkdir(exist_ok=True)
        tmp.write_bytes(marshal.dumps(entries))
        os.replace(tmp, _path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
