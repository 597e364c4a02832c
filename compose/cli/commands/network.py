"""hoist network: manage networks (docker network's sub-commands and flags)."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "Manage networks"
# Network modes Docker lists as pre-defined networks; `network rm` refuses them as `docker network rm` does.
# ("bridge" is not here: hoist makes it on demand and removes it with its last container, and a user may
# create it explicitly to choose its subnet; removing that one must stay possible.)
PREDEFINED_NETWORKS = ("host", "none")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="network_command", metavar="COMMAND", required=True)
    p = sub.add_parser("create", help="Create a network")
    p.add_argument("-d", "--driver", default="bridge", help="driver to manage the network (bridge)")
    p.add_argument("--subnet", action="append", default=[], help="subnet in CIDR format")
    p.add_argument("--gateway", action="append", default=[], help="IPv4 gateway for the subnet")
    p.add_argument("--ip-range", action="append", default=[], help="allocate container IPs from a sub-range")
    p.add_argument("--aux-address", action="append", default=[], help="auxiliary addresses (NAME=IP) to reserve")
    p.add_argument("--internal", action="store_true", help="restrict external access to the network")
    p.add_argument("--attachable", action="store_true", help="enable manual container attachment")
    p.add_argument("--ipv6", action="store_true", help="enable IPv6 networking (not supported)")
    p.add_argument("--label", action="append", default=[], help="set metadata on a network")
    p.add_argument("-o", "--opt", action="append", default=[], help="set driver specific options")
    p.add_argument("name", metavar="NETWORK")
    p = sub.add_parser("ls", aliases=["list"], help="List networks")
    p.add_argument("-q", "--quiet", action="store_true", help="only display network IDs")
    p.add_argument("-f", "--filter", action="append", default=[],
                   help="filter output (label=KEY[=VALUE], name=, id=, driver=)")
    p.add_argument("--format", default=None, help="'json' for one JSON object per line")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate the output")
    p = sub.add_parser("inspect", help="Display detailed information on one or more networks")
    p.add_argument("-f", "--format", default=None, help="'json' (the default)")
    p.add_argument("names", nargs="+", metavar="NETWORK")
    p = sub.add_parser("rm", aliases=["remove"], help="Remove one or more networks")
    p.add_argument("-f", "--force", action="store_true", help="do not error if the network does not exist")
    p.add_argument("names", nargs="+", metavar="NETWORK")
    p = sub.add_parser("prune", help="Remove all unused networks")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="filter (label=KEY[=VALUE])")
    p = sub.add_parser("connect", help="Connect a container to a network")
    p.add_argument("--ip", default=None, help="IPv4 address")
    p.add_argument("--alias", action="append", default=[], help="add network-scoped alias for the container")
    p.add_argument("network", metavar="NETWORK")
    p.add_argument("container", metavar="CONTAINER")
    p = sub.add_parser("disconnect", help="Disconnect a container from a network")
    p.add_argument("-f", "--force", action="store_true", help="force the container to disconnect")
    p.add_argument("network", metavar="NETWORK")
    p.add_argument("container", metavar="CONTAINER")


def _kv(items: list[str], what: str) -> dict[str, str]:
    from runtime.errors import InvalidSpec

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise InvalidSpec(f"invalid {what} {item!r}", hint=f"write {what} as KEY=VALUE")
        out[key] = value if sep else ""
    return out


def _filters(filters: list[str]) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    from runtime.errors import InvalidSpec

    labels: dict[str, str | None] = {}
    other: dict[str, list[str]] = {}
    for f in filters:
        key, _, value = f.partition("=")
        if key == "label":
            k, sep, v = value.partition("=")
            labels[k] = v if sep else None
        elif key in ("name", "id", "driver"):
            other.setdefault(key, []).append(value)
        else:
            raise InvalidSpec(f"invalid filter {f!r}", hint="supported: label=KEY[=VALUE], name=, id=, driver=")
    return labels, other


def _one(values: list[str], flag: str) -> str | None:
    from runtime.errors import InvalidSpec

    if len(values) > 1:
        raise InvalidSpec(f"only one {flag} is supported (IPv4 bridge networks)")
    return values[0] if values else None


def create_spec(args: argparse.Namespace) -> Any:
    from runtime.api import IPAMConfig, NetworkSpec
    from runtime.errors import InvalidSpec

    if args.ipv6:
        raise InvalidSpec("IPv6 networks are not supported", hint="leave out --ipv6")
    subnet = _one(args.subnet, "--subnet")
    gateway, ip_range = _one(args.gateway, "--gateway"), _one(args.ip_range, "--ip-range")
    if (gateway or ip_range or args.aux_address) and not subnet:
        raise InvalidSpec("--gateway, --ip-range and --aux-address need a --subnet")
    ipam = [IPAMConfig(subnet=subnet, gateway=gateway, ip_range=ip_range,
                       aux_addresses=_kv(args.aux_address, "--aux-address"))] if subnet else []
    return NetworkSpec(name=args.name, driver=args.driver, internal=args.internal, attachable=args.attachable,
                       labels=_kv(args.label, "--label"), ipam=ipam, options=_kv(args.opt, "--opt"))


def inspect_document(manager: Any, ref: str) -> dict[str, Any]:
    """``docker network inspect``'s shape."""
    n, eps, ctrs = manager.network_details(ref)
    prefix = n.subnet.split("/")[1]
    config: dict[str, Any] = {"Subnet": n.subnet, "Gateway": n.gateway}
    if n.ip_range != n.subnet:
        config["IPRange"] = n.ip_range
    return {
        "Name": n.name, "Id": n.id, "Created": n.created, "Scope": "local", "Driver": n.driver,
        "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": {}, "Config": [config]},
        "Internal": n.internal, "Attachable": n.attachable, "Ingress": False,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
        "Containers": {e.container_id: {
            "Name": ctrs[e.container_id].name if e.container_id in ctrs else "",
            "EndpointID": e.endpoint_id, "MacAddress": e.mac, "IPv4Address": f"{e.ip}/{prefix}",
            "IPv6Address": ""} for e in eps},
        "Options": {"com.docker.network.bridge.name": n.bridge, **n.options},
        "Labels": n.labels,
    }


def render_field(template: str, doc: dict[str, Any]) -> str:
    """The one Go-template shape scripts use with inspect: ``{{.A.B}}`` or ``{{json .A.B}}``."""
    import re

    from runtime.errors import InvalidSpec

    m = re.fullmatch(r"\{\{\s*(json\s+)?\.([\w.]*)\s*\}\}", template.strip())
    if not m:
        raise InvalidSpec(f"unsupported --format {template!r}",
                          hint="use json, {{.Field.Sub}} or {{json .Field}}")
    value: Any = doc
    for key in filter(None, m.group(2).split(".")):
        if not isinstance(value, dict) or key not in value:
            raise InvalidSpec(f"--format: no field {key!r} in {m.group(2)!r}")
        value = value[key]
    if m.group(1) or isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def run(args: argparse.Namespace) -> int:
    from runtime.api import EndpointSpec
    from runtime.engine import open_engine
    from runtime.errors import Conflict, NotFound

    engine = open_engine()
    cmd = args.network_command
    if cmd == "create":
        print(engine.network_create(create_spec(args)).id)
    elif cmd in ("ls", "list"):
        labels, other = _filters(args.filter)
        nets = [n for n in engine.network_list(labels=labels or None)
                if ("name" not in other or any(v in n.name for v in other["name"]))
                and ("id" not in other or any(n.id.startswith(v) for v in other["id"]))
                and ("driver" not in other or n.driver in other["driver"])]
        width = 64 if args.no_trunc else 12
        if args.quiet:
            for n in nets:
                print(n.id[:width])
        elif args.format == "json":
            for n in nets:
                print(json.dumps({"ID": n.id[:width], "Name": n.name, "Driver": n.driver, "Scope": "local",
                                  "Internal": str(n.internal).lower(), "Labels": ",".join(
                                      f"{k}={v}" for k, v in n.labels.items()), "CreatedAt": n.created}))
        else:
            print(f"{'NETWORK ID':<{width + 3}}{'NAME':<30}{'DRIVER':<10}SCOPE")
            for n in nets:
                print(f"{n.id[:width]:<{width + 3}}{n.name:<30}{n.driver:<10}local")
    elif cmd == "inspect":
        manager = engine.network_manager()
        docs = [inspect_document(manager, r) for r in args.names]
        if args.format in (None, "", "json"):
            print(json.dumps(docs, indent=4))
        else:
            for doc in docs:
                print(render_field(args.format, doc))
    elif cmd in ("rm", "remove"):
        for name in args.names:
            if name in PREDEFINED_NETWORKS:
                raise Conflict(f"{name} is a pre-defined network and cannot be removed",
                               hint=f"network_mode: {name} needs no network to be created or removed")
            try:
                engine.network_remove(name)
            except NotFound:
                if args.force:
                    continue
                raise
            print(name)
    elif cmd == "prune":
        labels, _ = _filters(args.filter)
        removed = engine.network_manager().prune(labels or None)
        if removed:
            print("Deleted Networks:")
            for name in removed:
                print(name)
    elif cmd == "connect":
        engine.network_connect(args.network, args.container,
                               EndpointSpec(network=args.network, aliases=list(args.alias), ipv4_address=args.ip))
    elif cmd == "disconnect":
        engine.network_disconnect(args.network, args.container)
    return 0
