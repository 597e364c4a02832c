"""Interactive terminals: relay the user's TTY (raw mode) to a container's pty, with window resizes."""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size(fd: int | None = None) -> tuple[int, int] | None:
    """(rows, columns) of the user's terminal on ``fd`` (stdin), or None when it is not a terminal."""
    fd = sys.stdin.fileno() if fd is None else fd
    if not os.isatty(fd):
        return None
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    return (rows, cols) if rows and cols else None


def _copy_size(src: int, dst: int) -> None:
    if os.isatty(src):
        size = fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst, termios.TIOCSWINSZ, size)


def _relay(data_out: Any, write_in: Any, read_fd: int, resize_fd: int | None, *, stdin: bool = True,
           escape: Callable[[bytes], tuple[bytes, bool]] | None = None) -> bool:
    """stdin (raw mode when it is a terminal) -> write_in(bytes); read_fd -> stdout; our window size to
    ``resize_fd``. Until read_fd reaches EOF (False), or ``escape`` (which passes on the bytes of our input
    that are not a detach sequence, and says whether one was typed) sees the sequence (True). Without
    ``stdin``, our input is left alone."""
    in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    sys.stdout.flush()
    previous = None
    if resize_fd is not None:
        _copy_size(in_fd, resize_fd)
        previous = signal.signal(signal.SIGWINCH, lambda *_: _copy_size(in_fd, resize_fd))
    watch = [read_fd] + ([in_fd] if stdin else [])
    try:
        with raw_terminal(in_fd) if stdin else contextlib.nullcontext():
            while True:
                try:
                    ready, _, _ = select.select(watch, [], [])
                except InterruptedError:
                    continue
                if read_fd in ready:
                    try:
                        chunk = data_out()
                    except OSError:
                        chunk = b""
                    if not chunk:
                        return False
                    os.write(out_fd, chunk)
                if in_fd in ready:
                    chunk = os.read(in_fd, 4096)
                    if not chunk:
                        watch.remove(in_fd)
                        continue
                    escaped = False
                    if escape is not None:
                        chunk, escaped = escape(chunk)
                    if chunk:
                        write_in(chunk)
                    if escaped:
                        return True
    finally:
        if previous is not None:
            signal.signal(signal.SIGWINCH, previous)


def connect_tty(root: Path, container_id: str) -> tuple[socket.socket, int | None] | None:
    """The TTY container's supervisor socket and the pty master it hands over (None if it sent none); None
    when the container was gone first (a short program: the supervisor took its socket away, or closed it
    without greeting us)."""
    from runtime.supervisor import attach_socket_path

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fds = array.array("i")
    try:
        conn.connect(str(attach_socket_path(root, container_id)))
        greeting, ancdata, _, _ = conn.recvmsg(1, socket.CMSG_SPACE(fds.itemsize))
    except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError):
        greeting, ancdata = b"", []
    if not greeting:
        conn.close()
        return None
    master = None
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
            master = fds[0]
    return conn, master


def attach_tty(root: Path, container_id: str) -> bool:
    """Attach to a TTY container's supervisor socket (``-it``) until the container's pty closes.

    False when the container was gone before we could attach; its output is then in its log, not lost.
    """
    connected = connect_tty(root, container_id)
    if connected is None:
        return False
    conn, master = connected
    try:
        _relay(lambda: conn.recv(65536), conn.sendall, conn.fileno(), master)
    finally:
        if master is not None:
            os.close(master)
        conn.close()
    return True


def forward_stdin(root: Path, container_id: str) -> None:
    """``run -i`` without a TTY: copy our stdin to the container's in the background; EOF closes it there."""
    import threading

    from runtime.supervisor import attach_socket_path

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(attach_socket_path(root, container_id)))
        conn.recv(1)  # the greeting byte
    except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError):
        conn.close()  # it has exited already (and its supervisor took the socket away): nothing to feed
        return

    def pump() -> None:
        try:
            while chunk := os.read(sys.stdin.fileno(), 65536):
                conn.sendall(chunk)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the container is gone

    threading.Thread(target=pump, daemon=True).start()


def exec_tty(engine: Any, ref: str, spec: Any) -> int:
    """``exec -it``: a pty from the container's devpts for the command, relayed to the user's terminal."""
    from runtime.exec import wait_exit_code

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        pid = _start_exec(engine, ref, spec, theirs, ours)
        theirs.close()
        _, fds, _, _ = socket.recv_fds(ours, 1, 1)
    finally:
        theirs.close()
        ours.close()
    master = fds[0]

    def read() -> bytes:
        try:
            return os.read(master, 65536)
        except OSError:
            return b""  # EIO: the last process holding the pty is gone

    try:
        _relay(read, lambda data: os.write(master, data), master, master)
    finally:
        os.close(master)
    return wait_exit_code(pid)


def _start_exec(engine: Any, ref: str, spec: Any, console: socket.socket, ours: socket.socket) -> int:
    from runtime.containers.cgroups import ContainerCgroups
    from runtime.errors import SetupError
    from runtime.exec import ExecError, ExecRequest, exec_process

    rec, st, plan = engine._running_plan(ref)
    request = ExecRequest(argv=list(spec.command), env=dict(spec.env), user=spec.user,
                          working_dir=spec.working_dir, privileged=spec.privileged,
                          console_size=spec.console_size or terminal_size())
    null = os.open("/dev/null", os.O_RDWR)
    try:
        helper, _ = exec_process(plan, st.pid, ContainerCgroups(engine.root, rec.id, plan.cgroup_parent).attach, request,
                                 (null, null, null), console=console, close_in_child=(ours.fileno(),))
    except ExecError as exc:
        raise SetupError(str(exc), step="exec") from None
    finally:
        os.close(null)
    return helper
