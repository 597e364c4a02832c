"""Dataclasses to JSON-ready values, as ``dataclasses.asdict`` makes them but without its deep copies.

``asdict`` deep-copies every leaf (``copy.deepcopy`` per value) and walks through generic type checks: for
a container's spec and launch plan, about 0.3 ms each, on every ``create``'s path. The values here are
only ever serialised right away, so the leaves (str, int, float, bool, None) are taken as they are.
Stdlib only.
"""

from __future__ import annotations

from typing import Any


def as_plain(value: Any) -> Any:
    """Dataclass instances become dicts (field order kept), lists and tuples lists, dicts new dicts with
    the same keys; everything else is returned as is."""
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None and not isinstance(value, type):
        return {name: as_plain(getattr(value, name)) for name in fields}
    if isinstance(value, (list, tuple)):
        return [as_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: as_plain(item) for key, item in value.items()}
    return value
