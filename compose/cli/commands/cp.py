"""hoist cp: copy files between a service container and the host (``SERVICE:PATH``), through the
container's root as the kernel shows it (/proc/<pid>/root), so the container must be running."""

from __future__ import annotations

import argparse

HELP = "Copy files/folders between a service container and the local filesystem"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", type=int, default=None, help="index of the container if service has "
                        "multiple replicas")
    parser.add_argument("-a", "--archive", action="store_true", help="archive mode (copy all uid/gid information)")
    parser.add_argument("-L", "--follow-link", action="store_true", help="always follow symbol link in SRC_PATH")
    parser.add_argument("--all", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("source", metavar="SRC")
    parser.add_argument("dest", metavar="DEST")


def _split(arg: str) -> tuple[str | None, str]:
    head, sep, tail = arg.partition(":")
    if sep and head and "/" not in head and not arg.startswith((".", "/")):
        return head, tail
    return None, arg


def _inside(root: str, path: str) -> str:
    import os

    # Resolve inside the container's root so symlinks cannot point out of it.
    full = os.path.normpath(os.path.join(root, path.lstrip("/")))
    if not (full + "/").startswith(root.rstrip("/") + "/"):
        from compose.errors import UsageError

        raise UsageError(f"path {path!r} leaves the container's filesystem")
    return full


def copy(src: str, dst: str, *, archive: bool, follow: bool) -> None:
    import os
    import shutil

    if os.path.isdir(dst) and not src.endswith("/."):
        dst = os.path.join(dst, os.path.basename(src.rstrip("/")))
    if os.path.isdir(src):
        shutil.copytree(src, dst, symlinks=not follow, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dst, follow_symlinks=follow)
    if archive:
        st = os.stat(src, follow_symlinks=follow)
        os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=follow)


def run(args: argparse.Namespace) -> int:
    from compose.cli.commands._pick import service_container
    from compose.cli.projectctx import project_context
    from compose.errors import UsageError

    src_service, src_path = _split(args.source)
    dst_service, dst_path = _split(args.dest)
    if (src_service is None) == (dst_service is None):
        raise UsageError("cp copies between one service container and the host",
                         hint="hoist cp SERVICE:SRC DEST or hoist cp SRC SERVICE:DEST")
    ctx = project_context(args, need_file=False)
    service = src_service or dst_service
    assert service is not None
    c = service_container(ctx, service, args.index)
    root = f"/proc/{c.pid}/root"
    if src_service:
        src_path = _inside(root, src_path)
    else:
        dst_path = _inside(root, dst_path)
    try:
        copy(src_path, dst_path, archive=args.archive, follow=args.follow_link)
    except OSError as exc:
        raise UsageError(f"copy failed: {exc}") from exc
    return 0
