"""``hoist config --variables``: every ``${VAR}`` the compose files use, with its default and whether it is
required, read from the files before interpolation."""

from __future__ import annotations

from typing import Any

from compose.interpolation import _is_name_char, _is_name_start


def _scan(text: str, found: dict[str, dict[str, Any]]) -> None:
    i = 0
    n = len(text)
    while i < n:
        if text[i] != "$":
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if nxt == "$":
            i += 2
        elif nxt == "{":
            j = i + 2
            while j < n and _is_name_char(text[j]):
                j += 1
            name = text[i + 2:j]
            if not name or not _is_name_start(name[0]):
                i += 2
                continue
            op = next((o for o in (":-", ":?", ":+", "-", "?", "+") if text.startswith(o, j)), "")
            depth, k = 1, j + len(op)
            while k < n and depth:
                depth += {"{": 1, "}": -1}.get(text[k], 0)
                k += 1
            arg = text[j + len(op):k - 1] if op else ""
            row = found.setdefault(name, {"name": name, "required": False, "default_value": None,
                                          "alternate_value": None})
            if op in (":?", "?"):
                row["required"] = True
            elif op in (":-", "-"):
                row["default_value"] = arg
            elif op in (":+", "+"):
                row["alternate_value"] = arg
            if arg:
                _scan(arg, found)
            i = k
        elif nxt and _is_name_start(nxt):
            j = i + 1
            while j < n and _is_name_char(text[j]):
                j += 1
            found.setdefault(text[i + 1:j], {"name": text[i + 1:j], "required": False, "default_value": None,
                                             "alternate_value": None})
            i = j
        else:
            i += 1


def _walk(value: Any, found: dict[str, dict[str, Any]]) -> None:
    if isinstance(value, str):
        _scan(value, found)
    elif isinstance(value, dict):
        for v in value.values():
            _walk(v, found)
    elif isinstance(value, list):
        for v in value:
            _walk(v, found)


def list_variables(options: Any) -> list[dict[str, Any]]:
    """Rows (name, required, default_value, alternate_value) sorted by name, for the project's files."""
    from compose.discovery import discover
    from compose.yamlfile import load_yaml_documents

    found_files = discover(files=options.files or None, project_directory=options.project_directory,
                           project_name=options.project_name, env_files=options.env_files or None,
                           environ=options.environ, cwd=options.cwd)
    found: dict[str, dict[str, Any]] = {}
    for path in found_files.files:
        import sys

        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        documents, _ = load_yaml_documents(text, path)
        for doc in documents:
            _walk(doc, found)
    return [found[k] for k in sorted(found)]
