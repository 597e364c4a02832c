"""hoist system: information about the engine, and pruning of what nothing uses (docker system's shapes)."""

from __future__ import annotations

import argparse
import os
import platform
from typing import Any

HELP = "Manage hoist's engine (info, prune)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="system_command", metavar="COMMAND", required=True)
    p = sub.add_parser("info", help="Display system-wide information")
    p.add_argument("--format", default=None, help="'json' for one JSON object")
    p = sub.add_parser("prune", help="Remove stopped containers, unused networks and dangling images")
    p.add_argument("-a", "--all", action="store_true", help="remove all unused images, not just dangling ones")
    p.add_argument("--volumes", action="store_true", help="prune anonymous volumes too")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")


def _info(engine: Any) -> dict[str, Any]:
    from runtime import naming
    from runtime.containers.cgroups import unified_mount

    states = engine.container_list(all=True)
    count = {s: sum(1 for c in states if c.status == s) for s in ("running", "paused")}
    return {
        "Root": str(engine.root), "RunDir": str(naming.run_dir(engine.root)),
        "Containers": len(states), "ContainersRunning": count["running"], "ContainersPaused": count["paused"],
        "ContainersStopped": len(states) - count["running"] - count["paused"],
        "Images": len(engine.image_list()), "Volumes": len(engine.volume_list()),
        "CgroupVersion": "2" if unified_mount() is not None else "1",
        "CgroupParent": naming.cgroup_parent(engine.root),
        "KernelVersion": platform.release(), "OperatingSystem": _os_name(), "Architecture": platform.machine(),
        "NCPU": os.cpu_count(), "LoggingDriver": "json-file", "Runtime": "hoist (built in)",
    }


def _os_name() -> str:
    try:
        for line in open("/etc/os-release", encoding="utf-8"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def run(args: argparse.Namespace) -> int:
    import json

    from runtime.engine import open_engine

    engine = open_engine()
    if args.system_command == "info":
        info = _info(engine)
        if args.format == "json":
            print(json.dumps(info))
        else:
            for key, value in info.items():
                print(f"{key}: {value}")
        return 0
    removed = engine.container_prune()
    print("Deleted Containers:" if removed else "No stopped containers.")
    for cid in removed:
        print(f"  {cid}")
    try:
        networks = engine.network_manager().prune()
    except Exception as exc:  # noqa: BLE001 - networking unavailable here: say so, prune the rest
        print(f"Networks not pruned: {exc}")
        networks = []
    for name in networks:
        print(f"Deleted Network: {name}")
    used = {s.image_id for s in engine.container_list(all=True)}
    report = engine.images.prune(all=args.all, in_use=lambda image_id: image_id in used)
    for line in report.deleted:
        print(line)
    volumes = engine.volume_prune() if args.volumes else []
    for name in volumes:
        print(f"Deleted Volume: {name}")
    print(f"\nTotal reclaimed space: {report.space_reclaimed} bytes of images; {len(removed)} container(s), "
          f"{len(networks)} network(s), {len(volumes)} volume(s)")
    return 0
