"""The thin client of `hoist container run`: hand the run to the root's warm run server (compose.cli.runserver).

A `container run --rm IMAGE true` process spends most of its time importing and building what the run
needs (argparse, the parser, the engine), not running the container. A warm per-root server has all of that
loaded and opened, so this client only connects, sends its argv, relays the output and exits with the
container's code. It is taken only for invocations it fully understands (``parse_run_argv``): anything else
(a terminal, -i, -d, an unknown or abbreviated flag, a network other than none or host, a root that is not
a plain absolute path) returns None and main() goes on with the full path, unchanged. The server parses the
argv again with the real parser and runs the very code the full path runs (container.run_created), so the
two cannot differ in meaning; it may still answer "fallback", before doing anything, and the full path runs.

When no server answers, this run takes the full path and, once it is done, starts a server in the
background for the next run (``spawn_pending``): no slower than without a server. A server that goes away
in the middle of a run (killed) loses nothing: the client finishes the run itself from the state under the
root (the rest of the output, the exit code, ``--rm``; container.resume_run).

Signals: ^C is sent to the server, which does what the full path's KeyboardInterrupt does (``--rm`` removal,
"Aborting.", 130); a closed stdout likewise (BrokenPipeError: removal, 0). A client killed outright (SIGTERM,
SIGKILL) leaves the run to finish on its own in the server, which still removes a ``--rm`` container when it
exits (the full path, killed, could not).

Start-up time is the point of this module: it imports nothing beyond builtin modules (``_socket``,
``_signal``, ``zlib``, ``_sha256``) — no typing, no dataclasses, no ``socket`` or ``signal`` (their enums
cost ~4 ms). Protocol: see compose.cli.runserver.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import NoReturn

PROTOCOL = b"hoist-run/1"
DEFAULT_ROOT = "/var/lib/hoist"  # runtime.naming's defaults, repeated: importing it would import hashlib
DEFAULT_RUN_DIR = "/run/hoist"
DISABLE_ENV = "HOIST_FASTRUN"  # "0": always the full path (benchmarks compare the two)

# Flags of `container run` this client takes; every other one sends the run down the full path.
BOOL_FLAGS = frozenset({"--rm"})
VALUE_FLAGS = frozenset({"--name", "-e", "--env", "-w", "--workdir", "-u", "--user", "--network", "--net",
                         "--entrypoint", "-l", "--label"})
FAST_NETWORKS = ("none", "host")

# Frames from the server: kind (1 byte) + payload length (4 bytes, big endian) + payload.
FRAME_STDOUT, FRAME_STDERR, FRAME_EXIT = b"1"[0], b"2"[0], b"x"[0]
FRAME_ACCEPTED, FRAME_CREATED, FRAME_FALLBACK = b"a"[0], b"c"[0], b"f"[0]
# From the client, once the request is sent: the CLI met ^C, or its stdout/stderr was closed.
CLIENT_INTERRUPT, CLIENT_BROKEN_PIPE = b"i", b"p"
EXIT_SERVER_LOST = 125  # docker's code for "the engine failed", not the container


class FastRun:
    """What the client needs of a `container run` invocation it can hand to the server."""

    __slots__ = ("root", "env_names", "rm")

    def __init__(self, root: str | None, env_names: list[str], rm: bool) -> None:
        self.root = root  # the --root value, if given
        self.env_names = env_names  # names of bare `-e NAME` (their values come from this environment)
        self.rm = rm

    def __repr__(self) -> str:
        return f"FastRun(root={self.root!r}, env_names={self.env_names!r}, rm={self.rm!r})"


def parse_run_argv(argv: list[str]) -> FastRun | None:
    """``argv`` (after the program name) if it is a `container run` this client takes, else None.

    Conservative on purpose: None for anything argparse might read differently from this loop (abbreviated
    long flags, attached short values like ``-eX``, values that start with '-', a ``--`` anywhere), for
    flags this client does not pass on, and for -d/-i/-t (a terminal, stdin, detach: the full path).
    """
    if "--" in argv:
        return None
    i, n = 0, len(argv)
    root: str | None = None
    while i < n and argv[i].startswith("-"):
        arg = argv[i]
        if arg == "--root" and i + 1 < n and not argv[i + 1].startswith("-"):
            root, i = argv[i + 1], i + 2
        elif arg.startswith("--root=") and len(arg) > len("--root="):
            root, i = arg[len("--root="):], i + 1
        else:
            return None
    if argv[i:i + 2] != ["container", "run"]:
        return None
    i += 2
    network = None
    rm = False
    env_names: list[str] = []
    while i < n:
        arg = argv[i]
        if not arg.startswith("-"):
            break  # the image: everything after it is the command (argparse.REMAINDER)
        if arg.startswith("--"):
            flag, has_value, value = arg.partition("=")
        else:
            flag, has_value, value = arg, "", ""
        if flag in BOOL_FLAGS and not has_value:
            rm = True  # --rm, the only one
            i += 1
            continue
        if flag not in VALUE_FLAGS:
            return None
        if not has_value:
            if i + 1 >= n:
                return None
            value = argv[i + 1]
            i += 1
        if value.startswith("-"):
            return None
        i += 1
        if flag in ("--network", "--net"):
            network = value
        elif flag in ("-e", "--env") and "=" not in value:
            env_names.append(value)
    if i >= n or network not in FAST_NETWORKS:
        return None  # no image (argparse's error comes from the full path), or a network of the full path
    return FastRun(root, env_names, rm)


def try_run(argv: list[str]) -> int | None:
    """Run ``argv`` through the root's run server: its exit code, or None for the full path."""
    global _pending_server
    if os.environ.get(DISABLE_ENV) == "0" or os.geteuid() != 0:
        return None  # the server is root's (its socket is 0600): other users get the full path's messages
    request = parse_run_argv(argv)
    if request is None or not _plain_stdio():
        return None
    root = _root(request.root)
    if root is None:
        return None
    mask = os.umask(0o022)
    os.umask(mask)
    if mask != 0o022:
        return None  # the server creates files with umask 022: a client with another one runs them itself
    run_dir = _run_dir(root)
    tag = current_tag()
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(server_file(run_dir, tag, "sock"))
    except OSError:
        sock.close()
        _pending_server = (root, run_dir, tag)  # started by main() once this run is done: spawn_pending()
        return None
    try:
        outcome = _converse(sock, root, argv, request)
    finally:
        sock.close()
    if isinstance(outcome, _ServerLost):
        return _resume(root, request, outcome)
    return outcome


def _plain_stdio() -> bool:
    """The server sends UTF-8: the full path writes with sys.stdout's encoding, so only take the same."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None or stream.encoding.lower().replace("-", "").replace("_", "") != "utf8":
            return False
    return True


def _root(flag: str | None) -> str | None:
    """The state root as the full path resolves it (``--root`` made absolute, else $HOIST_ROOT, else the
    default), or None when that resolution needs pathlib's normalisation (a relative or unclean path)."""
    if flag is not None:
        return os.path.abspath(flag)  # main() does exactly this with --root
    root = os.environ.get("HOIST_ROOT") or DEFAULT_ROOT
    # naming.resolve_root is Path(root).absolute(): the same string for a clean absolute path only.
    if not root.startswith("/") or "//" in root or "/./" in root or root.endswith(("/", "/.")) or root == "/":
        return None
    return root


def _run_dir(root: str) -> str:
    """runtime.naming.run_dir, without importing hashlib (its OpenSSL binding costs ~1 ms)."""
    if root == DEFAULT_ROOT:
        return DEFAULT_RUN_DIR
    import _sha256

    return f"/run/hoist-{_sha256.sha256(root.encode()).hexdigest()[:5]}"


# The modules a run server has loaded: a server started before any of them changed must not serve (it would
# run the old code), so its socket is named by a tag over their names, sizes and mtimes, like the launcher's.
_PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_TAGGED_DIRS = ("runtime", "runtime/containers", "runtime/network", "runtime/images", "compose/cli")
_TAGGED_FILES = ("compose/__init__.py", "compose/errors.py", "compose/cli/commands/container.py")


TAG_ENV = "HOIST_RUNSERVER_TAG"


def current_tag() -> str:
    """The tag of this code's server: ``sources_tag()``, unless $HOIST_RUNSERVER_TAG fixes one. Tests and
    benchmarks fix it, so that sources edited while they run (a developer's tree, other work going on) do not
    move their runs to a new server halfway; nothing else should."""
    fixed = os.environ.get(TAG_ENV, "")
    return fixed if fixed.isalnum() else sources_tag()  # it names files: letters and digits only


def sources_tag(project: str = _PROJECT) -> str:
    """8 hex digits over every module the run server loads (~110 stats, ~0.4 ms)."""
    from runtime import codetag

    return codetag.sources_tag(project, _TAGGED_DIRS, _TAGGED_FILES)


_pending_server: tuple[str, str, str] | None = None


def spawn_pending() -> None:
    """Start the server a run that found none asked for, now that the run is over (best effort).

    Not while the run goes on: a server starting beside it (~100 ms of CPU) slowed that run by 20-40% here,
    even at SCHED_IDLE (two vCPUs: the server's start-up shares caches and cores with the run). Started
    after it, the first run costs what the full path costs, plus the spawn (~1 ms).
    """
    global _pending_server
    if _pending_server is None:
        return
    root, run_dir, tag = _pending_server
    _pending_server = None
    try:
        spawn_server(root, run_dir, tag)
    except Exception:  # noqa: BLE001 - best effort: the next run takes the full path and tries again
        pass


def server_file(run_dir: str, tag: str, ext: str) -> str:
    """``runserver-<tag>.sock`` (where the server listens) or ``.lock`` (held while it lives)."""
    return f"{run_dir}/runserver-{tag}.{ext}"


def server_paths(root: str) -> tuple[str, str]:
    """The socket and lock file of ``root``'s run server for this code (tests and benchmarks look at them)."""
    run_dir, tag = _run_dir(root), current_tag()
    return server_file(run_dir, tag, "sock"), server_file(run_dir, tag, "lock")


def exit_now(code: int) -> NoReturn:
    """Leave without the interpreter's finalisation (~1.5 ms of a ~30 ms run). Correct here: the client wrote
    everything with os.write (nothing is buffered), registered no atexit handler, and holds no resource
    the kernel does not release with the process; the std streams are flushed anyway for safety."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def spawn_server(root: str, run_dir: str, tag: str) -> None:
    """Start the root's run server, detached, for the next run (best effort).

    posix_spawn (vfork-like: no copy of this process) with a new session and /dev/null as stdio, so the
    server never holds the caller's terminal or pipes. It is this process's child until this process exits
    a moment later (spawn_pending runs last); then init adopts and reaps it. A server of this code that
    holds its lock (running or starting) makes the spawn pointless: skipped.
    """
    if server_alive(server_file(run_dir, tag, "lock")):
        return
    idle = os.environ.get("HOIST_RUNSERVER_IDLE")
    launcher_idle = os.environ.get("HOIST_LAUNCHER_IDLE")
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "HOIST_ROOT": root}
    if idle is not None:
        env["HOIST_RUNSERVER_IDLE"] = idle
    if launcher_idle is not None:
        env["HOIST_LAUNCHER_IDLE"] = launcher_idle
    code = (f"import sys; sys.path.insert(0, {_PROJECT!r}); from compose.cli.runserver import serve; "
            f"serve({root!r}, {tag!r})")
    os.posix_spawn(sys.executable, [sys.executable, "-c", code], env, setsid=True, file_actions=[
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDWR, 0),
        (os.POSIX_SPAWN_DUP2, 0, 1),
        (os.POSIX_SPAWN_DUP2, 0, 2)])


def server_alive(lock_path: str) -> bool:
    """Whether a server holds its lock (it takes it first thing and keeps it until it exits)."""
    import fcntl

    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------------- conversation


def _encode_request(root: str, argv: list[str], env_names: list[str]) -> bytes:
    """NUL-separated fields (no argv or environment string can hold a NUL), prefixed with their length."""
    fields = [PROTOCOL, os.fsencode(root), str(len(argv)).encode(), *map(os.fsencode, argv)]
    present = [name for name in env_names if name in os.environ]
    fields.append(str(len(env_names)).encode())
    fields += [os.fsencode(name) for name in env_names]
    fields.append(str(len(present)).encode())
    fields += [os.fsencode(f"{name}={os.environ[name]}") for name in present]
    body = b"\0".join(fields)
    return len(body).to_bytes(4, "big") + body


class _Interrupted(Exception):
    """A second ^C: leave at once, as a CLI interrupted twice does."""


class _ServerLost:
    """The server went away after it took the run: the container it made, and the records already written."""

    __slots__ = ("container_id", "relayed")

    def __init__(self, container_id: str, relayed: int) -> None:
        self.container_id, self.relayed = container_id, relayed


def _converse(sock: object, root: str, argv: list[str], request: FastRun) -> int | _ServerLost | None:
    import _signal

    send = sock.sendall  # type: ignore[attr-defined]
    recv = sock.recv  # type: ignore[attr-defined]
    try:
        send(_encode_request(root, argv, request.env_names))
    except OSError:
        return None  # a server going away (idle) dropped us before reading anything: the full path runs it
    interrupts = 0

    def on_sigint(_signum: int, _frame: object) -> None:
        # The full path meets ^C as KeyboardInterrupt: --rm removal, "Aborting.", 130. The server does the
        # same on our word; a second ^C leaves without waiting for it, as the full path's second would.
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise _Interrupted
        try:
            send(CLIENT_INTERRUPT)
        except OSError:
            pass

    previous = _signal.signal(_signal.SIGINT, on_sigint)
    accepted = False
    created = ""
    relayed = 0  # log records written (one frame each): a resumed run skips as many
    pipe_closed = False
    buf = bytearray()
    try:
        while True:
            chunk = recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 5:
                size = int.from_bytes(buf[1:5], "big")
                if len(buf) < 5 + size:
                    break
                kind, payload = buf[0], bytes(buf[5:5 + size])
                del buf[:5 + size]
                if kind in (FRAME_STDOUT, FRAME_STDERR):
                    relayed += 1
                    if not pipe_closed:
                        pipe_closed = not _write_all(1 if kind == FRAME_STDOUT else 2, payload)
                        if pipe_closed:
                            try:
                                send(CLIENT_BROKEN_PIPE)
                            except OSError:
                                pass
                elif kind == FRAME_EXIT:
                    return 0 if pipe_closed else int(payload)
                elif kind == FRAME_ACCEPTED:
                    accepted = True
                elif kind == FRAME_CREATED:
                    created = payload.decode()
                elif kind == FRAME_FALLBACK and not accepted:
                    return None
    except _Interrupted:
        _write_all(2, b"Aborting.\n")
        return 130
    except OSError:
        pass
    finally:
        _signal.signal(_signal.SIGINT, previous)
    if not accepted:
        return None  # the server went away before it did anything: the full path runs it
    if created and not pipe_closed and not interrupts:
        return _ServerLost(created, relayed)
    what = f"container {created}" if created else "the container"
    _write_all(2, f"error: the run server of {root} went away during the run; the state of {what}: "
                  f"hoist container ls -a\n".encode())
    return EXIT_SERVER_LOST


def _resume(root: str, request: FastRun, lost: _ServerLost) -> int:
    """Finish a run whose server went away (killed, say) with the full path's code: the state is all in the
    root, so nothing is lost — the rest of the output, the exit code, --rm (container.resume_run)."""
    import types

    from compose.cli.boundary import run_command
    from compose.cli.commands import container
    from runtime.engine import open_engine

    rest = types.ModuleType("resume")
    rest.run = lambda _args: container.resume_run(  # type: ignore[attr-defined]
        open_engine(), lost.container_id, rm=request.rm, relayed=lost.relayed)
    os.environ["HOIST_ROOT"] = root  # as main() does with --root
    return run_command(rest, None)  # type: ignore[arg-type]


def _write_all(fd: int, data: bytes) -> bool:
    """False when the reader has gone (the full path meets BrokenPipeError there)."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        return False
    return True
