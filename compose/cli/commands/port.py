"""hoist port: the public address of a service's port, ``0.0.0.0:49153`` (pytest-docker reads the last line)."""

from __future__ import annotations

import argparse

HELP = "Print the public port for a port binding"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", type=int, default=1, help="index of the container if service has multiple "
                        "replicas")
    parser.add_argument("--protocol", default="tcp", choices=("tcp", "udp", "sctp"), help="tcp or udp")
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("private_port", metavar="PRIVATE_PORT")


def run(args: argparse.Namespace) -> int:
    from compose.cli.commands._pick import service_container
    from compose.cli.projectctx import project_context
    from compose.errors import OperationError, UsageError

    port, _, proto = args.private_port.partition("/")
    if not port.isdigit():
        raise UsageError(f"invalid port {args.private_port!r}")
    proto = proto or args.protocol
    ctx = project_context(args, need_file=False)
    c = service_container(ctx, args.service, args.index)
    for p in c.ports:
        if p.container_port == int(port) and p.protocol == proto and p.host_port:
            print(f"{p.host_ip or '0.0.0.0'}:{p.host_port}")
            return 0
    raise OperationError(f"no port {port}/{proto} published for {c.name}")
