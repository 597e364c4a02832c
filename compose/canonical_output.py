"""Print a canonical document the way compose-go marshals it (``docker compose config``), so users can diff.

YAML: two-space indentation with sequences indented under their key, double quotes only where a plain scalar
would read back as something else (numbers, booleans, octal, YAML 1.1 leftovers such as ``yes``), literal
blocks for multi-line strings, no line wrapping.
JSON: two-space indentation, ``<``, ``>`` and ``&`` escaped as Go does, top-level keys sorted, no ``x-*`` below
the top level, ``command``/``entrypoint`` always present, ``ipam`` always present on networks.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from compose.yamlfile import resolve_plain_scalar

_OLD_BOOLS = frozenset({"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON",
                        "off", "Off", "OFF"})
_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


def _needs_quotes(text: str) -> bool:
    if text == "" or text in _OLD_BOOLS or _BASE60.match(text):
        return True
    return not isinstance(resolve_plain_scalar(text), str)


@cache
def _dumper() -> type:
    import yaml

    class GoStyleDumper(yaml.SafeDumper):
        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False)

        def choose_scalar_style(self) -> str:
            style = super().choose_scalar_style()
            return '"' if style == "'" else style

        def ignore_aliases(self, data: Any) -> bool:
            return True

    def represent_str(dumper: Any, value: str) -> Any:
        if "\n" in value:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        if _needs_quotes(value):
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    def represent_float(dumper: Any, value: float) -> Any:
        text = repr(value)
        if text.endswith(".0"):
            text = text[:-2]
        if "e" in text:
            text = f"{value:.17g}"
        return dumper.represent_scalar("tag:yaml.org,2002:float", text)

    def represent_none(dumper: Any, value: None) -> Any:
        return dumper.represent_scalar("tag:yaml.org,2002:null", "null")

    GoStyleDumper.add_representer(str, represent_str)
    GoStyleDumper.add_representer(float, represent_float)
    GoStyleDumper.add_representer(type(None), represent_none)
    return GoStyleDumper


def to_yaml(document: Any) -> str:
    import yaml

    return yaml.dump(document, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=1 << 30,
                     default_flow_style=False, indent=2)


def _json_shape(document: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted(document):
        value = document[key]
        if key == "services":
            services = {}
            for name, svc in value.items():
                shaped = {k: v for k, v in svc.items() if not k.startswith("x-")}
                shaped.setdefault("command", None)
                shaped.setdefault("entrypoint", None)
                if isinstance(shaped.get("deploy"), dict):
                    shaped["deploy"] = _json_deploy(shaped["deploy"])
                if isinstance(shaped.get("blkio_config"), dict):
                    shaped["blkio_config"] = _json_blkio(shaped["blkio_config"])
                services[name] = _reorder_like(svc, shaped)
            value = services
        elif key == "networks":
            value = {name: _with_ipam(net) for name, net in value.items()}
        elif key in ("volumes", "secrets", "configs"):
            value = {name: {k: v for k, v in obj.items() if not k.startswith("x-")} for name, obj in value.items()}
        out[key] = value
    return out


def _json_deploy(deploy: dict[str, Any]) -> dict[str, Any]:
    """Go marshals the non-pointer ``resources`` and ``placement`` structs even when empty."""
    from compose.normalize import _DEPLOY_ORDER, _ordered

    return _ordered({"resources": {}, "placement": {}, **deploy}, _DEPLOY_ORDER)


def _json_blkio(blkio: dict[str, Any]) -> dict[str, Any]:
    """compose-go's device entries have no JSON tags: their keys print capitalized."""
    out = dict(blkio)
    for key, value in blkio.items():
        if isinstance(value, list):
            out[key] = [{k[:1].upper() + k[1:]: v for k, v in item.items()} if isinstance(item, dict) else item
                        for item in value]
    return out


def _reorder_like(original: dict[str, Any], shaped: dict[str, Any]) -> dict[str, Any]:
    from compose.normalize import SERVICE_KEY_ORDER

    rank = {k: i for i, k in enumerate(SERVICE_KEY_ORDER)}
    return {k: shaped[k] for k in sorted(shaped, key=lambda k: rank.get(k, len(rank)))}


def _with_ipam(net: dict[str, Any]) -> dict[str, Any]:
    net = {k: v for k, v in net.items() if not k.startswith("x-")}
    if "ipam" in net:
        return net
    out: dict[str, Any] = {}
    placed = False
    for k, v in net.items():
        if not placed and k not in ("name", "driver", "driver_opts"):
            out["ipam"] = {}
            placed = True
        out[k] = v
    if not placed:
        out["ipam"] = {}
    return out


def to_json(document: dict[str, Any]) -> str:
    text = json.dumps(_json_shape(document), indent=2, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
