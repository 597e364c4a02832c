"""The subset of Go templates docker users type in ``--format`` (``ps``, ``image ls``, ``image inspect``)."""

from __future__ import annotations

from typing import Any


def render_template(template: str, row: dict[str, Any]) -> str:
    """The subset of Go templates docker users type: ``{{.Field}}``, ``{{json .}}``, ``{{json .Field}}``."""
    import json
    import re

    def substitute(m: re.Match[str]) -> str:
        expr = m.group(1).strip()
        if expr == "json .":
            return json.dumps(row, separators=(",", ":"))
        if expr.startswith("json ."):
            return json.dumps(row.get(expr[6:]), separators=(",", ":"))
        if expr.startswith("."):
            value = row.get(expr[1:], "")
            return json.dumps(value) if isinstance(value, dict | list) else str(value)
        from compose.errors import UsageError

        raise UsageError(f"template parsing error: unsupported expression {{{{{expr}}}}}",
                         hint="use {{.Field}} or {{json .}}")

    text = template.replace("\\t", "\t").replace("\\n", "\n")
    return re.sub(r"\{\{(.*?)\}\}", substitute, text)
