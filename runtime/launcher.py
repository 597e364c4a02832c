"""A lean fork server that starts supervisors, one per state root (architecture.md: fork cost and PSS).

Forking a supervisor from the CLI would give each one a private copy of the CLI's heap once the CLI exits.
Instead, one small process per root (stdlib and the supervisor's modules only, ``gc.freeze()``d) forks
every supervisor, so all of them share its pages. While idle it keeps one supervisor forked ahead of need
(``_Spare``), which takes the next start. It is started on demand by the first ``start`` and exits
once it has been idle (no supervisors of its own left) for ``idle_exit()`` seconds. If it is killed, its
supervisors carry on (re-parented to init) and the next request starts a new server.

Protocol on ``<run dir>/launcher-<code tag>.sock``: the client sends ``start <container id>\\n``; the supervisor itself
answers on that connection with one JSON line when the container runs (or failed to start) and another
when it has exited for good (unless the client hung up).
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import selectors
import signal
import socket
import sys
import time
from pathlib import Path

from runtime import naming, unixsock

DEFAULT_IDLE_EXIT = 2.0
# What a launcher forks runs the code the launcher loaded when it started. So that code edited or upgraded
# since never supervises a new container, launchers are told apart by a tag of the runtime's sources: a
# client finds (or starts) the launcher of *its* code; an older one keeps its supervisors and exits when idle.
_CODE_DIRS = ("", "containers", "network")
_code_tag: str | None = None


def code_tag() -> str:
    """8 hex digits over the name, size and mtime of the runtime's modules (the supervisor's import closure
    lies within these directories): ~70 stats, computed once per process."""
    global _code_tag
    if _code_tag is None:
        _code_tag = sources_tag(Path(__file__).resolve().parent)
    return _code_tag


def sources_tag(base: Path) -> str:
    from runtime import codetag

    return codetag.sources_tag(base, _CODE_DIRS)


def idle_exit() -> float:
    """Seconds the launcher lingers without supervisors (HOIST_LAUNCHER_IDLE; tests make it short)."""
    try:
        return float(os.environ.get("HOIST_LAUNCHER_IDLE", DEFAULT_IDLE_EXIT))
    except ValueError:
        return DEFAULT_IDLE_EXIT


DEFAULT_PID1_AHEAD_AGE = 1.0


def pid1_ahead_age() -> float:
    """Seconds a spare keeps the PID 1 it forked ahead (HOIST_PID1_AHEAD_AGE; tests make it long). A PID 1
    shows the time it was forked as its start (``ps``, /proc/<pid>/stat), so one that waited long would
    look older than its container; past this age the spare lets it go and the next start forks its own
    (an idle launcher's next start is not the one in a hurry)."""
    try:
        return float(os.environ.get("HOIST_PID1_AHEAD_AGE", DEFAULT_PID1_AHEAD_AGE))
    except ValueError:
        return DEFAULT_PID1_AHEAD_AGE


CONNECT_TIMEOUT = 10.0


def socket_path(root: Path, tag: str | None = None) -> Path:
    return _launcher_file(root, "sock", tag)


def _launcher_file(root: Path, ext: str, tag: str | None = None) -> Path:
    return naming.run_dir(root) / f"launcher-{tag or code_tag()}.{ext}"


# ----------------------------------------------------------------------------------------------- client


def request_start(root: Path, container_id: str) -> socket.socket:
    """Ask the root's launcher for a supervisor; read the returned connection for the outcome."""
    conn = _connect(root)
    conn.sendall(f"start {container_id}\n".encode())
    return conn


def prestart(root: Path) -> None:
    """Bring the root's launcher up in a background thread while the caller goes on (``create`` calls this):
    the first start then finds it listening instead of waiting out its start-up (a fresh interpreter, its
    imports and the rehearsal: ~80 ms). Best effort; ``request_start`` spawns it anyway if this did not."""

    def warm() -> None:
        try:
            _connect(root).close()  # a connection that sends nothing is dropped by the server
        except OSError:
            pass

    import threading

    threading.Thread(target=warm, name="hoist-launcher-warmup", daemon=True).start()


def _try_connect(path: Path) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        conn.connect(str(path))
        return conn
    except (FileNotFoundError, ConnectionRefusedError):
        conn.close()
        return None


def _connect(root: Path) -> socket.socket:
    path = socket_path(root)
    conn = _try_connect(path)
    if conn is not None:
        return conn
    run = naming.run_dir(root)
    run.mkdir(parents=True, exist_ok=True)
    with open(_launcher_file(root, "lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one spawner at a time; the others find its server
        conn = _try_connect(path)
        if conn is not None:
            return conn
        _spawn_server(root)
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while time.monotonic() < deadline:
            conn = _try_connect(path)
            if conn is not None:
                return conn
            time.sleep(0.002)
    raise OSError(f"the supervisor launcher for {root} did not come up within {CONNECT_TIMEOUT:g}s")


def _spawn_server(root: Path) -> None:
    """Start ``serve(root)`` in a fresh, detached ``python -S`` (no site: nothing but what it imports)."""
    project = str(Path(__file__).resolve().parent.parent)
    code = (f"import sys; sys.path.insert(0, {project!r}); from runtime.launcher import serve; "
            f"serve({str(root)!r}, {code_tag()!r})")  # the client's tag: where it waits for the server
    argv = [sys.executable, "-S", "-c", code]
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "HOIST_ROOT": str(root),
           "HOIST_LAUNCHER_IDLE": str(idle_exit()), "HOIST_PID1_AHEAD_AGE": str(pid1_ahead_age())}
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork():
                os._exit(0)
            os.chdir("/")  # never pin the caller's directory (or its filesystem) for the supervisors' lifetime
            os.umask(0o022)
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, 65536)
            os.execve(sys.executable, argv, env)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)


# ----------------------------------------------------------------------------------------------- server


def serve(root: str, tag: str | None = None) -> None:
    root_path = Path(root)
    from runtime import supervisor  # everything a supervisor needs, loaded once and shared by all

    path = socket_path(root_path, tag)
    path.parent.mkdir(parents=True, exist_ok=True)
    listener, my_inode = unixsock.listen_private(path)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        supervisor.rehearse(naming.run_dir(root_path) / f"rehearsal-{os.getpid()}")
    except Exception:  # noqa: BLE001 - only an optimisation: supervisors work without it
        pass
    gc.collect()
    gc.freeze()  # keep the collector from writing to (and so un-sharing) the pages children inherit
    children: set[int] = set()
    spare: _Spare | None = None
    started: list[str] = []  # the id of the container last started (one at most)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    idle_since = last_request = time.monotonic()
    linger = idle_exit()
    try:
        while True:
            if sel.select(0.1 if spare is not None else _SPARE_AFTER):
                try:
                    spare = _serve_one(listener, root_path, children, supervisor, spare, started)
                except OSError:
                    pass  # a client that vanished mid-request must not take the launcher down
                last_request = time.monotonic()
            _reap(children)
            now = time.monotonic()
            if children:
                idle_since = now
            elif now - idle_since > linger:
                break
            if spare is None and now - last_request >= _SPARE_AFTER:
                spare = _Spare.fork(listener, root_path, supervisor,
                                    loopback_netns=_had_no_network(root_path, started))
        # Stop taking new clients first, then serve whoever is already queued, then go.
        unixsock.unlink_if_ours(path, my_inode)
        listener.setblocking(False)
        while True:
            try:
                spare = _serve_one(listener, root_path, children, supervisor, spare)
            except BlockingIOError:
                break
            except OSError:
                continue
    finally:
        if spare is not None:
            spare.dismiss()
    listener.close()
    while children:
        _reap(children)
        time.sleep(0.05)


def _had_no_network(root: Path, started: list[str]) -> bool:
    """Whether the container last started has no network (``network_mode: none``), so that the next spare
    makes a network namespace for such a container ahead (supervisor.ProcessSetup.loopback_netns). Starts
    come in runs of one kind (a test loop, ``run --rm`` again and again, a project's one-off tasks); one
    made for nothing costs a namespace created and destroyed while the launcher is idle."""
    if not started or len(started[0]) != 64 or started[0].strip("0123456789abcdef"):
        return False  # not an id the engine makes: no file name to build from it
    try:
        with open(root / "containers" / started[0] / "plan.json", "rb") as f:
            return bool(json.load(f).get("network") == "none")
    except (OSError, ValueError, AttributeError):
        return False


# A supervisor forked ahead of need (``_Spare``) takes the next start: the fork, the child's start-up and
# its first copy-on-write faults (~2 ms measured, on a start's critical path of ~12) are paid while the
# launcher is idle. A new spare is forked only after this long without a request, so that its fork never
# competes for the CPU with the start that used the previous one (on two cores, that start's supervisor
# and PID 1 already keep both busy). Starts arriving meanwhile get a supervisor forked on demand.
_SPARE_AFTER = 0.025


class _Spare:
    """A forked child that waits on a socket pair for a container id and a client connection, then
    supervises that container exactly as a child forked on demand does. If the launcher goes, or
    dismisses it, it sees EOF and exits."""

    def __init__(self, pid: int, channel: socket.socket) -> None:
        self.pid = pid
        self.channel = channel

    @classmethod
    def fork(cls, listener: socket.socket, root: Path, supervisor: object, *,
             loopback_netns: bool = False) -> _Spare | None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            return None  # starts fork on demand
        if pid == 0:
            code = 0
            try:
                listener.close()
                ours.close()
                code = _run_spare(theirs, root, supervisor, loopback_netns)
            finally:
                os._exit(code)
        theirs.close()
        ours.setblocking(True)
        return cls(pid, ours)

    def hand_over(self, container_id: str, conn: socket.socket) -> bool:
        try:
            socket.send_fds(self.channel, [container_id.encode()], [conn.fileno()])
            return True
        except OSError:
            return False  # it died: the caller forks a supervisor instead
        finally:
            self.channel.close()

    def dismiss(self) -> None:
        self.channel.close()
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _run_spare(channel: socket.socket, root: Path, supervisor: object, loopback_netns: bool) -> int:
    process = supervisor.prepare_process(loopback_netns=loopback_netns)  # type: ignore[attr-defined]
    supervisor.fault_in_records()  # type: ignore[attr-defined]
    supervisor.fork_pid1_ahead(process)  # type: ignore[attr-defined]
    try:
        message, fds = _await_start(channel, process)
    except OSError:
        message, fds = b"", []
    finally:
        channel.close()
    if not message or not fds:
        for fd in fds:
            os.close(fd)
        process.take_candidate(False)  # dismissed: its PID 1 ahead goes too
        return 0
    return _supervise(socket.socket(fileno=fds[0]), root, message.decode(), supervisor, process)


def _await_start(channel: socket.socket, process: object) -> tuple[bytes, list[int]]:
    """The launcher's hand-over (a container id and the client's connection); the PID 1 forked ahead goes
    once it is older than ``pid1_ahead_age()``."""
    if process.candidate is not None:  # type: ignore[attr-defined]
        channel.settimeout(pid1_ahead_age())
        try:
            message, fds, _, _ = socket.recv_fds(channel, 256, 1)
            return message, fds
        except TimeoutError:
            process.take_candidate(False)  # type: ignore[attr-defined]
        finally:
            channel.settimeout(None)
    message, fds, _, _ = socket.recv_fds(channel, 256, 1)
    return message, fds


def _supervise(conn: socket.socket, root: Path, container_id: str, supervisor: object,
               process: object = None) -> int:
    """A supervisor's whole life, in a child of the launcher; its exit code."""
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        supervisor.run(root, container_id, conn, process)  # type: ignore[attr-defined]
    except BaseException as exc:  # noqa: BLE001 - the status file and the client must hear of it
        try:
            conn.sendall(json.dumps({"ok": False, "error": f"supervisor: {exc}"}).encode() + b"\n")
        except OSError:
            pass
        return 1
    return 0


def _serve_one(listener: socket.socket, root: Path, children: set[int], supervisor: object,
               spare: _Spare | None, started: list[str] | None = None) -> _Spare | None:
    """Serve one queued client; returns the spare still unused (None once it took this start). The id of
    a container started goes in ``started`` (replacing the one before)."""
    conn, _ = listener.accept()
    conn.setblocking(True)
    conn.settimeout(5.0)
    try:
        line = b""
        while not line.endswith(b"\n"):
            chunk = conn.recv(256)
            if not chunk:
                break
            line += chunk
    except OSError:
        conn.close()
        return spare
    conn.settimeout(None)
    verb, _, arg = line.decode(errors="replace").strip().partition(" ")
    if verb != "start" or not arg:
        conn.close()
        return spare
    if started is not None:
        started[:] = [arg]
    if spare is not None:
        handed = spare.hand_over(arg, conn)
        children.add(spare.pid)  # it exits at once if the hand-over failed: reaped as any child
        if handed:
            conn.close()
            return None
    pid = os.fork()
    if pid == 0:
        listener.close()
        os._exit(_supervise(conn, root, arg, supervisor))
    conn.close()
    children.add(pid)
    return None


def _reap(children: set[int]) -> None:
    for pid in list(children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)
