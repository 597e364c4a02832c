"""hoist images: the images the project's containers use."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "List images used by the created containers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="only display IDs")
    parser.add_argument("--format", default="table", choices=("table", "json"), help="format the output")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def _split(ref: str) -> tuple[str, str]:
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:
        return ref, "latest"
    return name, tag


def run(args: argparse.Namespace) -> int:
    import json

    from compose.cli.projectctx import check_services, project_context
    from runtime.errors import RuntimeErrorBase

    ctx = project_context(args, need_file=False)
    check_services(ctx, args.services)
    rows: list[dict[str, Any]] = []
    for c in ctx.orchestrator().containers(services=args.services, oneoff=None):
        try:
            info = ctx.engine.image_inspect(c.image_id or c.image)
            size = info.size
        except RuntimeErrorBase:
            size = 0
        repo, tag = _split(c.image)
        rows.append({"ContainerName": c.name, "Repository": repo, "Tag": tag, "ID": c.image_id, "Size": size})
    if args.quiet:
        for image_id in dict.fromkeys(r["ID"] for r in rows):
            print(str(image_id).removeprefix("sha256:")[:12])
    elif args.format == "json":
        print(json.dumps(rows))
    else:
        table = [("CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE")]
        for r in rows:
            table.append((str(r["ContainerName"]), str(r["Repository"]), str(r["Tag"]),
                          str(r["ID"]).removeprefix("sha256:")[:12], _size(int(r["Size"]))))
        widths = [max(len(t[i]) for t in table) for i in range(4)]
        for t in table:
            print("   ".join(v.ljust(w) for v, w in zip(t[:4], widths, strict=True)) + "   " + t[4])
    return 0


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.3g}{unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n:.3g}TB"
