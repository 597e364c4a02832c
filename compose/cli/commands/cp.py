"""hoist cp: copy files between a service container and the host (``SERVICE:PATH``), as docker compose cp.

The copying itself (:func:`copy`) is shared with ``hoist container cp``: it goes through the engine's
``container_get_archive`` / ``container_put_archive`` (tar streams, docker cp's placement rules; a running
container's files as its processes see them, a stopped one's through its overlay), and ``-`` reads or writes
a tar stream on standard input or output, as docker cp does.
"""

from __future__ import annotations

import argparse
from typing import Any, BinaryIO

HELP = "Copy files/folders between a service container and the local filesystem"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", type=int, default=None, help="index of the container if service has "
                        "multiple replicas")
    parser.add_argument("-a", "--archive", action="store_true", help="archive mode (copy all uid/gid information)")
    parser.add_argument("-L", "--follow-link", action="store_true", help="always follow symbol link in SRC_PATH")
    parser.add_argument("--all", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("source", metavar="SRC", help="SERVICE:SRC_PATH, a local path, or - (a tar on stdin)")
    parser.add_argument("dest", metavar="DEST", help="SERVICE:DEST_PATH, a local path, or - (a tar on stdout)")


def split_location(arg: str) -> tuple[str | None, str]:
    """``NAME:PATH`` -> (NAME, PATH); a local path (``-``, ``./x:y``, ``/a:b``, ``a/b:c``) -> (None, arg)."""
    head, sep, tail = arg.partition(":")
    if sep and head and "/" not in head and not arg.startswith((".", "/")):
        return head, tail
    return None, arg


_split = split_location  # the name this module used before


def copy(engine: Any, source: str, dest: str, *, archive: bool = False, follow_link: bool = False,
         resolve: Any = None, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """docker cp between one container and the host. ``resolve(name) -> container ref`` maps the NAME of
    ``NAME:PATH`` (a service for ``hoist cp``; the container itself by default)."""
    import os
    import sys
    import tarfile
    import threading

    from compose.errors import UsageError
    from runtime.containers.fsaccess import CopyError, extract_tar, write_tar

    src_name, src_path = split_location(source)
    dst_name, dst_path = split_location(dest)
    if (src_name is None) == (dst_name is None):
        raise UsageError("copying between containers is not supported" if src_name else
                         "one of SRC and DEST must name a container (NAME:PATH)",
                         hint="CONTAINER:SRC_PATH DEST_PATH|- or SRC_PATH|- CONTAINER:DEST_PATH")
    resolve = resolve or (lambda name: name)
    if src_name is not None:
        if not src_path:
            raise UsageError("the source path must not be empty", hint="give CONTAINER:/path")
        ref = resolve(src_name)
        broken: Exception | None = None
        with engine.container_get_archive(ref, src_path, follow_link=follow_link) as stream:
            if dst_path == "-":
                out = stdout or sys.stdout.buffer
                if out.isatty():
                    raise UsageError("cowardly refusing to write a tar to a terminal",
                                     hint="redirect the output to a file or a pipe")
                while chunk := stream.read(1 << 20):
                    out.write(chunk)
                out.flush()
                return
            try:
                extract_tar(stream, dst_path, contents_only=_contents_only(src_path), archive=archive)
            except (OSError, CopyError) as exc:
                raise UsageError(f"cannot copy to {dst_path}: {_reason(exc)}") from None
            except tarfile.TarError as exc:
                broken = exc  # no tar: most likely the container side failed, and says why on leaving
        if broken is not None:
            raise UsageError(f"cannot copy {src_path}: {broken}")
        return
    assert dst_name is not None
    if not dst_path:
        raise UsageError("the destination path must not be empty", hint="give CONTAINER:/path")
    ref = resolve(dst_name)
    if src_path == "-":
        engine.container_put_archive(ref, dst_path, stdin or sys.stdin.buffer, archive=archive, raw=True)
        return
    try:
        os.stat(src_path) if follow_link else os.lstat(src_path)
    except OSError as exc:
        raise UsageError(f"cannot copy {src_path}: {_reason(exc)}") from None
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with open(write_fd, "wb") as w:
                write_tar(src_path, os.path.basename(os.path.normpath(src_path)) or ".", w,
                          follow_link=follow_link)
        except BrokenPipeError:
            pass
        except BaseException as exc:  # noqa: BLE001  (reported by the caller's thread)
            failure.append(exc)

    writer = threading.Thread(target=produce, daemon=True)
    writer.start()
    try:
        with open(read_fd, "rb") as r:
            engine.container_put_archive(ref, dst_path, r, archive=archive, contents_only=_contents_only(src_path))
    finally:
        writer.join()
    if failure:
        raise UsageError(f"cannot copy {src_path}: {_reason(failure[0])}")


def _contents_only(path: str) -> bool:
    return path.endswith(("/.", "/./")) or path == "."


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    return str(exc)


def run(args: argparse.Namespace) -> int:
    from compose.cli.commands._pick import service_container
    from compose.cli.projectctx import project_context

    ctx = project_context(args, need_file=False)

    def resolve(service: str) -> str:
        return service_container(ctx, service, args.index, running=False).id

    copy(ctx.engine, args.source, args.dest, archive=args.archive, follow_link=args.follow_link, resolve=resolve)
    return 0
