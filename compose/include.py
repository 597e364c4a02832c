"""``include``: other compose projects loaded on their own and copied into this one.

Each entry is loaded as a sub-project: its own directory (``project_directory`` or the directory of its first
file), its own env files (``env_file`` or its ``.env``) for interpolation defaults, which the including
project's environment overrides. Its relative paths are resolved against its own directory. Then its services,
networks, volumes, secrets and configs are copied in; a name defined differently on both sides is an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from compose.errors import ConfigError, CycleError, FileNotFound
from compose.merge import merge_documents
from compose.sourcemap import SourceMap
from compose.yamlfile import strip_merge_tags

RESOURCE_KINDS = ("services", "networks", "volumes", "secrets", "configs", "models")

# Loads files as a sub-project: (files, project_directory, environ, include chain) -> document.
SubProjectLoader = Callable[[list[str], str, Mapping[str, str], tuple[str, ...]], dict[str, Any]]


def _entries(value: Any, sources: SourceMap) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ConfigError("include must be a list", location=sources.get(("include",)))
    out: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, str):
            out.append({"path": [item]})
        elif isinstance(item, dict):
            path = item.get("path")
            paths = path if isinstance(path, list) else [path]
            if not paths or not all(isinstance(p, str) and p for p in paths):
                raise ConfigError("include entries need a `path`: a file or a list of files",
                                  location=sources.get(("include",)),
                                  hint="write `- path: other/compose.yaml`")
            out.append({**item, "path": paths})
        else:
            raise ConfigError("include entries are paths or mappings", location=sources.get(("include",)))
    return out


def apply_include(document: dict[str, Any], sources: SourceMap, filename: str, environ: Mapping[str, str],
                  chain: tuple[str, ...], load_subproject: SubProjectLoader) -> dict[str, Any]:
    """``document`` without its ``include`` key and with the included resources added."""
    if "include" not in document:
        return document
    from compose.dotenv import read_env_files

    out = {k: v for k, v in document.items() if k != "include"}
    base_dir = os.path.dirname(filename)
    for i, entry in enumerate(_entries(document["include"], sources)):
        files = [os.path.normpath(os.path.join(base_dir, str(p))) for p in entry["path"]]
        for f in files:
            if f in chain:
                raise CycleError(f"include cycle detected: {' -> '.join(chain + (f,))}",
                                 location=sources.get(("include", i)),
                                 hint="a file cannot include itself, directly or through other includes")
            if not os.path.isfile(f):
                raise FileNotFound(f"included file {f} not found", location=sources.get(("include", i)),
                                   hint="fix the include path (relative to the including file)")
        project_dir = entry.get("project_directory")
        project_dir = os.path.normpath(os.path.join(base_dir, project_dir)) if project_dir \
            else os.path.dirname(files[0])
        env_files = entry.get("env_file")
        if env_files is None:
            default = os.path.join(project_dir, ".env")
            env_paths = [default] if os.path.isfile(default) else []
        else:
            env_paths = [os.path.normpath(os.path.join(base_dir, p))
                         for p in (env_files if isinstance(env_files, list) else [env_files])]
        sub_env = {**read_env_files(env_paths, environ.get), **environ}
        included = load_subproject(files, project_dir, sub_env, chain)
        for kind in RESOURCE_KINDS:
            for name, value in (included.get(kind) or {}).items():
                if not isinstance(out.get(kind), dict):
                    out[kind] = {}
                mine = out[kind]
                if name not in mine:
                    mine[name] = value
                elif strip_merge_tags(mine[name]) != value:
                    # Defined here too: the included definition is the base, this file's is merged on top
                    # (with !override / !reset honoured), as compose-go does.
                    merged, _ = merge_documents({kind: {name: value}}, {kind: {name: mine[name]}})
                    mine[name] = merged[kind][name]
    return out
