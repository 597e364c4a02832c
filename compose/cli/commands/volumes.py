"""hoist volumes: the project's volumes (those with its com.docker.compose.project label), as docker compose
lists them; with SERVICEs, only the volumes their running containers mount (compose looks at running
containers only: a stopped service's volumes are not listed)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from runtime.api import EngineAPI, VolumeInfo

HELP = "List volumes"

# docker's volume formatter: the default table and the header of each field in a `table` template.
DEFAULT_TABLE = "table {{.Driver}}\t{{.Name}}"
HEADERS = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
           "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Availability": "AVAILABILITY", "Group": "GROUP",
           "Status": "STATUS", "CreatedAt": "CREATED"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="only display volume names")
    parser.add_argument("--format", default="table",
                        help='format the output: "table", "table TEMPLATE", "json" or a Go template '
                             "({{.Name}}, {{json .}})")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def project_volumes(engine: EngineAPI, project: str, services: Iterable[str] = ()) -> list[VolumeInfo]:
    """The project's volumes; with ``services``, only those mounted by the running containers of these
    services (one-off containers included), as compose's ``volumes`` selects them."""
    from compose import labels as L
    from compose.listing import project_containers

    volumes = engine.volume_list(labels=L.project_filter(project))
    wanted = list(services)
    if not wanted:
        return volumes
    used: set[str] = set()
    for c in project_containers(engine, project, services=wanted, oneoff=None, all=False):
        used.update(m.source for m in (c.spec.mounts if c.spec else []) if m.type == "volume" and m.source)
        used.update(engine.container_anonymous_volumes(c.id).values())
    return [v for v in volumes if v.name in used]


def volume_row(v: VolumeInfo) -> dict[str, Any]:
    """The fields docker's volume formatter offers to templates and prints as JSON."""
    return {"Availability": "N/A", "Driver": v.driver, "Group": "N/A",
            "Labels": ",".join(f"{k}={val}" for k, val in sorted(v.labels.items())), "Links": "N/A",
            "Mountpoint": v.mountpoint, "Name": v.name, "Scope": "local", "Size": "N/A", "Status": "N/A"}


def align(lines: list[str], *, minwidth: int = 10, padding: int = 3) -> list[str]:
    """Tab-separated cells in columns, as Go's tabwriter does it for docker's tables (minimum width 10,
    padding 3); the last cell of a line is not padded."""
    rows = [line.split("\t") for line in lines]
    ncols = max((len(r) - 1 for r in rows), default=0)
    widths = [max([len(r[i]) + padding for r in rows if len(r) - 1 > i] + [minwidth]) for i in range(ncols)]
    return ["".join(cell.ljust(widths[i]) if i < len(r) - 1 else cell for i, cell in enumerate(r)) for r in rows]


def render(volumes: list[VolumeInfo], fmt: str) -> list[str]:
    """The output lines for ``--format`` (table, json, a Go template, ``table`` + a Go template)."""
    import json

    from compose.cli.gotemplate import render_template

    rows = [volume_row(v) for v in volumes]
    if fmt == "json":
        return [json.dumps(r, separators=(",", ":")) for r in rows]
    if fmt == "table":
        fmt = DEFAULT_TABLE
    if fmt.startswith("table"):
        template = fmt[len("table"):].lstrip()
        header = render_template(template, dict(HEADERS))
        return align([header] + [render_template(template, r) for r in rows])
    if "{{" not in fmt:
        from compose.errors import UsageError

        raise UsageError(f"unsupported format {fmt!r}", hint='use "table", "json" or a Go template')
    return [render_template(fmt, r) for r in rows]


def run(args: argparse.Namespace) -> int:
    import sys

    from compose.cli.projectctx import light_context
    from compose.errors import UsageError

    ctx = light_context(args)
    for name in args.services:
        if ctx.known is not None and name not in ctx.known:
            raise UsageError(f"no such service: {name}")
    volumes = project_volumes(ctx.engine, ctx.name, args.services)
    lines = [v.name for v in volumes] if args.quiet else render(volumes, args.format)
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0
