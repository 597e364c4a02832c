"""hoist volume: manage volumes (docker volume's sub-commands and flags)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

HELP = "Manage volumes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="volume_command", metavar="COMMAND", required=True)
    p = sub.add_parser("create", help="Create a volume")
    p.add_argument("-d", "--driver", default="local", help="volume driver name")
    p.add_argument("-o", "--opt", action="append", default=[], help="driver specific options")
    p.add_argument("--label", action="append", default=[], help="set metadata for a volume")
    p.add_argument("name", nargs="?", default="", metavar="VOLUME")
    p = sub.add_parser("ls", aliases=["list"], help="List volumes")
    p.add_argument("-q", "--quiet", action="store_true", help="only display volume names")
    p.add_argument("-f", "--filter", action="append", default=[], help="filter output (label=KEY[=VALUE], name=)")
    p.add_argument("--format", default=None, help="'json' for one JSON object per line")
    p = sub.add_parser("inspect", help="Display detailed information on one or more volumes")
    p.add_argument("names", nargs="+", metavar="VOLUME")
    p = sub.add_parser("rm", aliases=["remove"], help="Remove one or more volumes")
    p.add_argument("-f", "--force", action="store_true", help="force the removal of one or more volumes")
    p.add_argument("names", nargs="+", metavar="VOLUME")
    p = sub.add_parser("prune", help="Remove unused volumes (anonymous ones unless --all)")
    p.add_argument("-a", "--all", action="store_true", help="remove all unused volumes, not just anonymous ones")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="filter (label=KEY[=VALUE])")


def _kv(items: list[str]) -> dict[str, str]:
    return {k: v for k, _, v in (i.partition("=") for i in items)}


def _label_filter(filters: list[str]) -> tuple[dict[str, str | None], list[str]]:
    from runtime.errors import InvalidSpec

    labels: dict[str, str | None] = {}
    names: list[str] = []
    for f in filters:
        key, _, value = f.partition("=")
        if key == "label":
            k, sep, v = value.partition("=")
            labels[k] = v if sep else None
        elif key == "name":
            names.append(value)
        else:
            raise InvalidSpec(f"invalid filter {f!r}", hint="supported: label=KEY[=VALUE], name=NAME")
    return labels, names


def _docker_shape(v: Any) -> dict[str, Any]:
    d = asdict(v)
    return {"CreatedAt": d["created"], "Driver": d["driver"], "Labels": d["labels"], "Mountpoint": d["mountpoint"],
            "Name": d["name"], "Options": {}, "Scope": "local"}


def run(args: argparse.Namespace) -> int:
    from runtime.api import VolumeSpec
    from runtime.engine import open_engine

    engine = open_engine()
    cmd = args.volume_command
    if cmd == "create":
        info = engine.volume_create(VolumeSpec(name=args.name, driver=args.driver, labels=_kv(args.label),
                                               driver_opts=_kv(args.opt)))
        print(info.name)
    elif cmd in ("ls", "list"):
        labels, names = _label_filter(args.filter)
        vols = [v for v in engine.volume_list(labels=labels or None) if not names or any(n in v.name for n in names)]
        if args.quiet:
            for v in vols:
                print(v.name)
        elif args.format == "json":
            for v in vols:
                print(json.dumps({"Driver": v.driver, "Name": v.name, "Labels": v.labels, "Mountpoint": v.mountpoint}))
        else:
            print(f"{'DRIVER':<15} VOLUME NAME")
            for v in vols:
                print(f"{v.driver:<15} {v.name}")
    elif cmd == "inspect":
        print(json.dumps([_docker_shape(engine.volume_inspect(n)) for n in args.names], indent=4))
    elif cmd in ("rm", "remove"):
        for name in args.names:
            engine.volume_remove(name, force=args.force)
            print(name)
    elif cmd == "prune":
        labels, _ = _label_filter(args.filter)
        removed = engine.volume_prune(labels=labels or None, all=args.all)
        if removed:
            print("Deleted Volumes:")
            for name in removed:
                print(name)
        print(f"\nTotal reclaimed space: {len(removed)} volume(s)")
    return 0
