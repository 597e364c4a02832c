"""hoist ps: list the project's containers (running ones, all with -a), as a table, JSON lines, or ids."""

from __future__ import annotations

import argparse

HELP = "List containers"
STATES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from compose.cli.parsers import add_go_bool

    parser.add_argument("-a", "--all", action="store_true", help="show all stopped containers")
    parser.add_argument("-q", "--quiet", action="store_true", help="only display IDs")
    parser.add_argument("--services", dest="show_services", action="store_true", help="display services")
    parser.add_argument("--status", action="append", default=None, choices=STATES,
                        help="filter services by status")
    parser.add_argument("--filter", action="append", default=None, metavar="FILTER",
                        help="filter services by a property (status=running, service=web)")
    parser.add_argument("--format", default="table",
                        help='format the output: "table", "json" or a Go template ({{.Name}}, {{json .}})')
    parser.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    add_go_bool(parser, "--orphans",
                help="include orphaned services (not declared by project)")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from compose import labels as L
    from compose.cli.projectctx import light_context
    from compose.errors import UsageError
    from compose.summary import command_text, image_configs, ports_text, status_text, summary

    ctx = light_context(args)
    ctx.check_services(args.services)
    statuses = set(args.status or [])
    services = set(args.services)
    for f in args.filter or []:
        key, _, value = f.partition("=")
        if key == "status":
            statuses.add(value)
        elif key == "service":
            services.add(value)
        else:
            raise UsageError(f"invalid filter {key!r}", hint="use status=STATE or service=NAME")
    containers = ctx.containers(services=services, oneoff=None, all=True)
    if statuses:
        containers = [c for c in containers if c.status in statuses]
    elif not args.all:
        containers = [c for c in containers if c.status in ("running", "restarting", "paused")]
    if not args.orphans and ctx.services is not None:
        containers = [c for c in containers if c.labels.get(L.SERVICE) in ctx.services]
    out = sys.stdout
    if args.show_services:
        names = dict.fromkeys(c.labels.get(L.SERVICE, "") for c in containers)
        out.write("".join(f"{n}\n" for n in names))
        return 0
    if args.quiet:
        out.write("".join(f"{c.id}\n" for c in containers))  # full ids, as compose prints them
        return 0
    images = image_configs(ctx.engine, containers)
    if args.format == "json":
        out.write("".join(json.dumps(summary(c, image=images.get(c.image_id))) + "\n" for c in containers))
        return 0
    if "{{" in args.format:  # a Go template, as compose's: `{{.Name}}`, `table {{.Service}}\t{{.State}}`
        from compose.cli.gotemplate import render_template

        template = args.format
        if template.startswith("table "):
            template = template[len("table "):]
            fields = {k: k.upper() for k in summary(containers[0], image=None)} if containers else {}
            out.write(render_template(template, fields) + "\n")
        out.write("".join(render_template(template, summary(c, image=images.get(c.image_id))) + "\n"
                          for c in containers))
        return 0
    if args.format != "table":
        raise UsageError(f"unsupported format {args.format!r}", hint='use "table", "json" or a Go template')
    rows = [("NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS")]
    for c in containers:
        image = images.get(c.image_id)
        s = summary(c, image=image)
        cmd = command_text(c, image)
        if not args.no_trunc and len(cmd) > 22:
            cmd = cmd[:20] + "…\""
        rows.append((c.name, c.image, cmd, s["Service"], s["RunningFor"], status_text(c), ports_text(c)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        out.write("   ".join(v.ljust(w) for v, w in zip(r[:-1], widths, strict=True)) + "   " + r[-1] + "\n")
    return 0
