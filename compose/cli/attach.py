"""Attaching to a running container's main process (``hoist attach``, ``hoist container attach``), as docker's
attach does it.

- A TTY container: the supervisor's attach socket (compose/cli/terminal.py's machinery), the user's terminal
  in raw mode, and docker's detach key sequence (default ctrl-p,ctrl-q) to leave it running.
- Without a TTY: the container's output from now on (its log, followed, the records from the attach's start
  on), our standard input forwarded when it has ``stdin_open`` (unless ``--no-stdin``), and with
  ``--sig-proxy`` (the default) the signals we get (^C's SIGINT ...) sent to the container; without it ^C
  detaches. A service's stdin outlives the attach, as docker's does: the next attach feeds it again (only
  an attached ``run -i``, docker's StdinOnce, closes the container's stdin when its input ends).

Either way the attach ends when the container exits, with its exit code, as docker's. Module level: stdlib
only (the `attach` command's parser imports it)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket

    from runtime.api import ContainerState

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
# What docker's sig-proxy forwards, less what a terminal program should keep for itself (SIGCHLD, SIGPIPE,
# SIGWINCH ...).
FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
# docker's key names: ctrl-@ is 0, ctrl-a 1 ... ctrl-z 26, then ctrl-[ ctrl-\ ctrl-] ctrl-^ ctrl-_.
_CTRL_KEYS = ["ctrl-@", *(f"ctrl-{chr(c)}" for c in range(ord("a"), ord("z") + 1)),
              "ctrl-[", "ctrl-\\", "ctrl-]", "ctrl-^", "ctrl-_"]
ESCAPE_MESSAGE = "read escape sequence"
RECENT_LINES = 1000  # the most lines a container may log between the attach's start and the follower's look


def add_attach_flags(parser: argparse.ArgumentParser) -> None:
    """The flags `hoist attach` and `hoist container attach` share with docker's attach."""
    from compose.cli.parsers import add_go_bool

    parser.add_argument("--detach-keys", default=None, metavar="KEYS",
                        help=f'override the key sequence for detaching from a container (default "{DEFAULT_DETACH_KEYS}")')
    parser.add_argument("--no-stdin", action="store_true", help="do not attach STDIN")
    # docker's --sig-proxy is a boolean flag that defaults to true (--sig-proxy=false turns it off).
    add_go_bool(parser, "--sig-proxy", help="proxy all received signals to the process (default true; "
                                            "--sig-proxy=false to not)")


def parse_detach_keys(text: str | None) -> bytes:
    """docker's detach key format: comma-separated keys, each one character or ``ctrl-X`` (X in a-z, @, [, \\,
    ], ^, _) or ``DEL``; empty or None: the default ctrl-p,ctrl-q."""
    from compose.errors import UsageError

    if not text:
        text = DEFAULT_DETACH_KEYS
    codes = bytearray()
    for key in text.split(","):
        if len(key) == 1 and key.isascii():
            codes += key.encode()
        elif key in _CTRL_KEYS:
            codes.append(_CTRL_KEYS.index(key))
        elif key == "DEL":
            codes.append(127)
        else:
            raise UsageError(f"invalid detach keys {text!r}: unknown character: {key!r}",
                             hint='use keys such as "ctrl-p,ctrl-q", "a" or "ctrl-a,b"')
    return bytes(codes)


class EscapeMatcher:
    """Watches the input for the detach sequence. ``feed(data)`` returns what to pass on and whether the
    sequence is complete; the keys of a partial match are held back until the next byte shows they are not
    the sequence (then they are passed on), as docker's escape proxy does."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = bytearray()

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for byte in data:
            if not self.keys:
                out.append(byte)
                continue
            if byte == self.keys[len(self.held)]:
                self.held.append(byte)
                if len(self.held) == len(self.keys):
                    self.held.clear()
                    return bytes(out), True
                continue
            out += self.held
            self.held.clear()
            if byte == self.keys[0]:
                self.held.append(byte)
                if len(self.keys) == 1:
                    self.held.clear()
                    return bytes(out), True
            else:
                out.append(byte)
        return bytes(out), False


@dataclass(frozen=True)
class AttachOptions:
    no_stdin: bool = False
    sig_proxy: bool = True
    detach_keys: str | None = None


def check_attachable(state: ContainerState) -> None:
    """docker's refusals: attaching needs a running container."""
    from runtime.errors import StateError

    if state.status == "paused":
        raise StateError("You cannot attach to a paused container, unpause it first")
    if state.status == "restarting":
        raise StateError("You cannot attach to a restarting container, wait until it is running")
    if state.status != "running":
        raise StateError("You cannot attach to a stopped container, start it first")


def attach(engine: Any, ref: str, options: AttachOptions) -> int:
    """Attach to container ``ref`` until it exits (its exit code) or we detach (0; 130 for ^C without
    --sig-proxy)."""
    keys = parse_detach_keys(options.detach_keys)
    state = engine.container_inspect(ref)
    check_attachable(state)
    spec = state.spec
    if spec is not None and spec.tty:
        return _attach_tty(engine, state, keys, stdin=not options.no_stdin)
    stdin = bool(spec is not None and spec.stdin_open) and not options.no_stdin
    return attach_stream(engine, state.id, keys, stdin=stdin, sig_proxy=options.sig_proxy)


def exit_code(engine: Any, ref: str) -> int:
    """The exit code once the container has exited (its record may lag its output's end a little)."""
    from runtime.errors import StateError

    try:
        return int(engine.container_wait(ref, timeout=5))
    except (StateError, TimeoutError):
        return int(engine.container_inspect(ref).exit_code)


# ------------------------------------------------------------------------------------------- no TTY


def attach_stream(engine: Any, container_id: str, keys: bytes, *, stdin: bool, sig_proxy: bool) -> int:
    import signal
    import threading

    from runtime.errors import NotFound, StateError
    from runtime.logs import rfc3339_nano

    # From now on: what the log gets from here (its last lines, filtered by time: the output of what our stdin
    # makes it do may be written before the follower first looks at the file).
    since = rfc3339_nano()
    done = threading.Event()
    detached = threading.Event()
    failure: list[BaseException] = []

    def stream() -> None:
        try:
            for rec in engine.container_logs(container_id, follow=True, tail=RECENT_LINES, since=since):
                out = sys.stdout if rec.stream == "stdout" else sys.stderr
                out.write(rec.text)
                out.flush()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failure.append(exc)
        finally:
            done.set()

    pending: list[int] = []
    previous: dict[int, Any] = {}
    if sig_proxy:
        for name in FORWARDED_SIGNALS:
            signum = getattr(signal, name)
            previous[signum] = signal.signal(signum, lambda s, _f: pending.append(s))
    threading.Thread(target=stream, name="attach-output", daemon=True).start()
    conn = _connect_stdin(engine.root, container_id, keys, done, detached) if stdin else None
    try:
        while not done.wait(0.05):
            while pending:
                name = signal.Signals(pending.pop(0)).name
                try:
                    engine.container_kill(container_id, signal=name)
                except (StateError, NotFound):
                    pass  # it has just exited: the stream ends by itself
    except KeyboardInterrupt:  # --sig-proxy=false: ^C detaches, the container goes on
        return 130
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if conn is not None:
            conn.close()
    if detached.is_set():
        print(ESCAPE_MESSAGE, file=sys.stderr)
        return 0
    if failure:
        raise failure[0]
    return exit_code(engine, container_id)


def _connect_stdin(root: Any, container_id: str, keys: bytes, done: Any, detached: Any) -> socket.socket | None:
    """Our stdin to the container's (``stdin_open`` without a TTY) through its supervisor's attach socket, in
    a thread; the detach sequence in it sets ``detached`` and ``done``. At the end of our input we stop
    feeding but keep the connection, and the container's stdin stays open for the next attach (a run -i's
    supervisor, docker's StdinOnce, closes it when we leave)."""
    import socket
    import threading
    from pathlib import Path

    from runtime.supervisor import attach_socket_path

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(attach_socket_path(Path(root), container_id)))
        if not conn.recv(1):  # the greeting byte
            raise ConnectionResetError
    except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError):
        conn.close()
        return None
    matcher = EscapeMatcher(keys)

    def pump() -> None:
        try:
            while chunk := os.read(sys.stdin.fileno(), 65536):
                data, escaped = matcher.feed(chunk)
                if data:
                    conn.sendall(data)
                if escaped:
                    detached.set()
                    done.set()
                    return
        except (OSError, ValueError):
            pass  # the container is gone, or our stdin is

    threading.Thread(target=pump, name="attach-stdin", daemon=True).start()
    return conn


# ---------------------------------------------------------------------------------------------- TTY


def _attach_tty(engine: Any, state: ContainerState, keys: bytes, *, stdin: bool) -> int:
    from pathlib import Path

    from compose.cli.terminal import connect_tty

    connected = connect_tty(Path(engine.root), state.id)
    if connected is None:  # it exited meanwhile: its supervisor took the socket away
        return exit_code(engine, state.id)
    conn, master = connected
    try:
        detached = relay_tty(conn, master, keys, stdin=stdin)
    finally:
        if master is not None:
            os.close(master)
        conn.close()
    if detached:
        print(ESCAPE_MESSAGE, file=sys.stderr)
        return 0
    return exit_code(engine, state.id)


def relay_tty(conn: socket.socket, master: int | None, keys: bytes, *, stdin: bool) -> bool:
    """The container's pty output (from ``conn``) to our stdout, our stdin (raw mode when it is a terminal) to
    it, window sizes to its pty ``master``; until the pty closes (False) or the detach sequence (True)."""
    from compose.cli.terminal import _relay

    return _relay(lambda: conn.recv(65536), conn.sendall, conn.fileno(), master, stdin=stdin,
                  escape=EscapeMatcher(keys).feed)
