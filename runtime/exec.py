"""Run a process inside a running container: its namespaces, its cgroup, its capabilities, user, env, cwd.

runc's order: join the cgroup, setns into every namespace (mount last), fork so the PID namespace applies,
then the same confinement as the container's init, and exec. The forked helper stays in between and exits
with the command's status, so any caller (the CLI, the supervisor's healthchecks) just waits for one child.
Stdlib only: the supervisor runs healthchecks through this module.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from runtime import syscalls as sc
from runtime.containers.defaults import CAPABILITY_NUMBERS
from runtime.containers.init import (
    EXIT_NOT_EXECUTABLE,
    EXIT_NOT_FOUND,
    EXIT_SETUP_FAILED,
    make_console,
    reset_inherited_signals,
)
from runtime.containers.plan import LaunchPlan
from runtime.containers.security import confine
from runtime.containers.users import read_text, resolve_user

# mnt last: after it the host's paths (/proc/<pid>/ns/...) are out of reach.
_NAMESPACES = ("cgroup", "ipc", "uts", "net", "pid", "mnt")


@dataclass(frozen=True)
class ExecRequest:
    argv: list[str]
    env: Mapping[str, str]
    user: str | None = None
    working_dir: str | None = None
    privileged: bool = False
    console_size: tuple[int, int] | None = None  # (rows, columns) of the pty, set before the command starts


class ExecError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def exec_process(plan: LaunchPlan, container_pid: int, attach_cgroup: Callable[[int], None],
                 request: ExecRequest, stdio: tuple[int, int, int], console: socket.socket | None = None,
                 close_in_child: tuple[int, ...] = ()) -> tuple[int, int]:
    """Fork the helper; returns (helper pid, command pid). Wait on the helper for the exit status.

    With ``console``, the command gets a terminal from the container's own devpts and its master is sent
    over that socket (as for ``run -t``); ``stdio`` is unused then.
    Raises ExecError when the command cannot start (unknown user, missing executable...).
    """
    ns_fds = []
    for ns in _NAMESPACES:
        path = f"/proc/{container_pid}/ns/{ns}"
        # Namespaces shared with the host (network_mode host...) are skipped: setns would be a no-op.
        if os.readlink(path) != os.readlink(f"/proc/self/ns/{ns}"):
            ns_fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    pid_r, pid_w = os.pipe2(os.O_CLOEXEC)
    helper = os.fork()
    if helper == 0:
        reset_inherited_signals()  # the helper sets its own forwarding handlers; the command gets defaults
        for fd in close_in_child:
            os.close(fd)
        os.close(err_r)
        os.close(pid_r)
        _helper(plan, attach_cgroup, ns_fds, request, stdio, console, err_w, pid_w)
    for fd in ns_fds:
        os.close(fd)
    os.close(err_w)
    os.close(pid_w)
    raw_pid = _read_all(pid_r)
    os.close(pid_r)
    error = _read_all(err_r).decode(errors="replace")
    os.close(err_r)
    if error:
        message, _, code = error.rpartition("\0")
        os.waitpid(helper, 0)
        raise ExecError(message, int(code or EXIT_SETUP_FAILED))
    return helper, int(raw_pid or 0)


def _read_all(fd: int) -> bytes:
    out = b""
    while chunk := os.read(fd, 65536):
        out += chunk
    return out


def _helper(plan: LaunchPlan, attach_cgroup: Callable[[int], None], ns_fds: list[int], request: ExecRequest,
            stdio: tuple[int, int, int], console: socket.socket | None, err_w: int, pid_w: int) -> None:
    try:
        attach_cgroup(os.getpid())
        for fd in ns_fds:
            sc.setns(fd)
            os.close(fd)
    except BaseException as exc:  # noqa: BLE001
        os.write(err_w, f"join the container: {exc}\0{EXIT_SETUP_FAILED}".encode())
        os._exit(EXIT_SETUP_FAILED)
    child = os.fork()
    if child == 0:
        os.close(pid_w)
        _command(plan, request, stdio, console, err_w)
    os.close(err_w)
    os.write(pid_w, str(child).encode())
    os.close(pid_w)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, lambda s, _f: _forward(child, s))
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def _forward(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _command(plan: LaunchPlan, request: ExecRequest, stdio: tuple[int, int, int],
             console: socket.socket | None, err_w: int) -> None:
    step = "setup"
    try:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_DFL)  # the helper's forwarding handlers
        os.setsid()
        if console is not None:
            step = "terminal"
            make_console("/", console, request.console_size)
        else:
            for i, fd in enumerate(stdio):
                os.dup2(fd, i)
        step = "user"
        user = resolve_user(request.user if request.user is not None else plan.user,
                            read_text("/etc/passwd"), read_text("/etc/group"), plan.group_add)
        step = "working directory"
        os.chdir(request.working_dir or plan.cwd or "/")
        env = dict(item.partition("=")[::2] for item in plan.env)
        env.update(request.env)
        step = "capabilities"
        caps = list(CAPABILITY_NUMBERS) if request.privileged else plan.capabilities
        confine(user, caps, plan.no_new_privs)
        os.umask(0o022)
        os.closerange(3, err_w)
        os.closerange(err_w + 1, 65536)
        step = "exec"
        sc.clear_signal_mask()
        os.execvpe(request.argv[0], request.argv, env)
    except BaseException as exc:  # noqa: BLE001
        code = EXIT_SETUP_FAILED
        if step == "exec" and isinstance(exc, OSError):
            code = EXIT_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_NOT_EXECUTABLE
            msg = f'exec: "{request.argv[0]}": {exc.strerror}'
        else:
            msg = f"{step}: {exc}"
        try:
            os.write(err_w, f"{msg}\0{code}".encode())
        except OSError:
            pass
    os._exit(EXIT_SETUP_FAILED)


def wait_exit_code(pid: int) -> int:
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
