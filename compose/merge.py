"""Merging compose files (``-f a -f b``, override files, extends) by compose's rules.

Works on the raw YAML trees (after interpolation, before normalization), like compose-go's ``override``:

- mappings merge key by key, the later file wins for scalars;
- sequences are appended, except: ``command``/``entrypoint``/``healthcheck.test`` are replaced; ``ports``
  are unique by (host ip, target, published, protocol); ``volumes``/``secrets``/``configs``/``devices`` by
  their target; ``links`` by service; a set of string lists (``cap_add``, ``profiles``, ``dns``...) are
  deduplicated;
- ``environment``, ``labels``, ``annotations``, ``sysctls``, ``build.args``... merge as maps whatever form they
  are written in, and come out as ``KEY=VALUE`` lists (as compose-go prints them);
- ``networks``, ``depends_on`` and ``models`` of a service merge as maps (a list is read as keys);
- ``!reset`` drops what earlier files set; ``!override`` replaces without merging.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from compose.sourcemap import KeyPath, SourceMap
from compose.yamlfile import Override, Reset, strip_merge_tags

# Mapping-or-list attributes merged as maps and emitted as KEY=VALUE lists, by their path below a service.
_ENV_LIKE_SERVICE = {("environment",), ("labels",), ("annotations",), ("sysctls",), ("build", "args"),
                     ("build", "labels"), ("deploy", "labels"), ("build", "additional_contexts")}
_ENV_LIKE_RESOURCE = {("labels",)}
_REPLACED_SERVICE = {("command",), ("entrypoint",), ("healthcheck", "test")}
_UNIQUE_STRINGS_SERVICE = {
    ("cap_add",), ("cap_drop",), ("profiles",), ("dns",), ("dns_opt",), ("dns_search",), ("tmpfs",),
    ("expose",), ("security_opt",), ("external_links",), ("device_cgroup_rules",), ("group_add",),
    ("build", "tags"), ("build", "platforms"), ("build", "platform"), ("build", "cache_from"), ("build", "cache_to"),
    ("extra_hosts",), ("volumes_from",),
}
_STRING_OR_LIST_SERVICE = {("dns",), ("dns_search",), ("env_file",), ("tmpfs",), ("label_file",),
                           ("build", "platforms")}
_MAPIFIED_SERVICE = {("networks",), ("depends_on",), ("models",)}


def merge_documents(base: Any, override: Any, base_sources: SourceMap | None = None,
                    override_sources: SourceMap | None = None) -> tuple[Any, SourceMap]:
    """``override`` merged on top of ``base`` (neither is modified) and the merged source map."""
    out_sources = SourceMap(dict(base_sources.locations) if base_sources else {})
    merger = _Merger(override_sources or SourceMap(), out_sources)
    base = strip_merge_tags(base) if base is not None else {}
    result = merger.merge(copy.deepcopy(base), override, (), ())
    return strip_merge_tags(result), out_sources


class _Merger:
    def __init__(self, override_sources: SourceMap, out: SourceMap) -> None:
        self.osrc = override_sources
        self.out = out
        self._index: dict[KeyPath, list[KeyPath]] | None = None

    def take(self, value: Any, opath: KeyPath, rpath: KeyPath) -> Any:
        """Place an override subtree at ``rpath``; carry its locations."""
        if self._index is None:
            index: dict[KeyPath, list[KeyPath]] = {}
            for p in self.osrc.locations:
                for i in range(len(p) + 1):
                    index.setdefault(p[:i], []).append(p)
            self._index = index
        n = len(opath)
        for p in self._index.get(opath, ()):
            self.out.locations[rpath + p[n:]] = self.osrc.locations[p]
        return strip_merge_tags(value)

    def merge(self, base: Any, over: Any, opath: KeyPath, rpath: KeyPath) -> Any:
        if isinstance(over, Override):
            return self.take(over.value, opath, rpath)
        if isinstance(over, Reset):
            return _RESET
        rule = _rule_for(rpath)
        if rule is not None:
            return rule(self, base, over, opath, rpath)
        if isinstance(base, dict) and isinstance(over, dict):
            return self.merge_maps(base, over, opath, rpath)
        if isinstance(base, list) and isinstance(over, list):
            start = len(base)
            return base + [self.take(v, opath + (i,), rpath + (start + i,)) for i, v in enumerate(over)]
        return self.take(over, opath, rpath)

    def merge_maps(self, base: dict[str, Any], over: dict[str, Any], opath: KeyPath,
                   rpath: KeyPath) -> dict[str, Any]:
        result = dict(base)
        for key, value in over.items():
            if key in result and not isinstance(value, (Override, Reset)):
                merged = self.merge(result[key], value, opath + (key,), rpath + (key,))
            elif isinstance(value, Reset):
                merged = _RESET
            else:
                merged = self.take(value.value if isinstance(value, Override) else value,
                                   opath + (key,), rpath + (key,))
            if merged is _RESET:
                result.pop(key, None)
            else:
                result[key] = merged
        return result


_RESET = object()


# --------------------------------------------------------------------------------------------- rules


def _service_rel(rpath: KeyPath) -> KeyPath | None:
    if len(rpath) >= 3 and rpath[0] == "services":
        return rpath[2:]
    return None


def _rule_for(rpath: KeyPath) -> Callable[..., Any] | None:
    rel = _service_rel(rpath)
    if rel is not None:
        if rel in _REPLACED_SERVICE:
            return _replace
        if rel in (("extra_hosts",), ("build", "extra_hosts")):
            return _merge_extra_hosts
        if rel in _ENV_LIKE_SERVICE:
            return _merge_env_like
        if rel in _UNIQUE_STRINGS_SERVICE or rel in _STRING_OR_LIST_SERVICE:
            return _merge_string_list
        if rel in _MAPIFIED_SERVICE:
            return _merge_mapified
        if rel in (("ports",), ("volumes",), ("secrets",), ("configs",), ("devices",), ("links",),
                   ("build", "secrets")):
            return _merge_unique
        if rel == ("ulimits",):
            return _merge_ulimits
        if rel == ("logging",):
            return _merge_logging
        if rel == ("build",):
            return _merge_build
        if len(rel) == 3 and rel[0] == "networks" and rel[2] in ("aliases", "link_local_ips"):
            return _merge_string_list
        return None
    if len(rpath) == 3 and rpath[0] in ("networks", "volumes", "secrets", "configs") and rpath[2] == "labels":
        return _merge_env_like
    if len(rpath) == 4 and rpath[0] == "networks" and rpath[2:] == ("ipam", "config"):
        return _merge_unique
    if len(rpath) == 3 and rpath[0] == "models" and rpath[2] == "runtime_flags":
        return _replace
    return None


def _replace(m: _Merger, base: Any, over: Any, opath: KeyPath, rpath: KeyPath) -> Any:
    return m.take(over, opath, rpath)


def _env_entries(value: Any) -> list[tuple[str, str | None]]:
    """KEY/VALUE pairs of a mapping or a KEY=VALUE list (``KEY`` alone has no value)."""
    if isinstance(value, dict):
        # A YAML mapping has no order for compose-go (a Go map): it becomes a list in key order.
        return [(str(k), None if v is None else _scalar_text(v)) for k, v in sorted(value.items())]
    if isinstance(value, list):
        pairs: list[tuple[str, str | None]] = []
        for item in value:
            text = _scalar_text(item)
            key, sep, val = text.partition("=")
            pairs.append((key, val if sep else None))
        return pairs
    if value is None:
        return []
    return [(_scalar_text(value), None)]


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _env_list(pairs: dict[str, str | None]) -> list[str]:
    return [k if v is None else f"{k}={v}" for k, v in pairs.items()]


def _merge_env_like(m: _Merger, base: Any, over: Any, opath: KeyPath, rpath: KeyPath) -> Any:
    if base is None:
        return m.take(over, opath, rpath)
    merged = dict(_env_entries(base))
    for key, value in _env_entries(strip_merge_tags(over)):
        merged[key] = value
    m.take(over, opath, rpath)
    return _env_list(merged)


def _host_entries(value: Any) -> list[str]:
    if isinstance(value, dict):
        out = []
        for host, ips in value.items():
            for ip in (ips if isinstance(ips, list) else [ips]):
                out.append(f"{host}={ip}")
        return out
    if isinstance(value, list):
        return [str(v) for v in value]
    return [] if value is None else [str(value)]


def _merge_extra_hosts(m: _Merger, base: Any, over: Any, opath: KeyPath, rpath: KeyPath) -> Any:
    if base is None:
        return m.take(over, opath, rpath)
    over = strip_merge_tags(over)
    if isinstance(base, dict) and isinstance(over, dict):
        hosts: dict[str, list[Any]] = {k: list(_as_list(v)) for k, v in base.items()}
        for host, ips in over.items():
            known = hosts.setdefault(host, [])
            known.extend(ip for ip in _as_list(ips) if ip not in known)
        return _host_entries({k: hosts[k] for k in sorted(hosts)})
    result = _host_entries(base)
    for entry in _host_entries(strip_merge_tags(over)):
        if entry not in result:
            result.append(entry)
    return result


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _merge_string_list(m: _Merger, base: Any, over: Any, opath: KeyPath, rpath: KeyPath) -> Any:
    if base is None:
        return m.take(over, opath, rpath)
    rel = _service_rel(rpath) or ()
    result = list(_as_list(base))
    dedupe = rel in _UNIQUE_STRINGS_SERVICE or (len(rel) == 3 and rel[0] == "networks")
    for item in _as_list(strip_merge_tags(over)):
        if not dedupe or item not in result:
            result.append(item)
    return result


def _as_map(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return {str(v): None for v in value}
    return {}


def _merge_mapified(m: _Merger, base: Any, over: Any, opath: KeyPath, rpath: KeyPath) -> Any:
    if base is None:
        return m.take(over, opath, rpath)
    # A list entry means "defaults": null for networks/models, compose's default condition for depends_on.
    def default() -> Any:
        return {"condition": "service_started", "required": True} if rpath[-1] == "depends_on" else None

    base_map = {k: (default() if v is None else v) for k, v in _as_map(base).items()} \
        if isinstance(base, list) else _as_map(base)
    if isinstance(over, list):
        for item in over:
            base_map.setdefault(str(item), default())
        return base_map
    result = dict(base_map)
    for key, value in (over or {}).items():
        if isinstance(value, Reset):
            result.pop(key, None)
        elif key in result and isinstance(result[key], dict) and isinstance(value, dict):
            result[key] = m.merge_maps(result[key], value, opath + (key,), rpath + (key,))
        else:
            result[key] = m.take(value, opath + (key,), rpath + (key,))
    return result


def _merge_ulimits(m: _Merger, base: Any, over: Any, opath: KeyPath, rpath: KeyPath) -> Any:
    if not isinstance(base, dict) or not isinstance(over, dict):
        return m.take(over, opath, rpath)
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, Reset):
            result.pop(key, None)
        else:
            result[key] = m.take(value, opath + (key,), rpath + (key,))
    return result


def _merge_logging(m: _Merger, base: Any, over: Any, opath: KeyPath, rpath: KeyPath) -> Any:
    if not isinstance(base, dict) or not isinstance(over, dict):
        return m.take(over, opath, rpath)
    if over.get("driver") is not None and base.get("driver") not in (None, over.get("driver")):
        return m.take(over, opath, rpath)  # another driver: its options mean nothing to the old one
    return m.merge_maps(base, over, opath, rpath)


def _merge_build(m: _Merger, base: Any, over: Any, opath: KeyPath, rpath: KeyPath) -> Any:
    if isinstance(base, str):
        base = {"context": base}
    if isinstance(over, str):
        if not isinstance(base, dict):
            return m.take(over, opath, rpath)
        over = {"context": over}
    if isinstance(base, dict) and isinstance(over, dict):
        return m.merge_maps(base, over, opath, rpath)
    return m.take(over, opath, rpath)


# ------------------------------------------------------------------------------------ unique-key lists


def unique_key(kind: str, item: Any) -> Any:
    """The identity of an entry of a unique-key list (``ports``, ``volumes``, ...); ``None`` = no identity."""
    if kind == "ports":
        from compose.normalize import parse_port_spec

        try:
            ports = parse_port_spec(item)
        except Exception:
            return ("raw", repr(item))
        return tuple((p.get("host_ip"), p.get("target"), p.get("published"), p.get("protocol", "tcp"))
                     for p in ports)
    if kind == "volumes":
        if isinstance(item, dict):
            return item.get("target")
        from compose.normalize import parse_volume_spec

        try:
            return parse_volume_spec(str(item)).get("target")
        except Exception:
            return item
    if kind in ("secrets", "configs"):
        if isinstance(item, dict):
            target = item.get("target")
            source = item.get("source")
            return target or (f"/run/secrets/{source}" if kind == "secrets" else f"/{source}")
        return f"/run/secrets/{item}" if kind == "secrets" else f"/{item}"
    if kind == "devices":
        if isinstance(item, dict):
            return item.get("target") or item.get("source")
        parts = str(item).split(":")
        return parts[1] if len(parts) > 1 else parts[0]
    if kind == "links":
        text = str(item)
        for sep in (":", "="):
            if sep in text:
                return text.split(sep, 1)[0]
        return text
    if kind == "config":  # networks.X.ipam.config
        return item.get("subnet") if isinstance(item, dict) else item
    if kind == "secrets_build":
        return item.get("source") if isinstance(item, dict) else item
    return repr(item)


def _merge_unique(m: _Merger, base: Any, over: Any, opath: KeyPath, rpath: KeyPath) -> Any:
    kind = str(rpath[-1]) if rpath[-2] != "build" else "secrets_build"
    result = list(_as_list(base))
    positions = {unique_key(kind, item): i for i, item in enumerate(result)}
    for i, item in enumerate(_as_list(over)):
        key = unique_key(kind, strip_merge_tags(item))
        if key in positions and key is not None:
            at = positions[key]
            if kind == "config" and isinstance(result[at], dict) and isinstance(item, dict):
                result[at] = m.merge_maps(result[at], item, opath + (i,), rpath + (at,))
            else:
                result[at] = m.take(item, opath + (i,), rpath + (at,))
        else:
            positions[key] = len(result)
            result.append(m.take(item, opath + (i,), rpath + (len(result),)))
    return result
