"""YAML loading for compose files, with a line and column for every node.

PyYAML composes the node graph (libyaml when available); we construct Python values ourselves so that we can
record each node's position in a :class:`~compose.sourcemap.SourceMap`, reject duplicate keys with both lines,
expand ``<<`` merge keys, refuse alias bombs, and keep the ``!reset`` / ``!override`` tags as wrapper values.

Scalars follow the YAML 1.2 core schema as compose-go (yaml.v3) reads them: ``yes``/``no``/``on``/``off`` stay
strings, only ``true``/``false`` are booleans, timestamps are strings, and a leading ``0`` makes an octal integer.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from compose.errors import Location, YamlError
from compose.sourcemap import KeyPath, SourceMap

RESET_TAG = "!reset"
OVERRIDE_TAG = "!override"
MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG = "tag:yaml.org,2002:str"

# Constructing more nodes than this from one document means aliases are being expanded exponentially.
MAX_CONSTRUCTED_NODES = 400_000
ALIAS_EXPANSION_FLOOR = 250_000
ALIAS_EXPANSION_RATIO = 10


@dataclass(frozen=True)
class Reset:
    """A value tagged ``!reset``: the merge drops what earlier files set and keeps ``value`` (usually empty)."""

    value: Any = None


@dataclass(frozen=True)
class Override:
    """A value tagged ``!override``: the merge replaces what earlier files set instead of merging into it."""

    value: Any = None


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUES = frozenset({"true", "True", "TRUE"})
_FALSES = frozenset({"false", "False", "FALSE"})
_INT_RE = re.compile(r"[-+]?(0|[1-9][0-9_]*)$")
_OCT_RE = re.compile(r"[-+]?0[0-7_]+$")
_PREFIXED_INT_RE = re.compile(r"[-+]?0([xX][0-9a-fA-F_]+|[oO][0-7_]+|[bB][01_]+)$")
_FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
                   "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
                   "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
                   ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan")}


def resolve_plain_scalar(text: str) -> Any:
    """The value of an untagged, unquoted scalar (YAML 1.2 core schema plus yaml.v3's octal rule)."""
    if text in _NULLS:
        return None
    if text in _TRUES:
        return True
    if text in _FALSES:
        return False
    first = text[:1]
    if not (first.isdigit() or first in "+-."):
        return text
    if _INT_RE.match(text):
        return int(text.replace("_", ""))
    if _OCT_RE.match(text):
        return int(text.replace("_", ""), 8)
    if _PREFIXED_INT_RE.match(text):
        return int(text.replace("_", ""), 0)
    if _FLOAT_RE.match(text) and any(c.isdigit() for c in text):
        return float(text.replace("_", ""))
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    return text


class _Constructor:
    def __init__(self, filename: str, sources: SourceMap) -> None:
        self.filename = filename
        self.sources = sources
        self.count = 0
        self.active: set[int] = set()  # nodes being constructed: an alias to one of them is a cycle

    def location(self, node: Any, path: KeyPath = ()) -> Location:
        mark = node.start_mark
        return Location(self.filename, mark.line + 1, mark.column + 1, None)

    def construct(self, node: Any, path: KeyPath) -> Any:
        import yaml

        if id(node) in self.active:
            raise YamlError("an alias refers to the node that contains it (recursive anchor)",
                            location=self.location(node), hint="an anchor cannot be used inside itself")
        self.count += 1
        if self.count > MAX_CONSTRUCTED_NODES:
            raise YamlError("excessive aliasing: the document expands to too many nodes",
                            location=self.location(node), hint="do not nest aliases of aliases")
        if path not in self.sources.locations:
            self.sources.set(path, self.location(node))
        tag = node.tag
        self.active.add(id(node))
        try:
            if tag == RESET_TAG:
                return Reset(self._construct_untagged(node, path, yaml))
            if tag == OVERRIDE_TAG:
                return Override(self._construct_untagged(node, path, yaml))
            return self._construct_untagged(node, path, yaml)
        finally:
            self.active.discard(id(node))

    def _construct_untagged(self, node: Any, path: KeyPath, yaml: Any) -> Any:
        if isinstance(node, yaml.ScalarNode):
            if node.style:  # quoted or block scalar: always a string (plain style is None or "")
                return node.value
            # Plain scalars: PyYAML resolved them by YAML 1.1; re-resolve by the 1.2 core schema.
            return resolve_plain_scalar(node.value)
        if isinstance(node, yaml.SequenceNode):
            return [self.construct(item, path + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self._construct_mapping(node, path, yaml)
        raise YamlError(f"unsupported YAML node {type(node).__name__}", location=self.location(node))

    def _construct_mapping(self, node: Any, path: KeyPath, yaml: Any) -> dict[str, Any]:
        result: dict[Any, Any] = {}
        explicit_lines: dict[Any, int] = {}
        merged: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG or (
                    isinstance(key_node, yaml.ScalarNode) and key_node.value == "<<" and not key_node.style):
                merged.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError("a mapping key must be a plain value, not a list or a mapping",
                                location=self.location(key_node))
            key = key_node.value if key_node.style else resolve_plain_scalar(key_node.value)
            # compose-go reads keys as strings: `80: x` has key "80", `true: x` key "true".
            key = key_node.value if key is not None and not isinstance(key, str) else key
            if key is None:
                key = key_node.value
            if key in explicit_lines:
                raise YamlError(
                    f'mapping key "{key}" already defined at line {explicit_lines[key]}',
                    location=Location(self.filename, key_node.start_mark.line + 1,
                                      key_node.start_mark.column + 1, None),
                    hint="remove one of the two entries or merge them into one",
                )
            explicit_lines[key] = key_node.start_mark.line + 1
            self.sources.set(path + (key,), self.location(key_node))
            result[key] = self.construct(value_node, path + (key,))
        if merged:
            result = self._apply_merge_keys(result, merged, path, yaml)
        return result

    def _apply_merge_keys(self, explicit: dict[Any, Any], merged: list[Any], path: KeyPath,
                          yaml: Any) -> dict[Any, Any]:
        sources_in_order: list[Any] = []
        for value_node in merged:
            if isinstance(value_node, yaml.SequenceNode):
                sources_in_order.extend(value_node.value)
            else:
                sources_in_order.append(value_node)
        base: dict[Any, Any] = {}
        # Earlier mappings in a `<<: [a, b]` list win over later ones; explicit keys win over all of them.
        for source in reversed(sources_in_order):
            if not isinstance(source, yaml.MappingNode):
                raise YamlError("the value of a `<<` merge key must be a mapping or a list of mappings",
                                location=self.location(source))
            if id(source) in self.active:
                raise YamlError("a `<<` merge key refers to the mapping that contains it (recursive anchor)",
                                location=self.location(source), hint="an anchor cannot be merged into itself")
            self.active.add(id(source))
            try:
                value = self._construct_mapping(source, path, yaml)
            finally:
                self.active.discard(id(source))
            base.update(value)
        base.update(explicit)
        return base


@functools.cache
def _loader_class() -> type:
    """libyaml's parser and composer with no implicit resolvers: we resolve plain scalars ourselves (YAML 1.2),
    so PyYAML's YAML 1.1 regexes would only cost time."""
    import yaml
    from yaml.resolver import BaseResolver

    try:
        from yaml.cyaml import CParser as Parser  # type: ignore[attr-defined]
    except ImportError:  # no libyaml: the pure-Python parser and composer
        from yaml.composer import Composer
        from yaml.parser import Parser as PyParser
        from yaml.reader import Reader
        from yaml.scanner import Scanner

        class Parser(Reader, Scanner, PyParser, Composer):  # type: ignore[no-redef]
            def __init__(self, stream: str) -> None:
                Reader.__init__(self, stream)
                Scanner.__init__(self)
                PyParser.__init__(self)
                Composer.__init__(self)

    class NodeLoader(Parser, BaseResolver):  # type: ignore[misc,valid-type]
        def __init__(self, stream: str) -> None:
            Parser.__init__(self, stream)
            BaseResolver.__init__(self)

    del yaml
    return NodeLoader


def load_yaml(text: str, filename: str) -> tuple[Any, SourceMap]:
    """Parse one compose file. Returns the document (``None`` when empty) and where each node came from."""
    documents, sources = load_yaml_documents(text, filename)
    return (documents[0] if documents else None), sources


def load_yaml_documents(text: str, filename: str) -> tuple[list[Any], SourceMap]:
    """Every document of a multi-document YAML stream; compose merges them in order."""
    import yaml

    loader_cls = _loader_class()
    sources = SourceMap()
    constructor = _Constructor(filename, sources)
    documents: list[Any] = []
    try:
        loader = loader_cls(text)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is not None:
                    memo: dict[int, int] = {}
                    # Without a `*` in the text there is no alias, so nothing can expand.
                    expanded = _expanded_size(node, memo, set()) if "*" in text else 0
                    # Refuse documents that aliases blow up: past 250k nodes at more than 10 built per node
                    # written (templates reused by hundreds of services stay far below either bound).
                    if expanded > MAX_CONSTRUCTED_NODES or (
                            expanded > ALIAS_EXPANSION_FLOOR and expanded > ALIAS_EXPANSION_RATIO * len(memo)):
                        raise YamlError("excessive aliasing: the document expands to too many nodes",
                                        location=Location(filename, node.start_mark.line + 1, 1, None),
                                        hint="do not nest aliases of aliases")
                    documents.append(constructor.construct(node, ()))
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(filename, mark.line + 1, mark.column + 1, None) if mark else Location(filename)
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{problem} ({exc.context})"
        raise YamlError(problem, location=location, hint="check the indentation and quoting near this line") from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", location=Location(filename)) from None
    return documents, sources


def _expanded_size(node: Any, memo: dict[int, int], active: set[int]) -> int:
    """How many nodes constructing ``node`` creates once every alias is expanded; linear in the node graph,
    so an alias bomb is refused before any of it is built. A recursive anchor counts once here (the
    constructor reports it)."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        return 1
    active.add(key)
    size = 1
    value = node.value
    if isinstance(value, list):
        for item in value:
            if isinstance(item, tuple):
                size += _expanded_size(item[0], memo, active) + _expanded_size(item[1], memo, active)
            else:
                size += _expanded_size(item, memo, active)
            if size > MAX_CONSTRUCTED_NODES:
                break
    active.discard(key)
    memo[key] = size
    return size


def strip_merge_tags(value: Any) -> Any:
    """Resolve ``!reset``/``!override`` wrappers left after merging: reset keys vanish, overrides unwrap."""
    if isinstance(value, Override):
        return strip_merge_tags(value.value)
    if isinstance(value, dict):
        return {k: strip_merge_tags(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [strip_merge_tags(v) for v in value if not isinstance(v, Reset)]
    if isinstance(value, Reset):
        return None
    return value
