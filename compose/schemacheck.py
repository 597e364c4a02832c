"""A fast yes/no check of a document against our schema, without jsonschema.

jsonschema is general and slow (about 0.1 s for a 200-service project, plus ~0.05 s to import). Our schema uses
a small subset of JSON Schema, so it is compiled here into nested Python closures that only answer "valid?".
compose/schema.py calls this first; only when it says no does jsonschema run, to find and word the error. The
check may be stricter than jsonschema in odd corners (then jsonschema decides), never looser: the oracle test
compares both on every case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from compose import formats

Check = Callable[[Any], bool]

_TYPE_CHECKS: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}
_IGNORED = {"$schema", "$id", "title", "description"}


def _unique_key(value: Any) -> str:
    def canonical(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: canonical(x) for k, x in v.items()}
        if isinstance(v, list):
            return [canonical(x) for x in v]
        return v
    return json.dumps(canonical(value), sort_keys=True)


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


def _any_of(checks: list[Check]) -> Check:
    def check(value: Any) -> bool:
        return any(c(value) for c in checks)
    return check


def _all_of(checks: list[Check]) -> Check:
    def check(value: Any) -> bool:
        return all(c(value) for c in checks)
    return check


def _enum(choices: list[Any]) -> Check:
    def check(value: Any) -> bool:
        # type() too: JSON Schema tells true from 1, Python's == does not.
        return any(type(value) is type(choice) and value == choice for choice in choices)
    return check


def _pattern(pattern: re.Pattern[str]) -> Check:
    def check(value: Any) -> bool:
        return not isinstance(value, str) or pattern.search(value) is not None
    return check


def _bounds(low: float | None, high: float | None) -> Check:
    is_number = _TYPE_CHECKS["number"]

    def check(value: Any) -> bool:
        if not is_number(value):
            return True
        return (low is None or value >= low) and (high is None or value <= high)
    return check


def _items(item: Check) -> Check:
    def check(value: Any) -> bool:
        return not isinstance(value, list) or all(item(x) for x in value)
    return check


def _unique_items(value: Any) -> bool:
    return not isinstance(value, list) or len({_unique_key(x) for x in value}) == len(value)


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = root.get("$defs", {})
        self.compiled_defs: dict[str, Check] = {}

    def ref(self, target: str) -> Check:
        name = target.rsplit("/", 1)[1]
        if name not in self.compiled_defs:
            holder: list[Check] = []

            def deferred(value: Any) -> bool:
                return holder[0](value)
            # Placeholder first, so that recursive references compile.
            self.compiled_defs[name] = deferred
            holder.append(self.compile(self.defs[name]))
        return self.compiled_defs[name]

    def compile(self, schema: Any) -> Check:  # noqa: C901 - one branch per keyword
        if schema is True or schema == {}:
            return _always
        if schema is False:
            return _never
        checks: list[Check] = []
        for keyword in schema:
            if keyword not in _KNOWN and keyword not in _IGNORED:
                raise ValueError(f"schemacheck: unsupported keyword {keyword}")
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"]))
        if "type" in schema:
            kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            checks.append(_any_of([_TYPE_CHECKS[k] for k in kinds]))
        if "enum" in schema:
            checks.append(_enum(list(schema["enum"])))
        if "anyOf" in schema:
            checks.append(_any_of([self.compile(s) for s in schema["anyOf"]]))
        if "pattern" in schema:
            checks.append(_pattern(re.compile(schema["pattern"])))
        if "format" in schema:
            checks.append(formats.CHECKS[schema["format"]])
        if "minimum" in schema or "maximum" in schema:
            checks.append(_bounds(schema.get("minimum"), schema.get("maximum")))
        if "items" in schema:
            checks.append(_items(self.compile(schema["items"])))
        if schema.get("uniqueItems"):
            checks.append(_unique_items)
        if {"properties", "patternProperties", "additionalProperties", "required"} & schema.keys():
            checks.append(self.object_check(schema))
        return checks[0] if len(checks) == 1 else _all_of(checks)

    def object_check(self, schema: dict[str, Any]) -> Check:
        properties = {k: self.compile(s) for k, s in schema.get("properties", {}).items()}
        patterns = [(re.compile(p), self.compile(s)) for p, s in schema.get("patternProperties", {}).items()]
        extra = schema.get("additionalProperties", True)
        extra_check = None if extra is True else self.compile(extra)
        required = list(schema.get("required", []))

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key in required:
                if key not in value:
                    return False
            for key, item in value.items():
                if not isinstance(key, str):
                    return False  # let jsonschema word it
                known = properties.get(key)
                matched = known is not None
                if matched and not known(item):  # type: ignore[misc]
                    return False
                for pattern, sub in patterns:
                    if pattern.search(key):
                        matched = True
                        if not sub(item):
                            return False
                if not matched and extra_check is not None and not extra_check(item):
                    return False
            return True

        return check


_KNOWN = {"$ref", "$defs", "type", "enum", "anyOf", "pattern", "format", "minimum", "maximum", "items",
          "uniqueItems", "properties", "patternProperties", "additionalProperties", "required"}


def compile_schema(schema: dict[str, Any]) -> Check:
    """A function telling whether a document is valid under ``schema`` (our schema's keyword subset)."""
    return _Compiler(schema).compile(schema)
