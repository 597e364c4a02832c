"""Where each value of a loaded compose document came from.

The YAML loader records a :class:`~compose.errors.Location` for every node, keyed by its key path in the
document (``("services", "web", "ports", 0)``). Merging, extends and include carry the locations of the values
they keep, so a schema or semantic error in the merged model still points at the file and line that wrote it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from compose.errors import Location

KeyPath = tuple[str | int, ...]


def dotted(path: KeyPath) -> str:
    """``("services", "web", "ports", 0)`` -> ``services.web.ports[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class SourceMap:
    locations: dict[KeyPath, Location] = field(default_factory=dict)

    def set(self, path: KeyPath, location: Location) -> None:
        self.locations[path] = location

    def get(self, path: KeyPath) -> Location | None:
        """The location of ``path`` or of its closest recorded ancestor, with the full dotted path."""
        probe = tuple(path)
        while True:
            loc = self.locations.get(probe)
            if loc is not None:
                return Location(loc.file, loc.line, loc.column, dotted(tuple(path)) or None)
            if not probe:
                return None
            probe = probe[:-1]

    def subtree(self, prefix: KeyPath) -> Iterator[tuple[KeyPath, Location]]:
        n = len(prefix)
        for path, loc in self.locations.items():
            if path[:n] == prefix:
                yield path[n:], loc

    def graft(self, other: SourceMap, src_prefix: KeyPath, dst_prefix: KeyPath) -> None:
        """Copy ``other``'s locations under ``src_prefix`` to ``dst_prefix`` here (used by merge/extends)."""
        for rel, loc in other.subtree(src_prefix):
            self.locations[dst_prefix + rel] = loc
