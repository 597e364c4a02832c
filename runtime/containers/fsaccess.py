"""Reading and writing a container's filesystem from outside it: ``export``, ``cp`` in both directions.

Every access runs in a short-lived child process (a fresh interpreter: the caller may have threads) that
first enters the container's filesystem, then works on plain paths there:

- a running (or paused) container's root as the kernel shows it, ``chroot /proc/<pid>/root``, with its
  volumes and binds (``cp``, as docker's);
- for ``export`` of a running container, its root mount alone (its overlay, without the volumes, binds and
  special filesystems mounted on it): a non-recursive bind of it in a private copy of its mount namespace;
- otherwise its overlay, mounted by the child in a mount namespace of its own: read-only with the upper
  directory as the topmost lower layer, or read-write on the container's own upper and work directories
  for a copy into a stopped container. The mounts go with the namespace when the child exits: nothing can
  leak.

Inside the chroot, absolute symlinks of the container resolve inside it, so nothing of the host is reached
through them. Tars are PAX with numeric owners. Member names are checked on extraction (no absolute paths,
no ``..``, nothing written through a symlink out of the destination).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from runtime.errors import InvalidSpec, NotFound, SetupError, StateError

if TYPE_CHECKING:
    import tarfile

    from runtime.engine import Engine

_CHUNK = 1 << 20
_NOT_FOUND = 2  # the child's exit code for a missing path
_BAD_REQUEST = 3  # ... for a request the destination refuses (a directory onto a file, no such directory)


class CopyError(Exception):
    """A copy the paths do not allow (reported to the user as is)."""


# ------------------------------------------------------------------------------------ the engine side


def _root_spec(engine: Engine, ref: str, *, live: bool, writable: bool) -> tuple[dict[str, Any], str]:
    """How the child enters the container's filesystem, and the container's name."""
    from runtime.containers.plan import LaunchPlan

    state = engine.container_inspect(ref)
    if state.status in ("running", "paused") and state.pid and not writable:
        # live: its root as its processes see it; else (export) its root mount alone, without submounts
        return {"pid": state.pid, "bare": not live}, state.name
    if live and state.status in ("running", "paused") and state.pid:
        return {"pid": state.pid}, state.name
    try:
        plan = LaunchPlan.load(engine.container_dir(state.id))
    except FileNotFoundError:
        raise StateError(f"container {state.name} has no filesystem") from None
    base = plan.lowerdir_base or "/"
    if plan.lowerdir:
        lowers = plan.lowerdir
    else:
        lowers = ":".join(reversed(plan.lower_dirs))
    spec: dict[str, Any] = {"base": base, "merged": plan.merged_dir}
    if writable:
        if state.status in ("running", "paused", "restarting"):
            raise StateError(f"container {state.name} is {state.status} and its process is gone")
        spec.update(lower=lowers, upper=plan.upper_dir, work=plan.work_dir)
    else:
        top = os.path.relpath(plan.upper_dir, base) if plan.lowerdir else plan.upper_dir
        spec.update(lower=f"{top}:{lowers}" if lowers else top)
    return spec, state.name


# How long a copy waits for a start or a cleanup of the container to let go of its directories.
OWNER_WAIT = 5.0


@contextlib.contextmanager
def _entered(engine: Engine, ref: str, *, live: bool, writable: bool) -> Iterator[tuple[dict[str, Any], str]]:
    """``_root_spec``, held still: when the child will mount the container's overlay (a stopped container),
    the container's owner lock is held meanwhile (runtime.containers.status), so no supervisor can start it
    and mount the same upper directory at the same time; a start waits for the copy."""
    spec, name = _root_spec(engine, ref, live=live, writable=writable)
    if "pid" in spec:
        yield spec, name
        return
    from runtime.containers.status import own

    fd = own(engine.container_dir(engine.container_inspect(ref).id), OWNER_WAIT)
    if fd is None:
        raise StateError(f"container {name} is being started or cleaned up", hint="try again in a moment")
    try:
        spec, name = _root_spec(engine, ref, live=live, writable=writable)  # as it is now that it is ours
        if "pid" in spec:
            raise StateError(f"container {name} was started meanwhile", hint="try again")
        yield spec, name
    finally:
        os.close(fd)


def _spawn(request: dict[str, Any], *, stdin: Any = subprocess.DEVNULL,
           stdout: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
    project = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [project, os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(
        [sys.executable, "-c", "from runtime.containers.fsaccess import child_main; child_main()",
         json.dumps(request)],
        stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, env=env, close_fds=True)


def _finish(proc: subprocess.Popen[bytes], what: str) -> None:
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace").strip()
    proc.stderr.close()
    code = proc.wait()
    if code == 0:
        return
    last = err.splitlines()[-1] if err else f"exit code {code}"
    if code == _NOT_FOUND:
        raise NotFound(f"{what}: {last}")
    if code == _BAD_REQUEST:
        raise InvalidSpec(f"{what}: {last}")
    raise SetupError(f"{what}: {last}", step="copy")


def export(engine: Engine, ref: str, out: BinaryIO) -> None:
    """The tar of the container's whole filesystem (its overlay, without volumes) to ``out``."""
    with _child_output(engine, ref, {"op": "export"}, live=False,
                       what=lambda name: f"cannot export container {name}") as tar:
        _copy_out(tar, out)


def get_archive(engine: Engine, ref: str, path: str, *, follow_link: bool = False
                ) -> contextlib.AbstractContextManager[IO[bytes]]:
    """A tar stream of ``path`` in the container (its first member is ``path`` itself, by its base name)."""
    return _child_output(engine, ref, {"op": "get", "path": path, "follow": follow_link}, live=True,
                         what=lambda name: f"cannot copy {path} from {name}")


@contextlib.contextmanager
def _child_output(engine: Engine, ref: str, request: dict[str, Any], *, live: bool,
                  what: Callable[[str], str]) -> Iterator[IO[bytes]]:
    """The standard output of a child serving ``request`` in the container's filesystem, read by the block;
    its failure raised after (``what(container name)`` says what failed)."""
    with _entered(engine, ref, live=live, writable=False) as (spec, name):
        proc = _spawn({**request, "root": spec})
        assert proc.stdout is not None
        try:
            yield proc.stdout
            while proc.stdout.read(_CHUNK):  # what the reader left (tar padding)
                pass
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            proc.stdout.close()
        _finish(proc, what(name))


def put_archive(engine: Engine, ref: str, path: str, stream: BinaryIO, *, archive: bool = False,
                raw: bool = False, contents_only: bool = False) -> None:
    """Extract the tar ``stream`` at ``path`` in the container, as ``docker cp`` places it.

    ``raw``: ``path`` is an existing directory the tar is extracted into as it is (``cp - CONTAINER:DIR``).
    Else the tar's first entry is the source, and it lands at ``path`` by docker cp's rules (into it when
    it is a directory, else as it; ``contents_only``: a ``SRC/.`` copy). Owners are root's unless
    ``archive``. A stopped container's filesystem is written through its own overlay.
    """
    with _entered(engine, ref, live=True, writable=True) as (spec, name):
        proc = _spawn({"op": "put", "root": spec, "path": path, "archive": archive, "raw": raw,
                       "contents_only": contents_only}, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        assert proc.stdin is not None
        try:
            _copy_out(stream, proc.stdin)
        except BrokenPipeError:
            pass  # the child stopped reading: its error says why
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        _finish(proc, f"cannot copy to {path} in {name}")


def _copy_out(src: IO[bytes], dst: IO[bytes]) -> None:
    while True:
        chunk = src.read(_CHUNK)
        if not chunk:
            return
        dst.write(chunk)


# ------------------------------------------------------------------------- tars, either side of a copy


def write_tar(path: str, arcname: str, out: IO[bytes], *, follow_link: bool = False) -> None:
    """``path`` (a directory with everything under it) as a tar whose top entry is ``arcname``."""
    import tarfile

    source = os.path.realpath(path) if follow_link else path

    def numeric(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uname = info.gname = ""
        return info

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if os.path.normpath(source) != "/":
            tar.add(source, arcname=arcname, recursive=True, filter=numeric)
            return
        # The whole root of a running container: its kernel filesystems are mount points only, as in export
        # (its /proc is of another PID namespace, where /proc/self is nobody).
        tar.add("/", arcname=arcname, recursive=False, filter=numeric)
        for name in sorted(os.listdir("/")):
            tar.add("/" + name, arcname=posixpath.join(arcname, name), filter=numeric,
                    recursive=name not in ("proc", "sys"))


def _target(dest: str, top: str | None, source_is_dir: bool, contents_only: bool
            ) -> tuple[str, Callable[[str], str | None]]:
    """Where a tar lands and how its member names map there (docker cp's rules); ``top`` None: as it is."""
    if top is None:
        if not os.path.isdir(dest):
            raise CopyError(f"destination {dest!r} must be a directory")
        return dest, lambda n: n

    def under(new_top: str | None) -> Callable[[str], str | None]:
        def rename(n: str) -> str | None:
            if n == top:
                return new_top
            if top == ".":
                return posixpath.join(new_top, n) if new_top else n
            if n.startswith(top + "/"):
                rest = n[len(top) + 1:]
                return posixpath.join(new_top, rest) if new_top else rest
            return None  # not under the source: not ours to write
        return rename

    if os.path.isdir(dest):
        return dest, under(None if contents_only or top == "." else top)
    if os.path.lexists(dest):
        if source_is_dir:
            raise CopyError(f"cannot copy a directory to the file {dest!r}")
        return os.path.dirname(dest.rstrip("/")) or "/", under(os.path.basename(dest))
    if dest.endswith("/") and not source_is_dir:
        raise FileNotFoundError(2, "no such directory", dest)
    parent = os.path.dirname(dest.rstrip("/")) or "."
    if not os.path.isdir(parent):
        raise FileNotFoundError(2, "no such directory", parent)
    return parent, under(os.path.basename(dest.rstrip("/")))


def _clean(name: str) -> str:
    name = name.rstrip("/")
    while name.startswith("./"):
        name = name[2:]
    return name or "."


def _safe_name(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and ".." not in parts


def extract_tar(stream: IO[bytes], dest: str, *, raw: bool = False, contents_only: bool = False,
                archive: bool = False) -> None:
    """Extract the tar ``stream`` at ``dest`` (see :func:`put_archive`): the tar's first member is the
    source. Raises CopyError or FileNotFoundError for paths the rules refuse."""
    import tarfile

    uid, gid = os.getuid(), os.getgid()
    dirs: list[tuple[str, tarfile.TarInfo]] = []
    with tarfile.open(fileobj=stream, mode="r|", errors="surrogateescape") as tar:
        base = ""
        mapper: Callable[[str], str | None] = lambda n: n  # noqa: E731
        for i, member in enumerate(tar):
            member_name = _clean(member.name)
            if i == 0:
                base, mapper = _target(dest, None if raw else member_name, member.isdir(), contents_only)
                real_base = os.path.realpath(base)
            name = mapper(member_name)
            if name is None or name in ("", "."):
                continue
            if not _safe_name(name):
                raise CopyError(f"refusing the archive member {member.name!r}")
            target = os.path.join(base, name)
            parent = os.path.realpath(os.path.dirname(target))
            if parent != real_base and not parent.startswith(real_base.rstrip("/") + "/"):
                raise CopyError(f"refusing to write {member.name!r} through a symlink out of {base!r}")
            if member.islnk():
                link = mapper(_clean(member.linkname))
                if link is None or not _safe_name(link):
                    raise CopyError(f"refusing the hard link {member.name!r} -> {member.linkname!r}")
                member.linkname = link
            if not archive:
                member.uid, member.gid = uid, gid
            member.name = name
            if member.isdir():
                dirs.append((target, member))
                if os.path.isdir(target) and not os.path.islink(target):
                    continue  # an existing directory: its attributes are set at the end
            elif os.path.lexists(target) and not os.path.isdir(target):
                os.unlink(target)
            tar.extract(member, path=base, set_attrs=not member.isdir(), numeric_owner=True)
    for target, member in reversed(dirs):  # deepest first: a read-only mode does not stop what is below
        with contextlib.suppress(OSError):
            os.chown(target, member.uid, member.gid)
            os.chmod(target, member.mode)
            os.utime(target, (member.mtime, member.mtime))


# ------------------------------------------------------------------------------------------- the child


def _enter(root: dict[str, Any]) -> None:
    from runtime import syscalls as sc

    if "pid" in root and root.get("bare"):
        # The container's root mount (its overlay) without what is mounted on it (volumes, binds, /proc, the
        # /etc files): in a private copy of its mount namespace, a non-recursive bind of its root.
        root_fd = os.open(f"/proc/{root['pid']}/root", os.O_RDONLY | os.O_DIRECTORY)
        sc.setns_path(f"/proc/{root['pid']}/ns/mnt", sc.CLONE_NEWNS)
        os.fchdir(root_fd)
        os.chroot(".")
        os.close(root_fd)
        sc.unshare(sc.CLONE_NEWNS)
        sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)  # nothing made here reaches the container
        sc.mount("/", "/dev", None, sc.MS_BIND)  # /dev: a directory every container has
        os.chroot("/dev")
        os.chdir("/")
        return
    if "pid" in root:
        os.chroot(f"/proc/{root['pid']}/root")
        os.chdir("/")
        return
    merged = root["merged"]
    sc.unshare(sc.CLONE_NEWNS)
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)  # nothing made here reaches the host
    sc.mount("tmpfs", merged, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, "mode=700,size=64k")
    mountpoint = os.path.join(merged, "root")
    os.mkdir(mountpoint, 0o755)
    lower = root["lower"]
    if "upper" in root:
        options = f"lowerdir={lower},upperdir={root['upper']},workdir={root['work']}"
        flags = 0
    else:
        if ":" not in lower:  # overlay needs two layers without an upper dir: an empty one below
            empty = os.path.join(merged, "empty")
            os.mkdir(empty, 0o755)
            lower = f"{os.path.abspath(os.path.join(root['base'], lower))}:{empty}"
        options = f"lowerdir={lower}"
        flags = sc.MS_RDONLY
    os.chdir(root["base"])  # relative layer paths resolve from here (see rootfs.mount_overlay)
    sc.mount("overlay", mountpoint, "overlay", flags, options)
    os.chroot(mountpoint)
    os.chdir("/")


def child_main() -> None:
    """The child's entry: argv[1] is the JSON request (op export, get or put)."""
    import tarfile  # noqa: F401  (before the chroot: nothing can be imported from inside it)

    from runtime.images import layers  # noqa: F401

    request = json.loads(sys.argv[1])
    try:
        _enter(request["root"])
        op = request["op"]
        if op == "export":
            out = sys.stdout.buffer
            layers.pack(Path("/"), out)
            out.flush()
        elif op == "get":
            _child_get(request)
        elif op == "put":
            extract_tar(sys.stdin.buffer, posixpath.normpath("/" + request["path"]) +
                        ("/" if request["path"].endswith("/") else ""),
                        raw=request["raw"], contents_only=request["contents_only"], archive=request["archive"])
    except BrokenPipeError:
        os._exit(1)
    except FileNotFoundError as exc:
        print(exc.strerror and f"{exc.strerror}: {exc.filename}" or str(exc), file=sys.stderr)
        sys.exit(_NOT_FOUND)
    except (CopyError, NotADirectoryError, IsADirectoryError) as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(_BAD_REQUEST)


def _child_get(request: dict[str, Any]) -> None:
    path = posixpath.normpath("/" + request["path"])
    if request["follow"]:
        path = os.path.realpath(path)
    else:
        path = posixpath.join(os.path.realpath(posixpath.dirname(path)), posixpath.basename(path))
    os.lstat(path)  # FileNotFoundError: reported as such
    name = posixpath.basename(path) or "."
    out = sys.stdout.buffer
    write_tar(path, name, out)
    out.flush()
