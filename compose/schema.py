"""Validate a compose document against hoist's JSON schema (schemas/compose-spec.json).

One error is reported: the most specific cause. When a value may take several forms (a port is a number, a
string or a mapping), the form that matches the value's type is followed and its error reported; only when no
form matches does the message list the accepted types. Unknown keys get a did-you-mean hint, enums their
choices. A valid document is recognised by compose/schemacheck.py's compiled check; jsonschema is imported
and its validator compiled only when there is an error to explain (the import costs ~0.05-0.15 s).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compose import formats
from compose.errors import Location, SchemaError
from compose.sourcemap import KeyPath, SourceMap, dotted
from compose.suggest import did_you_mean

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError



def _schema_file() -> Path:
    """The source tree's schemas/ (a checkout, an editable install), else where a wheel installed it."""
    import sys

    in_tree = Path(__file__).resolve().parent.parent / "schemas" / "compose-spec.json"
    if in_tree.exists():
        return in_tree
    installed = Path(sys.prefix) / "share" / "hoist" / "schemas" / "compose-spec.json"
    return installed if installed.exists() else in_tree


SCHEMA_FILE = _schema_file()

_TYPE_NOUNS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "a list",
    "object": "a mapping",
    "null": "empty (null)",
}
_FORMAT_WORDS = {
    "duration": "a duration such as `30s`, `1m30s` or `500ms`",
    "ports": "a port such as `80`, `8080:80`, `127.0.0.1:8080:80/udp` or `9000-9010:9000-9010`",
    "expose": "a port or range such as `80`, `80/udp` or `8000-8010`",
    "bytes": "a size such as `512m`, `1g` or a number of bytes",
    "volume": "a volume such as `data:/var/lib/data`, `./src:/src:ro` or `/anonymous`",
    "boolean": "`true` or `false`",
    "integer": "a whole number",
    "number": "a number such as `2` or `0.5`",
}
_FORMAT_NOUNS = {"duration": "duration", "ports": "port", "expose": "exposed port", "bytes": "size",
                 "volume": "volume", "boolean": "boolean", "integer": "whole number", "number": "number"}
# What a value must look like, for the keys whose schema is a pattern.
_PATTERN_HINTS = {
    "container_name": "a container name has at least two characters (letters, digits, `_`, `.`, `-`) "
                      "and starts with a letter or a digit",
    "pull_policy": "valid choices: `always`, `never`, `missing`, `build`, `if_not_present`, `daily`, `weekly`, "
                   "`every_<duration>` (e.g. `every_12h`)",
}
# Validators that say "this value is not of a form allowed here" rather than "this form has a problem inside".
_MISMATCH_VALIDATORS = {"type", "enum", "const"}


@functools.cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


@functools.cache
def _quick_check() -> Any:
    from compose.schemacheck import compile_schema

    return compile_schema(_schema())


@functools.cache
def _validator() -> Any:
    import jsonschema

    schema = _schema()
    checker = jsonschema.FormatChecker(formats=())
    for name, check in formats.CHECKS.items():
        checker.checks(name)(check)
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


def validate_document(document: dict, sources: SourceMap) -> None:
    """Raise :class:`SchemaError` for the most specific problem in ``document``; return None when valid."""
    if not isinstance(document, dict):
        raise SchemaError(
            f"the compose file must be a mapping of top-level keys, not {_noun_for(document)}",
            location=sources.get(()) or Location(),
            hint="start the file with `services:`",
        )
    if not _quick_check()(document):  # the common case, valid, is decided without importing jsonschema
        _raise_schema_error(document, sources)
    _check_sources_of_content(document, sources)
    _check_watch_paths(document, sources)


def _raise_schema_error(document: dict, sources: SourceMap) -> None:
    validator = _validator()
    errors = list(validator.iter_errors(document))
    if not errors:
        return
    resolved = [_resolve(error) for error in errors]
    # Independent problems: the first in the file. At one place: the most specific one.
    best = min(resolved, key=lambda e: (_position(e, sources), tuple(-n for n in _rank(e))))
    raise _to_schema_error(best, sources)


def _position(error: ValidationError, sources: SourceMap) -> tuple[str, int, int]:
    path: KeyPath = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        extras = _unknown_keys(error)
        if extras:
            path = path + (extras[0],)
    location = sources.get(path)
    if location is None or location.line is None:
        return ("", 1 << 30, 0)
    return (location.file or "", location.line, location.column or 0)


# --- rules a JSON schema cannot say -------------------------------------------------------------------

# Where the content of a config or secret may come from; exactly one of them, unless external or a driver.
_CONTENT_SOURCES = {"configs": ("file", "environment", "content"), "secrets": ("file", "environment")}


def _check_sources_of_content(document: dict, sources: SourceMap) -> None:
    for section, keys in _CONTENT_SOURCES.items():
        for name, definition in (document.get(section) or {}).items():
            if not isinstance(definition, dict):
                continue
            given = [k for k in keys if k in definition]
            words = _join_or([f"`{k}`" for k in keys])
            if len(given) > 1:
                at = sources.get((section, name, given[1])) or Location()
                raise SchemaError(f"{section}.{name} sets both `{given[0]}` and `{given[1]}`",
                                  location=Location(at.file, at.line, at.column, f"{section}.{name}"),
                                  hint=f"a {section[:-1]} takes its content from one of {words}")
            if not given and "external" not in definition and "driver" not in definition:
                raise SchemaError(f"{section}.{name} has no content",
                                  location=sources.get((section, name)),
                                  hint=f"set one of {words}, or `external: true` for one that already exists")


def _check_watch_paths(document: dict, sources: SourceMap) -> None:
    for name, service in (document.get("services") or {}).items():
        develop = service.get("develop") if isinstance(service, dict) else None
        rules = develop.get("watch") if isinstance(develop, dict) else None
        for index, rule in enumerate(rules or []):
            if isinstance(rule, dict) and rule.get("path") == "":
                path: KeyPath = ("services", name, "develop", "watch", index, "path")
                raise SchemaError(f"{dotted(path)} must not be empty", location=sources.get(path),
                                  hint="give the directory or file to watch, relative to the project directory")


# --- choosing the error ---------------------------------------------------------------------------------

def _branches(error: ValidationError) -> list[list[ValidationError]]:
    """The errors of each alternative of an anyOf/oneOf, grouped by alternative."""
    groups: dict[Any, list[ValidationError]] = {}
    for sub in error.context or []:
        groups.setdefault(sub.relative_schema_path[0], []).append(sub)
    return list(groups.values())


def _is_mismatch(error: ValidationError, path: list[Any]) -> bool:
    """True when ``error`` says the value at ``path`` is not of this alternative's form at all."""
    if list(error.absolute_path) != path:
        return False
    if error.validator in _MISMATCH_VALIDATORS:
        return True
    if error.validator in ("anyOf", "oneOf") and error.context:
        return all(any(_is_mismatch(sub, path) for sub in branch) for branch in _branches(error))
    return False


def _resolve(error: ValidationError) -> ValidationError:
    """Follow anyOf/oneOf into the alternative(s) whose form the value has; stop when none has it."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return error
    path = list(error.absolute_path)
    matching = [b for b in _branches(error) if not any(_is_mismatch(sub, path) for sub in b)]
    if not matching:
        return error
    return max((_resolve(sub) for branch in matching for sub in branch), key=_rank)


def _rank(error: ValidationError) -> tuple[int, int]:
    # Deeper is more specific; at equal depth an unknown or missing key beats a type complaint.
    weight = {"additionalProperties": 3, "required": 2, "format": 2, "enum": 1}.get(str(error.validator), 0)
    return (len(error.absolute_path), weight)


# --- wording --------------------------------------------------------------------------------------------

def _noun_for(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _join_or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _accepted_forms(error: ValidationError, path: list[Any], out: list[str]) -> None:
    """Collect what each alternative accepts, as nouns ("a string", "`all`") in schema order."""
    if error.validator == "type":
        allowed = error.validator_value
        for name in [allowed] if isinstance(allowed, str) else allowed:
            noun = _TYPE_NOUNS.get(name, name)
            if noun not in out:
                out.append(noun)
    elif error.validator == "enum":
        for choice in error.validator_value:
            word = f"`{choice}`"
            if word not in out:
                out.append(word)
    elif error.validator == "const":
        out.append(f"`{error.validator_value}`")
    elif error.validator in ("anyOf", "oneOf"):
        for branch in _branches(error):
            for sub in branch:
                if _is_mismatch(sub, path):
                    _accepted_forms(sub, path, out)


def _unknown_keys(error: ValidationError) -> list[str]:
    import re

    schema = error.schema if isinstance(error.schema, dict) else {}
    known = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    instance = error.instance if isinstance(error.instance, dict) else {}
    return [k for k in instance if k not in known and not any(p.search(str(k)) for p in patterns)]


def _to_schema_error(error: ValidationError, sources: SourceMap) -> SchemaError:
    path: KeyPath = tuple(error.absolute_path)
    where = dotted(path) or "the top level"
    location = sources.get(path) or Location(path=dotted(path) or None)
    validator = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}

    if validator == "additionalProperties":
        extras = _unknown_keys(error) or [""]
        key = extras[0]
        # The key's own line and column, but the path of the mapping it is in: the key is not a valid path.
        at = sources.get(path + (key,)) or location
        location = Location(at.file, at.line, at.column, dotted(path) or None)
        known = list(schema.get("properties", {}))
        if not known:  # a mapping of names: the key itself is a bad name
            return SchemaError(
                f"{where} has an invalid name `{key}`",
                location=location,
                hint="names may contain only letters, digits, `.`, `_` and `-`",
            )
        hint = did_you_mean(str(key), known)
        if hint is None:
            shown = ", ".join(f"`{k}`" for k in known) if len(known) <= 12 else None
            hint = f"allowed keys here: {shown}" if shown else "see the compose specification for the allowed keys"
            hint += "; custom keys must start with `x-`"
        message = f"{where} has an unknown key `{key}`" if path else f"unknown top-level key `{key}`"
        return SchemaError(message, location=location, hint=hint)

    if validator == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = [k for k in error.validator_value if k not in present]
        key = missing[0] if missing else error.validator_value[0]
        return SchemaError(f"{where} is missing the required key `{key}`", location=location,
                           hint=f"add `{key}:` to {where}")

    if validator == "enum":
        choices = ", ".join(f"`{c}`" for c in error.validator_value)
        return SchemaError(f"{where}: `{error.instance}` is not an allowed value", location=location,
                           hint=f"valid choices: {choices}")

    if validator == "format":
        fmt = str(error.validator_value)
        return SchemaError(f"{where}: `{error.instance}` is not a valid {_FORMAT_NOUNS.get(fmt, fmt)}",
                           location=location, hint=f"write {_FORMAT_WORDS.get(fmt, fmt)}")

    if validator in ("type", "anyOf", "oneOf"):
        forms: list[str] = []
        _accepted_forms(error, list(error.absolute_path), forms)
        if forms:
            return SchemaError(f"{where} must be {_join_or(forms)}, not {_noun_for(error.instance)}",
                               location=location)

    if validator == "uniqueItems":
        return SchemaError(f"{where} lists the same item more than once", location=location,
                           hint="remove the duplicate entry")

    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = error.validator_value
        relation = {"minimum": "at least", "maximum": "at most",
                    "exclusiveMinimum": "more than", "exclusiveMaximum": "less than"}[str(validator)]
        return SchemaError(f"{where} must be {relation} {bound}, not {error.instance}", location=location)

    if validator == "pattern":
        key = next((part for part in reversed(path) if isinstance(part, str)), "")
        hint = _PATTERN_HINTS.get(key, f"it must match the pattern {error.validator_value}")
        return SchemaError(f"{where}: `{error.instance}` is not a valid value", location=location, hint=hint)

    return SchemaError(f"{where}: {error.message}", location=location)
