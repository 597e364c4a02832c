"""hoist ls: the projects found in the engine's labels, with their status counts and compose files."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.api import ContainerState, EngineAPI

HELP = "List running compose projects"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="show all stopped compose projects")
    parser.add_argument("-q", "--quiet", action="store_true", help="only display project names")
    parser.add_argument("--format", default="table", choices=("table", "json"), help="format the output")
    parser.add_argument("--filter", action="append", default=None, metavar="FILTER", help="filter output "
                        "based on conditions provided (name=...)")


def projects(engine: EngineAPI) -> list[dict[str, str]]:
    from compose import labels as L

    groups: dict[str, list[ContainerState]] = {}
    for c in engine.container_list(labels={L.PROJECT: None}):
        groups.setdefault(c.labels[L.PROJECT], []).append(c)
    out = []
    for name in sorted(groups):
        counts: dict[str, int] = {}
        files: list[str] = []
        for c in groups[name]:
            counts[c.status] = counts.get(c.status, 0) + 1
            for f in c.labels.get(L.CONFIG_FILES, "").split(","):
                if f and f not in files:
                    files.append(f)
        status = ", ".join(f"{s}({n})" for s, n in sorted(counts.items()))
        out.append({"Name": name, "Status": status, "ConfigFiles": ",".join(files)})
    return out


def run(args: argparse.Namespace) -> int:
    import json

    from compose.cli.projectctx import open_engine
    from compose.errors import UsageError

    found = projects(open_engine())
    if not args.all:
        found = [p for p in found if "running(" in p["Status"]]
    for f in args.filter or []:
        key, _, value = f.partition("=")
        if key != "name":
            raise UsageError(f"invalid filter {key!r}", hint="use name=PROJECT")
        found = [p for p in found if value in p["Name"]]
    if args.quiet:
        for p in found:
            print(p["Name"])
    elif args.format == "json":
        print(json.dumps(found))
    else:
        rows = [("NAME", "STATUS", "CONFIG FILES")] + [(p["Name"], p["Status"], p["ConfigFiles"]) for p in found]
        widths = [max(len(r[i]) for r in rows) for i in range(2)]
        for r in rows:
            print(f"{r[0].ljust(widths[0])}   {r[1].ljust(widths[1])}   {r[2]}")
    return 0
