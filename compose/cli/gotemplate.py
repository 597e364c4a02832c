"""The subset of Go templates docker users type in ``--format`` (``ps``, ``image ls``, ``image inspect``)."""

from __future__ import annotations

from collections.abc import Sequence
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


def tabwrite(lines: Sequence[str], minwidth: int = 10, padding: int = 3) -> str:
    """Go's tabwriter as the docker CLI sets it up (minwidth 10, padding 3): tab-separated cells aligned in
    columns; the last cell of a line is not padded."""
    split = [line.split("\t") for line in lines]
    widths: list[int] = []
    for cells in split:
        for i, cell in enumerate(cells[:-1]):
            width = max(minwidth, len(cell) + padding)
            if i == len(widths):
                widths.append(width)
            else:
                widths[i] = max(widths[i], width)
    return "".join("".join(cell.ljust(widths[i]) for i, cell in enumerate(cells[:-1])) + cells[-1] + "\n"
                   for cells in split)


def format_rows(rows: Sequence[dict[str, Any]], fmt: str, *, default_table: str, headers: dict[str, str]) -> str:
    """``rows`` as the docker CLI's ``--format`` prints them: "table" (``default_table``), "json" (an object a
    line), a Go template, or ``table`` + a template (with the header line, each field named by ``headers``,
    columns aligned by :func:`tabwrite`)."""
    import json

    if fmt == "json":
        return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
    if fmt == "table":
        fmt = default_table
    if fmt.startswith("table"):
        template = fmt[len("table"):].lstrip() or default_table[len("table"):].lstrip()
        return tabwrite([render_template(template, headers)] + [render_template(template, r) for r in rows])
    if "{{" not in fmt:
        from compose.errors import UsageError

        raise UsageError(f"unsupported format {fmt!r}", hint='use "table", "json" or a Go template ({{.Name}})')
    return "".join(render_template(fmt, r) + "\n" for r in rows)
