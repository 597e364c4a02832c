"""The warm run server: `hoist container run` for compose.cli.fastrun's clients, one server per state root.

Everything a `container run` process spends before its container starts (the interpreter, argparse and the
parser, the engine's modules) is paid here once. Per request the server parses the client's argv with the
real parser, opens an engine on the root and runs ``container.run_created`` — the code the full path runs —
with the output sent to the client instead of to its own stdout. It holds no state of its own (its workers'
engines cache nothing: the database and files under the root are the truth), so a killed server loses
nothing, and a client that finds none takes the full path.

Lifetime: started detached by a client that found no server (fastrun.spawn_server); exits once it has had no
client for ``idle_exit()`` seconds. One server per root and code tag: it holds ``runserver-<tag>.lock`` while
it lives (a second one exits at once) and listens on ``runserver-<tag>.sock`` (mode 0600, root only) in the
root's run directory. The tag covers every module it loads (fastrun.sources_tag): code edited since a server
started never serves; that server idles out.

Protocol (one connection per run): the client sends a 4-byte length and NUL-separated fields:
``hoist-run/1``, the root, the argv count and argv (from the global flags on), the count and names of bare
``-e NAME`` flags, the count and ``NAME=VALUE`` of those set in its environment. The server answers with
frames (kind, 4-byte length, payload): ``f`` fall back (nothing was done: run the full path), ``a`` accepted
(from here on, what happens is this server's), ``c`` the container's id, ``1``/``2`` stdout/stderr text,
``x`` the exit code, last. The client may send one byte meanwhile: ``i`` for its ^C, ``p`` when its
stdout was closed; a client that hangs up leaves the run to finish on its own (``--rm`` still removes).
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from compose.cli import fastrun
from runtime import unixsock

DEFAULT_IDLE_EXIT = 30.0
REQUEST_TIMEOUT = 5.0
MAX_REQUEST = 1 << 20


def idle_exit() -> float:
    """Seconds without clients before the server exits: $HOIST_RUNSERVER_IDLE, else 30 s; a shorter
    $HOIST_LAUNCHER_IDLE caps it (who wants hoist's helper processes gone soon — the tests — wants this one
    gone too)."""
    idle = _seconds("HOIST_RUNSERVER_IDLE")
    if idle is not None:
        return idle
    launcher = _seconds("HOIST_LAUNCHER_IDLE")
    return DEFAULT_IDLE_EXIT if launcher is None else min(DEFAULT_IDLE_EXIT, launcher)


def _seconds(name: str) -> float | None:
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return None


# ----------------------------------------------------------------------------------------------- serving


def serve(root: str, tag: str) -> None:
    """Serve runs for ``root`` until idle. Returns at once if a server of this tag holds the lock."""
    import fcntl

    from runtime import naming

    os.chdir("/")  # never pin the first client's directory (or its filesystem)
    os.umask(0o022)  # what the engine creates is created as by a CLI with the usual umask (clients check theirs)
    root_path = Path(root)
    run_dir = naming.run_dir(root_path)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(fastrun.server_file(str(run_dir), tag, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server of this code serves (or is starting to serve) this root
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    from compose.cli import codecache

    codecache.install()  # the CLI's cache of dataclass code: ~60 ms less CPU to start (see the module)
    runner = _Runner(root_path)
    gc.collect()
    gc.freeze()  # what start-up made lives as long as the server: keep the collector's passes off it
    path = Path(fastrun.server_file(str(run_dir), tag, "sock"))
    listener, my_inode = unixsock.listen_private(path)  # a socket found there is a dead server's: we hold the lock
    linger = idle_exit()
    if "HOIST_LAUNCHER_IDLE" not in os.environ:
        # The supervisor launcher this server starts lingers as long as the server does: a warm run that
        # found the server but not the launcher (gone after its default 2 s) would wait ~80 ms for a new one.
        from runtime import launcher

        os.environ["HOIST_LAUNCHER_IDLE"] = str(max(linger, launcher.DEFAULT_IDLE_EXIT))
    runner.serve(listener, linger)
    # Idle: first no new clients (a client finding no socket runs the full path and starts a new server),
    # then stop accepting: a client caught in between loses its connection before the server read it, and
    # so takes the full path too (fastrun falls back when it hears nothing). Runs under way finish.
    unixsock.unlink_if_ours(path, my_inode)
    runner.stop()
    listener.close()
    os.close(lock_fd)


class _Runner:
    """Serves the clients on worker threads that accept connections themselves (no hand-over from an accept
    loop: one thread wake-up less per run), one per run under way plus one waiting in accept(); workers are
    kept for the next runs until the server goes.

    Each worker opens its engine once and keeps it: an Engine holds no state of its own (stores read the
    database and files on every call), only its per-thread SQLite connection and a few once-per-process
    chores it then does once (the boot check; warming the launcher: ~1.5 ms less per run, measured).
    """

    def __init__(self, root: Path) -> None:
        from compose.cli.commands import container
        from compose.cli.main import build_parser

        self.root = root
        self.container = container
        self.parser = build_parser(only="container")
        self.parse_lock = threading.Lock()  # argparse builds the lazy run parser on first use: one at a time
        self._parse(["container", "run", "--network", "none", "x"])  # build it now, not in the first run
        self._load_run_path()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._workers: list[threading.Thread] = []
        self._accepting = 0  # workers in (or on their way to) accept()
        self._running = 0  # connections being served
        self._last_activity = time.monotonic()
        self._stopping = False

    def _load_run_path(self) -> None:
        """Import what a run imports on first use (create, start, logs, remove), so no client pays it."""
        import runtime.containers.builder  # noqa: F401
        import runtime.containers.cgroups  # noqa: F401
        import runtime.containers.head_start  # noqa: F401
        import runtime.containers.reconcile  # noqa: F401
        import runtime.containers.records  # noqa: F401
        import runtime.containers.status  # noqa: F401
        import runtime.engine  # noqa: F401
        import runtime.images.store  # noqa: F401
        import runtime.launcher  # noqa: F401
        import runtime.logs  # noqa: F401
        import runtime.volumes  # noqa: F401

    def _parse(self, argv: list[str]) -> Any:
        with self.parse_lock:
            return self.parser.parse_args(argv)

    def serve(self, listener: socket.socket, linger: float) -> None:
        """Serve on ``listener`` until no client has come for ``linger`` seconds and no run is under way."""
        self._listener = listener
        self._add_worker()
        tick = min(linger, 0.5) if linger > 0 else 0.05
        while True:
            time.sleep(tick)  # the idle clock only: clients never wait for it
            with self._lock:
                if not self._running and time.monotonic() - self._last_activity > linger:
                    return

    def stop(self) -> None:
        """Stop accepting (wakes the workers blocked in accept), let the runs under way end, join the workers."""
        with self._lock:
            self._stopping = True
            workers = list(self._workers)
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for worker in workers:
            worker.join()

    def _add_worker(self) -> None:
        worker = threading.Thread(target=self._work, name="hoist-run", daemon=True)
        with self._lock:
            self._workers.append(worker)
            self._accepting += 1
        worker.start()

    def _work(self) -> None:
        from runtime.engine import open_engine

        assert self._listener is not None
        engine = None
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                with self._lock:
                    if self._stopping:
                        self._accepting -= 1
                        break
                time.sleep(0.01)  # a transient failure (EMFILE...): never leave the socket without an acceptor
                continue
            with self._lock:
                self._accepting -= 1
                self._running += 1
                another = not self._accepting and not self._stopping
            if another:
                self._add_worker()  # someone must be in accept() while this worker serves
            try:
                if engine is None:
                    engine = open_engine(self.root)
                _Session(self, conn, engine).run()
            except Exception:  # noqa: BLE001 - one broken run must not take the server (and the others) down
                if engine is not None:
                    engine.db.close()
                engine = None  # a fresh one for the next run, whatever this one left behind
            finally:
                conn.close()
                with self._lock:
                    self._running -= 1
                    self._last_activity = time.monotonic()
                    self._accepting += 1
        if engine is not None:
            engine.db.close()


class _Request:
    __slots__ = ("root", "argv", "env_names", "environ")

    def __init__(self, root: str, argv: list[str], env_names: list[str], environ: dict[str, str]) -> None:
        self.root, self.argv, self.env_names, self.environ = root, argv, env_names, environ


def decode_request(body: bytes) -> _Request | None:
    """The fields fastrun._encode_request wrote, or None if they are not that."""
    fields = [os.fsdecode(f) for f in body.split(b"\0")]
    try:
        if fields[0] != fastrun.PROTOCOL.decode():
            return None
        root = fields[1]
        at = 2
        count = int(fields[at])
        argv = fields[at + 1:at + 1 + count]
        at += 1 + count
        count = int(fields[at])
        env_names = fields[at + 1:at + 1 + count]
        at += 1 + count
        count = int(fields[at])
        entries = fields[at + 1:at + 1 + count]
        at += 1 + count
    except (IndexError, ValueError):
        return None
    if at != len(fields) or any("=" not in e for e in entries):
        return None
    return _Request(root, argv, env_names, dict(e.split("=", 1) for e in entries))


class _Session:
    """One client's run: the request, then the run itself, its output and its exit code as frames."""

    def __init__(self, runner: _Runner, conn: socket.socket, engine: Any) -> None:
        self.runner = runner
        self.conn = conn
        self.engine = engine
        self.gone = False  # the client hung up: the run goes on, its output goes nowhere
        self._send_lock = threading.Lock()

    # The client's connection as container._stream_until_exit watches it.
    def fileno(self) -> int:
        return self.conn.fileno()

    def on_readable(self) -> None:
        """The client's byte: raise what the full path's process would have met there, or note it left."""
        try:
            byte = self.conn.recv(1)
        except OSError:
            byte = b""
        if byte == fastrun.CLIENT_INTERRUPT:
            raise KeyboardInterrupt
        if byte == fastrun.CLIENT_BROKEN_PIPE:
            raise BrokenPipeError
        self.gone = True

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        if self.gone:
            return
        try:
            with self._send_lock:
                self.conn.sendall(kind + len(payload).to_bytes(4, "big") + payload)
        except OSError:
            self.gone = True

    def write(self, stream: str, text: str) -> None:
        self.send(b"1" if stream == "stdout" else b"2", text.encode("utf-8", "surrogateescape"))

    def run(self) -> None:
        if not self._peer_is_root():
            return
        request = self._read_request()
        if request is None:
            return
        args = self._parsed(request)
        if args is None:
            self.send(b"f")
            return
        self.send(b"a")
        self.send(b"x", str(self._run(args, request)).encode())

    def _peer_is_root(self) -> bool:
        import struct

        creds = self.conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return uid == 0

    def _read_request(self) -> _Request | None:
        self.conn.settimeout(REQUEST_TIMEOUT)
        try:
            head = self._read_exactly(4)
            size = int.from_bytes(head, "big") if head else 0
            body = self._read_exactly(size) if 0 < size <= MAX_REQUEST else b""
        except OSError:
            return None
        finally:
            self.conn.settimeout(None)
        return decode_request(body) if body else None

    def _read_exactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self.conn.recv(size - len(data))
            if not chunk:
                return b""
            data += chunk
        return bytes(data)

    def _parsed(self, request: _Request) -> Any:
        """The argv parsed as the full path parses it, if this server may run it; None: the client falls
        back (nothing has been done yet, so the full path runs it as if there were no server)."""
        if request.root != str(self.runner.root):
            return None  # two roots whose run directories share a tag: not ours
        try:
            args = self.runner._parse(after_global_flags(request.argv))
        except SystemExit:
            return None  # argparse's message and code come from the full path
        return args if runnable(args, request.env_names) else None

    def _run(self, args: Any, request: _Request) -> int:
        """container run as the full path runs it, its messages and codes as compose.cli.boundary has them."""
        from compose.cli.boundary import EXIT_ERROR, EXIT_INTERRUPTED
        from compose.errors import ComposeError
        from runtime.errors import RuntimeErrorBase

        container, engine = self.runner.container, self.engine
        try:
            state = engine.container_create(container.spec_from_args(args, request.environ))
            self.send(b"c", state.id.encode())
            return int(container.run_created(engine, state.id, rm=args.rm, write=self.write, client=self))
        except (ComposeError, RuntimeErrorBase) as exc:
            self.write("stderr", f"error: {exc}\n")
            return int(getattr(exc, "exit_code", EXIT_ERROR))
        except KeyboardInterrupt:
            self.write("stderr", "Aborting.\n")
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            return 0
        except Exception:  # noqa: BLE001 - as an uncaught error of the CLI: its traceback, exit code 1
            self.write("stderr", traceback.format_exc())
            return 1


def runnable(args: Any, env_names: list[str]) -> bool:
    """Whether parsed ``args`` are a run this server takes (what fastrun.parse_run_argv admits, checked again
    on argparse's reading): attached, no terminal or stdin, network none or host, no host files to read,
    and the bare ``-e NAME`` flags the client sent the values of."""
    if getattr(args, "container_command", None) != "run" or args.detach or args.tty or args.interactive:
        return False
    if args.network not in fastrun.FAST_NETWORKS or args.env_file or args.volume:
        return False
    bare = [item for item in args.env if "=" not in item]
    return sorted(bare) == sorted(env_names)


def after_global_flags(argv: list[str]) -> list[str]:
    """The client's argv from the command on (fastrun only sends ``--root`` before it; the root is ours)."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] == "--root" else 1
    return argv[i:]


if __name__ == "__main__":  # pragma: no cover - for debugging: python -m compose.cli.runserver ROOT TAG
    serve(sys.argv[1], sys.argv[2])
