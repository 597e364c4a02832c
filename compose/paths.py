"""Relative paths of a raw (not yet normalized) compose document, rebased on another directory.

extends and include load files from other directories: their relative paths mean "relative to that file"
(or to the include's ``project_directory``), so they are made absolute before the document is merged into a
project whose working directory is elsewhere.
"""

from __future__ import annotations

import os
import re
from typing import Any

_REMOTE = re.compile(r"^([a-z][a-z0-9+.-]*://|git@|github\.com/)", re.IGNORECASE)


def _abs(path: Any, base: str) -> Any:
    if not isinstance(path, str) or not path or _REMOTE.match(path):
        return path
    if path.startswith("~") or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(base, path))


def _short_volume(spec: str, base: str) -> str:
    source, sep, rest = spec.partition(":")
    if sep and source.startswith("."):
        return _abs(source, base) + ":" + rest
    return spec


def rebase_service(service: dict[str, Any], base: str) -> dict[str, Any]:
    """A copy of ``service`` with every relative host path made absolute against ``base``."""
    out = dict(service)
    build = out.get("build")
    if isinstance(build, str):
        out["build"] = _abs(build, base)
    elif isinstance(build, dict):
        build = dict(build)
        build["context"] = _abs(build.get("context", "."), base)
        contexts = build.get("additional_contexts")
        if isinstance(contexts, dict):
            build["additional_contexts"] = {
                k: (v if isinstance(v, str) and v.startswith(("docker-image:", "target:")) else _abs(v, base))
                for k, v in contexts.items()}
        out["build"] = build
    if "env_file" in out:
        files = out["env_file"] if isinstance(out["env_file"], list) else [out["env_file"]]
        out["env_file"] = [({**f, "path": _abs(f.get("path"), base)} if isinstance(f, dict) else _abs(f, base))
                           for f in files]
    if "label_file" in out:
        files = out["label_file"] if isinstance(out["label_file"], list) else [out["label_file"]]
        out["label_file"] = [_abs(f, base) for f in files]
    if isinstance(out.get("volumes"), list):
        vols: list[Any] = []
        for v in out["volumes"]:
            if isinstance(v, str):
                vols.append(_short_volume(v, base))
            elif isinstance(v, dict) and v.get("type") == "bind":
                vols.append({**v, "source": _abs(v.get("source"), base)})
            else:
                vols.append(v)
        out["volumes"] = vols
    develop = out.get("develop")
    if isinstance(develop, dict) and isinstance(develop.get("watch"), list):
        out["develop"] = {**develop, "watch": [({**w, "path": _abs(w.get("path"), base)}
                                                if isinstance(w, dict) else w) for w in develop["watch"]]}
    extends = out.get("extends")
    if isinstance(extends, dict) and extends.get("file"):
        out["extends"] = {**extends, "file": _abs(extends["file"], base)}
    return out


def rebase_document(document: dict[str, Any], base: str) -> dict[str, Any]:
    """Every relative path of a whole document (services, secrets, configs) made absolute against ``base``."""
    out = dict(document)
    if isinstance(out.get("services"), dict):
        out["services"] = {k: (rebase_service(v, base) if isinstance(v, dict) else v)
                           for k, v in out["services"].items()}
    for kind in ("secrets", "configs"):
        if isinstance(out.get(kind), dict):
            out[kind] = {k: ({**v, "file": _abs(v["file"], base)} if isinstance(v, dict) and v.get("file") else v)
                         for k, v in out[kind].items()}
    return out
