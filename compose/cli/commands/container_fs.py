"""``hoist container commit | export | cp``: the container-filesystem commands of the docker CLI.

Their flags and handlers; ``compose/cli/commands/container.py`` lists them among its sub-commands.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, BinaryIO


def add_commit_flags(p: argparse.ArgumentParser) -> None:
    add_commit_options(p)
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("repository", nargs="?", default=None, metavar="REPOSITORY[:TAG]")


def add_commit_options(p: argparse.ArgumentParser) -> None:
    """docker commit's options, for `hoist container commit` and `hoist commit`."""
    from compose.cli.parsers import add_go_bool

    p.add_argument("-a", "--author", default="", help='author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    p.add_argument("-c", "--change", action="append", default=[],
                   help="apply Dockerfile instruction to the created image (repeatable)")
    p.add_argument("-m", "--message", default="", help="commit message")
    add_go_bool(p, "-p", "--pause", help="pause container during commit (default true; --pause=false to not)")


def add_export_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", default=None, help="write to a file, instead of STDOUT")
    p.add_argument("container", metavar="CONTAINER")


def add_cp_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--archive", action="store_true", help="archive mode (copy all uid/gid information)")
    p.add_argument("-L", "--follow-link", action="store_true", help="always follow symbol link in SRC_PATH")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress progress output during copy (no effect)")
    p.add_argument("source", metavar="SRC", help="CONTAINER:SRC_PATH, a local path, or - (a tar on stdin)")
    p.add_argument("dest", metavar="DEST", help="CONTAINER:DEST_PATH, a local path, or - (a tar on stdout)")




def write_tar_output(output: str | None, write: Any) -> None:
    """Call ``write(stream)`` with the file ``output`` (replaced whole: written beside it, then renamed), or
    standard output; a tar is never written to a terminal (docker's refusal)."""
    import os

    from compose.errors import UsageError

    if not output or output == "-":
        out: BinaryIO = sys.stdout.buffer
        if out.isatty():
            raise UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        write(out)
        out.flush()
        return
    tmp = f"{output}.hoist-tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, output)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def cmd_commit(engine: Any, args: argparse.Namespace) -> int:
    image_id = engine.container_commit(args.container, repository=args.repository, changes=list(args.change),
                                       message=args.message, author=args.author, pause=args.pause)
    print(image_id)
    return 0


def cmd_export(engine: Any, args: argparse.Namespace) -> int:
    engine.container_inspect(args.container)  # an unknown container fails before any file is made
    write_tar_output(args.output, lambda out: engine.container_export(args.container, out))
    return 0


def cmd_cp(engine: Any, args: argparse.Namespace) -> int:
    from compose.cli.commands.cp import copy

    copy(engine, args.source, args.dest, archive=args.archive, follow_link=args.follow_link)
    return 0
