"""hoist image build (docker build) and hoist image base (local base images), verbs of the ``image`` group.

``hoist image build [OPTIONS] CONTEXT``: -t/--tag (repeatable), -f/--file, --build-arg KEY[=VALUE],
--target, --no-cache, --pull, -q/--quiet (print only the image id), --label KEY=VALUE, --network
default|host|none, --add-host HOST:IP, --shm-size SIZE. Output streams step by step on stderr (rich on a
terminal, plain otherwise; the global --progress plain|tty chooses).

``hoist image base debian|busybox [--force]``: make the base image locally (see runtime.images.build.bases).
"""

from __future__ import annotations

import argparse
import re
import sys

HELP = "Build an image from a Dockerfile"
BASE_HELP = "Make a base image locally: debian (debootstrap minbase, debian:bookworm-slim) or busybox"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--tag", action="append", default=[], metavar="NAME[:TAG]",
                        help="name and optionally a tag (repeatable)")
    parser.add_argument("-f", "--file", dest="dockerfile", default=None, metavar="FILE",
                        help="the Dockerfile, relative to the current directory (default: CONTEXT/Dockerfile; '-' "
                        "reads standard input)")
    parser.add_argument("--build-arg", action="append", default=[], metavar="KEY[=VALUE]",
                        help="set a build-time variable (without =VALUE: taken from the environment)")
    parser.add_argument("--target", default=None, metavar="STAGE", help="build this stage and stop")
    parser.add_argument("--no-cache", action="store_true", help="do not use the cache when building the image")
    parser.add_argument("--pull", action="store_true", help="always attempt to pull newer base images")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="suppress the build output and print the image ID on success")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                        help="set metadata for the image (repeatable)")
    parser.add_argument("--network", default=None, choices=("default", "host", "none"),
                        help="networking mode for the RUN instructions (default: the default bridge network)")
    parser.add_argument("--add-host", action="append", default=[], metavar="HOST:IP",
                        help="add a custom host-to-IP mapping (repeatable)")
    parser.add_argument("--shm-size", default=None, metavar="SIZE", help="size of /dev/shm for RUN (e.g. 64m)")
    parser.add_argument("context", metavar="CONTEXT", help="the build context directory")


def add_base_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", choices=("debian", "busybox"), help="which base image to make")
    parser.add_argument("--force", action="store_true", help="import it again even if the store has it")


def _pairs(items: list[str], flag: str, *, allow_bare: bool) -> dict[str, str | None]:
    from compose.errors import UsageError

    out: dict[str, str | None] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not key or (not eq and not allow_bare):
            raise UsageError(f"invalid {flag} {item!r}", hint=f"write {flag} KEY=VALUE")
        out[key] = value if eq else None
    return out


def _hosts(items: list[str]) -> list[tuple[str, str]]:
    from compose.errors import UsageError

    out = []
    for item in items:
        m = re.fullmatch(r"([^:=]+)[:=](.+)", item)
        if not m:
            raise UsageError(f"invalid --add-host {item!r}", hint="write --add-host HOST:IP")
        out.append((m.group(1), m.group(2)))
    return out


def _size(text: str | None) -> int | None:
    if text is None:
        return None
    from compose.errors import UsageError

    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([bkmg]?)b?", text.strip().lower())
    if not m:
        raise UsageError(f"invalid --shm-size {text!r}", hint="write a size such as 64m or 1g")
    return int(float(m.group(1)) * {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2)])


def run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from runtime.engine import open_engine
    from runtime.images.build.builder import BuildRequest, build
    from runtime.images.build.progress import printer_for
    from runtime.naming import resolve_root

    inline = None
    dockerfile = args.dockerfile
    if dockerfile == "-":
        inline, dockerfile = sys.stdin.read(), None
    elif dockerfile:
        dockerfile = os.path.abspath(dockerfile)  # docker build: -f is relative to the current directory
    request = BuildRequest(
        context=Path(args.context), dockerfile=dockerfile, dockerfile_inline=inline, tags=list(args.tag),
        args=_pairs(args.build_arg, "--build-arg", allow_bare=True), target=args.target,
        labels={k: v or "" for k, v in _pairs(args.label, "--label", allow_bare=True).items()},
        no_cache=args.no_cache, pull=args.pull, network=args.network, extra_hosts=_hosts(args.add_host),
        shm_size=_size(args.shm_size))
    mode = getattr(args, "progress", "auto")
    progress = None if args.quiet or mode == "quiet" else printer_for(sys.stderr, mode)
    info = build(open_engine(resolve_root()), request, progress)
    if args.quiet:
        print(info.id)
    else:
        from runtime.images import reference

        print(f"Successfully built {info.id}", file=sys.stderr)
        for tag in args.tag:
            print(f"Successfully tagged {reference.familiar(reference.normalize(tag))}", file=sys.stderr)
    return 0


def run_base(args: argparse.Namespace) -> int:
    from runtime.engine import open_engine
    from runtime.images import reference
    from runtime.images.build.bases import ensure_base
    from runtime.naming import resolve_root

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    info, made = ensure_base(open_engine(resolve_root()), args.base, force=args.force, log=log)
    shown = ", ".join(reference.familiar(t) for t in info.tags)
    print(f"{'Made' if made else 'Up to date'}: {shown} ({info.id[:19]})")
    return 0
