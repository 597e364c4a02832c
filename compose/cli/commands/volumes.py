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


def render(volumes: list[VolumeInfo], fmt: str) -> str:
    """The output for ``--format`` (table, json, a Go template, ``table`` + a Go template)."""
    from compose.cli.gotemplate import format_rows

    return format_rows([volume_row(v) for v in volumes], fmt, default_table=DEFAULT_TABLE, headers=dict(HEADERS))


def run(args: argparse.Namespace) -> int:
    import sys

    from compose.cli.projectctx import light_context

    ctx = light_context(args)
    ctx.check_services(args.services)
    volumes = project_volumes(ctx.engine, ctx.name, args.services)
    sys.stdout.write("".join(f"{v.name}\n" for v in volumes) if args.quiet else render(volumes, args.format))
    return 0
