"""Starting a container: the namespace fork (runc's model) and the one linear init sequence, in order.

``spawn`` runs in the supervisor. It forks the container's PID 1 straight into a new PID namespace (the
supervisor unshares CLONE_NEWPID, which applies to its next child only, forks, and goes back to its own
namespace for children to come); PID 1 enters or unshares the other namespaces, runs the init steps and
execs the user's command. A spare supervisor forks that PID 1 ahead, before it knows its container
(``Pid1Candidate``): the start then hands it the container and goes on as if it had just forked it. The
supervisor writes PID 1's host pid into the container's cgroups while PID 1 mounts its root filesystem
(runc's model: the first write to a cgroup.procs file waits out an RCU grace period, ~10 ms, which the
mounts hide). The supervisor may also make the cgroup directories then (``prepare``): PID 1 waits on a sync
pipe for "your cgroups exist" before it bind-mounts them, and for "you are in your cgroup" before it
unshares the cgroup namespace (so the namespace's root is the container's cgroup) and before it drops
privileges and execs: no user code ever runs outside the cgroup, and if the supervisor fails or dies, PID 1
sees EOF and exits. Setup errors travel back over a close-on-exec pipe: EOF without data means the exec
succeeded. Everything used after pivot_root must be imported before it (the host's modules are out of reach
then).
"""

from __future__ import annotations

import _signal
import fcntl
import json
import os
import resource
import signal
import socket
import struct
import sys
import termios
from collections.abc import Callable, Sequence

from runtime import syscalls as sc
from runtime.containers import mounts, rootfs, security
from runtime.containers.files import read_all
from runtime.containers.plan import LaunchPlan
from runtime.containers.users import UserError, read_text, resolve_user

EXIT_SETUP_FAILED = 125  # as docker run for daemon-side errors
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
_TIOCGPTN = 0x80045430  # linux/asm-generic ioctls, not in Python's termios
_TIOCSPTLCK = 0x40045431
# The sync pipe's two bytes, in this order.
_CGROUPS_MADE = b"\2"
_ATTACHED = b"\1"
_FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                      signal.SIGUSR2, signal.SIGWINCH, signal.SIGCONT)


class SpawnError(Exception):
    """The container could not be set up; ``step`` names the failing step of the sequence."""

    def __init__(self, step: str, message: str, exit_code: int = EXIT_SETUP_FAILED) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message
        self.exit_code = exit_code


def namespace_flags(plan: LaunchPlan, *, netns_made: bool = False) -> int:
    """The namespaces PID 1 unshares first thing. Not the PID namespace (``_fork_pid1`` made it) nor the
    cgroup namespace (``_enter_cgroup``, once PID 1 is in its cgroup), nor a network namespace made ahead
    (``netns_made``)."""
    flags = sc.CLONE_NEWNS
    if not plan.uts_host:
        flags |= sc.CLONE_NEWUTS
    if plan.network == "none" and not netns_made:
        flags |= sc.CLONE_NEWNET
    if not plan.ipc_ns:
        flags |= sc.CLONE_NEWIPC
    return flags


def reset_inherited_signals() -> None:
    """First thing in a child forked from a Python process (the supervisor, the CLI) on its way to execve.

    The supervisor's signal wakeup fd and SIGCHLD handler would otherwise live on in the child: once
    ``_close_fds`` has closed that fd, every SIGCHLD (the ``init: true`` reaper gets one per exited child)
    made Python print "Exception ignored when trying to write to the signal wakeup fd: ... Bad file
    descriptor" on the child's stderr, which is the container's log. Dispositions set to SIG_IGN (Python's
    SIGPIPE and SIGXFSZ, the supervisor's SIGHUP/SIGINT/SIGPIPE) survive execve, so they go back to the
    default, as a container under runc starts; so does the signal mask. Python's own error printing is
    silenced too: failures travel over the error pipe, never as text on the container's stdio.
    """
    signal.set_wakeup_fd(-1)
    # The C functions under ``signal``: its Python wrappers convert every value to and from enums, which
    # in a freshly forked child (each object touched costs copy-on-write faults) took 0.3 ms more.
    for sig in _RESETTABLE:
        handler = _signal.getsignal(sig)
        if handler is not None and handler != _SIG_DFL:
            _signal.signal(sig, _SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    sc.clear_signal_mask()
    sys.stderr = sys.stdout = None  # type: ignore[assignment]
    sys.unraisablehook = _ignore_unraisable


def _ignore_unraisable(_: object) -> None:
    pass


# Computed once, in the launcher, not in each forked child.
_RESETTABLE = tuple(sorted(s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)))
_SIG_DFL = int(signal.SIG_DFL)


def spawn(plan: LaunchPlan, attach_cgroup: Callable[[int], None], cgroup_dirs: dict[str, str],
          stdio: tuple[int, int, int], console: socket.socket | None = None,
          close_in_child: tuple[int, ...] = (), prepare: Callable[[int], None] | None = None,
          loopback_netns: int = -1, candidate: Pid1Candidate | None = None) -> int:
    """Start the container; returns the host pid of its PID 1 (a child of the caller).

    ``prepare(pid)`` then ``attach_cgroup(pid)`` run here, in the caller, while PID 1 sets up its mounts.
    ``prepare`` must leave the cgroup directories made: PID 1 bind-mounts them only once it returned. PID 1
    goes on past its cgroup step only once ``attach_cgroup`` returned. A failure in either kills PID 1
    before it runs anything of the user's. With ``console`` (one end of a unix socket pair), the container
    gets a terminal made in its own devpts instance, and the pty master is sent over ``console`` (runc's
    console socket); ``stdio`` is unused then. ``loopback_netns`` (for a plan without a network): an fd on a
    network namespace made ahead with its loopback up (``syscalls.new_loopback_netns``), which PID 1 joins
    instead of making one; the caller keeps its own fd and closes it. ``candidate``: PID 1 forked ahead
    (``fork_candidate``), for a plan with a PID namespace of its own; it goes on from here as a PID 1 forked
    now would (or, if it died meanwhile, one is forked now).
    """
    netns = loopback_netns if plan.network == "none" else -1
    pid1 = candidate.go_ahead(plan, cgroup_dirs, stdio, console, netns) if candidate is not None else 0
    if pid1 > 0:
        assert candidate is not None
        err_r, attached_w = candidate.err_r, candidate.attached_w
    else:
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        attached_r, attached_w = os.pipe2(os.O_CLOEXEC)  # _CGROUPS_MADE, then _ATTACHED: PID 1 is in its cgroup
        try:
            pid1 = _fork_pid1(plan.pid_ns)
        except BaseException:
            for fd in (err_r, err_w, attached_r, attached_w):
                os.close(fd)
            raise
        if pid1 == 0:
            # Only the supervisor may hold the write end: PID 1 must see EOF if the supervisor dies.
            _child(plan, err_w, attached_r, (err_r, attached_w, *close_in_child), cgroup_dirs, stdio, console,
                   netns)
        os.close(err_w)
        os.close(attached_r)
    try:
        attach_error = _attach(pid1, prepare, attach_cgroup, attached_w)
    finally:
        os.close(attached_w)  # PID 1 reads its byte first; without one (attach failed) it exits
        error = read_all(err_r).decode(errors="replace")
        os.close(err_r)
    if error:  # a step of PID 1 failed: that is the cause, whatever the attach did
        if attach_error is None:
            _reap(pid1)
        step, _, rest = error.partition("\0")
        message, _, code = rest.rpartition("\0")
        raise SpawnError(step, message, int(code or EXIT_SETUP_FAILED))
    if isinstance(attach_error, SpawnError):
        raise attach_error  # the caller named its step itself
    if attach_error is not None:
        raise SpawnError("cgroup", _error_text(attach_error))
    return pid1


def _fork_pid1(pid_ns: str) -> int:
    """Fork PID 1 into its PID namespace (``LaunchPlan.pid_ns``): a new one (""), another container's, or
    (``host``) ours.

    unshare(CLONE_NEWPID) and setns(CLONE_NEWPID) change only where the caller's *next children* go, so
    the caller forks PID 1 itself (no intermediate process: one fork less) and then points that back at
    its own namespace before anything else: its later children (healthchecks, restarts) start outside.
    """
    if pid_ns == "host":
        return os.fork()
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    pid1 = -1
    try:
        _enter_pid_namespace(pid_ns)
        try:
            pid1 = os.fork()
        except OSError as exc:
            raise SpawnError("fork", _error_text(exc)) from None
        finally:
            if pid1 != 0:  # the caller, whether the fork worked or not
                _leave_pid_namespace(own, pid1)
    finally:
        os.close(own)  # in PID 1 too: the host's namespace must not be reachable from the container
    return pid1


def _enter_pid_namespace(pid_ns: str) -> None:
    if pid_ns:
        try:
            sc.setns_path(pid_ns, sc.CLONE_NEWPID)
        except OSError as exc:
            raise SpawnError("join pid namespace", _error_text(exc)) from None
    else:
        try:
            sc.unshare(sc.CLONE_NEWPID)
        except OSError as exc:
            raise SpawnError("unshare", _error_text(exc)) from None


def _leave_pid_namespace(own: int, pid1: int) -> None:
    try:
        sc.setns(own, sc.CLONE_NEWPID)
    except OSError as exc:
        if pid1 > 0:
            os.kill(pid1, signal.SIGKILL)
            _reap(pid1)
        raise SpawnError("unshare", f"back to the supervisor's PID namespace: {_error_text(exc)}") from None


def _child(plan: LaunchPlan, err_w: int, attached_r: int, close: tuple[int, ...], cgroup_dirs: dict[str, str],
           stdio: tuple[int, int, int], console: socket.socket | None, loopback_netns: int = -1,
           reset: bool = True) -> None:
    """PID 1, just forked: leave the supervisor's state behind, enter the namespaces, run the init steps.
    (A candidate did the reset already, while it waited: ``reset`` False.)"""
    step = "fork"
    try:
        if reset:
            reset_inherited_signals()
        for fd in close:
            os.close(fd)
        for kind, target in (("net", plan.network), ("ipc", plan.ipc_ns)):
            if target and target not in ("none", "host"):
                step = f"join {kind} namespace"
                sc.setns_path(target)
        if loopback_netns >= 0:
            step = "join net namespace"
            sc.setns(loopback_netns, sc.CLONE_NEWNET)
            os.close(loopback_netns)
        step = "unshare"
        sc.unshare(namespace_flags(plan, netns_made=loopback_netns >= 0))
        if plan.network == "none" and loopback_netns < 0:
            step = "loopback"
            sc.set_link_up("lo")  # as Docker: no network, but a working 127.0.0.1
    except BaseException as exc:  # noqa: BLE001 - anything here is a setup failure to report
        _report(err_w, step, exc)
        os._exit(EXIT_SETUP_FAILED)
    _run_init(plan, err_w, attached_r, cgroup_dirs, stdio, console)


class Pid1Candidate:
    """A PID 1 forked ahead of its container into a new PID namespace, by a spare supervisor while it waits
    (runtime.launcher): it resets what it inherited and waits on a socket for its container. The fork, the
    child's first copy-on-write faults and that reset (~1.5 ms measured between a supervisor's fork and its
    child's first step) then leave the start's critical path. It exits at EOF: its supervisor discarded it
    or died."""

    def __init__(self, pid: int, go: socket.socket, err_r: int, attached_w: int) -> None:
        self.pid = pid
        self.go = go  # the container's directory, cgroup directories and stdio fds are sent here
        self.err_r = err_r
        self.attached_w = attached_w

    def go_ahead(self, plan: LaunchPlan, cgroup_dirs: dict[str, str], stdio: tuple[int, int, int],
                 console: socket.socket | None, loopback_netns: int) -> int:
        """Hand the candidate its container; its pid, or 0 (discarded) when it is gone."""
        message = {"dir": plan.container_dir, "cgroups": cgroup_dirs, "console": console is not None,
                   "netns": loopback_netns >= 0}
        fds = [console.fileno()] if console is not None else list(stdio)
        if loopback_netns >= 0:
            fds.append(loopback_netns)
        try:
            socket.send_fds(self.go, [json.dumps(message).encode()], fds)
        except OSError:
            self.discard()
            return 0
        self.go.close()
        return self.pid

    def discard(self) -> None:
        """Let it go (EOF) and reap it."""
        self.go.close()
        for fd in (self.err_r, self.attached_w):
            os.close(fd)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _reap(self.pid)


def fork_candidate(warm_up: Callable[[], None] | None = None) -> Pid1Candidate | None:
    """Fork a PID 1 ahead (see Pid1Candidate); None if it cannot be (a start then forks its own).
    ``warm_up`` runs in the candidate while it waits: what it will do first (parsing the plan) then
    finds its memory pages already its own."""
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    attached_r, attached_w = os.pipe2(os.O_CLOEXEC)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    try:
        pid = _fork_pid1("")  # a PID namespace of its own: what every container gets by default
    except (SpawnError, OSError):
        pid = -1
    if pid == 0:
        _candidate(theirs, err_w, attached_r, warm_up)
    theirs.close()
    os.close(err_w)
    os.close(attached_r)
    if pid < 0:
        ours.close()
        os.close(err_r)
        os.close(attached_w)
        return None
    return Pid1Candidate(pid, ours, err_r, attached_w)


def _candidate(go: socket.socket, err_w: int, attached_r: int, warm_up: Callable[[], None] | None) -> None:
    """The candidate's life: reset, wait for the container, then be its PID 1 (never returns)."""
    try:
        reset_inherited_signals()
        # Nothing of the spare's stays open here: above all not its end of the launcher's hand-over channel,
        # which would keep a start handed to a dead spare waiting.
        _close_fds(go.fileno(), err_w, attached_r)
        if warm_up is not None:
            warm_up()
        message, fds, _, _ = socket.recv_fds(go, 1 << 16, 5)
        if not message:
            os._exit(0)
        order = json.loads(message)
        plan = LaunchPlan.load(order["dir"])
    except BaseException as exc:  # noqa: BLE001 - a failure before the container's own steps
        _report(err_w, "fork", exc)
        os._exit(EXIT_SETUP_FAILED)
    go.close()
    netns = fds.pop() if order["netns"] else -1
    console = socket.socket(fileno=fds[0]) if order["console"] else None
    stdio = (fds[0], fds[1], fds[2]) if console is None else (0, 1, 2)
    _child(plan, err_w, attached_r, (), order["cgroups"], stdio, console, netns, reset=False)


def _attach(pid1: int, prepare: Callable[[int], None] | None, attach_cgroup: Callable[[int], None],
            attached_w: int) -> Exception | None:
    """Let the caller make PID 1's cgroups, put it in them, and tell it each. On failure PID 1 is killed (it
    waits at one of its cgroup steps, before any user code) and reaped, and the error returned."""
    try:
        if prepare is not None:
            prepare(pid1)
        os.write(attached_w, _CGROUPS_MADE)
        attach_cgroup(pid1)
        os.write(attached_w, _ATTACHED)
        return None
    except Exception as exc:  # noqa: BLE001 - returned, to be reported unless PID 1 failed first
        try:
            os.kill(pid1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _reap(pid1)
        return exc


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # re-parented to us only after its parent exited: reaped by the supervisor loop


def _error_text(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror and not exc.filename else str(exc)


def _report(err_w: int, step: str, exc: BaseException, code: int = EXIT_SETUP_FAILED) -> None:
    try:
        os.write(err_w, f"{step}\0{_error_text(exc)}\0{code}".encode())
    except OSError:
        pass


def _run_init(plan: LaunchPlan, err_w: int, attached_r: int, cgroup_dirs: dict[str, str],
              stdio: tuple[int, int, int], console: socket.socket | None) -> None:
    step = "init"
    try:
        for name, action in _steps(plan, attached_r, cgroup_dirs, stdio, console):
            step = name  # named in the error report if this step fails
            action()
        step = "exec"
        _exec(plan, err_w)
    except BaseException as exc:  # noqa: BLE001
        code = EXIT_SETUP_FAILED
        if step == "exec" and isinstance(exc, OSError):
            code = EXIT_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_NOT_EXECUTABLE
            exc = OSError(exc.errno, f'exec: "{plan.args[0] if plan.args else ""}": {exc.strerror}')
        _report(err_w, step, exc, code)
    os._exit(EXIT_SETUP_FAILED)


def _steps(plan: LaunchPlan, attached_r: int, cgroup_dirs: dict[str, str], stdio: tuple[int, int, int],
           console: socket.socket | None) -> list[tuple[str, Callable[[], None]]]:
    merged = plan.merged_dir
    state: dict[str, object] = {}

    def session() -> None:
        os.setsid()
        if console is None:
            for i, fd in enumerate(stdio):
                os.dup2(fd, i)

    def terminal() -> None:
        if console is not None:
            make_console(merged, console, plan.console_size)

    def resolve() -> None:
        try:
            state["user"] = resolve_user(plan.user, read_text("/etc/passwd"), read_text("/etc/group"),
                                         plan.group_add)
        except UserError as exc:
            raise OSError(0, str(exc)) from None

    def workdir() -> None:
        os.makedirs(plan.cwd, mode=0o755, exist_ok=True)
        os.chdir(plan.cwd)

    def apply_mounts() -> None:
        for m in plan.mounts:
            mounts.apply_mount(merged, m)

    def bind_etc_files() -> None:
        for container_path, host_path in plan.etc_files.items():
            mounts.bind_etc_file(merged, container_path, host_path)

    def names() -> None:
        if plan.uts_host:
            return  # the host's UTS namespace: its names are the host's, not ours to change
        if plan.hostname:
            sc.sethostname(plan.hostname)
        if plan.domainname:
            sc.setdomainname(plan.domainname)

    host_net = plan.network == "host"
    return [
        ("session", session),
        ("mount propagation", rootfs.make_mounts_private),
        ("overlay rootfs", lambda: rootfs.mount_overlay(plan.lower_dirs, plan.upper_dir, plan.work_dir, merged,
                                                        plan.lowerdir, plan.lowerdir_base)),
        # The supervisor makes the cgroup directories while this process gets here (``prepare``).
        ("cgroup directories", lambda: _await_sync(attached_r, _CGROUPS_MADE)),
        ("mount /proc /dev /sys", lambda: rootfs.mount_special(merged, plan.shm_size, cgroup_dirs, host_net)),
        ("devices", lambda: rootfs.make_devices(merged, plan.devices)),
        ("console", terminal),
        ("mounts", apply_mounts),
        ("etc files", bind_etc_files),
        ("pivot_root", lambda: rootfs.pivot(merged)),
        ("sysctls", lambda: security.apply_sysctls(plan.sysctls)),
        ("masked paths", rootfs.mask_paths),
        ("read-only rootfs", lambda: rootfs.remount_root_readonly() if plan.read_only else None),
        ("hostname", names),
        ("oom_score_adj", lambda: security.apply_oom_score_adj(plan.oom_score_adj)),
        ("ulimits", lambda: security.apply_ulimits(plan.ulimits)),
        ("user", resolve),
        ("working directory", workdir),
        # Dropping from the bounding set only narrows what this process can gain later; done before the wait
        # for the cgroup attach, which is often still being paid for, it is off the start's critical path.
        ("capability bounding set",
         lambda: state.__setitem__("keep", security.limit_bounding_set(plan.capabilities))),
        # Everything above only prepares the mount namespace and this process; from here on the container's
        # limits must hold, and the cgroup namespace must be rooted at the container's cgroup.
        ("cgroup", lambda: _enter_cgroup(attached_r, plan.cgroupns_host)),
        ("capabilities", lambda: security.become_user(state["user"], state["keep"],  # type: ignore[arg-type]
                                                      plan.no_new_privs)),
    ]


def _enter_cgroup(attached_r: int, host_namespace: bool = False) -> None:
    """Wait until the supervisor has put this process in the container's cgroups, then unshare the cgroup
    namespace (its root is the cgroup of the unsharing process, so this must come after the move), unless
    the container keeps the host's (``cgroup: host``: /proc/self/cgroup shows the full host path)."""
    _await_sync(attached_r, _ATTACHED)
    os.close(attached_r)
    if not host_namespace:
        sc.unshare(sc.CLONE_NEWCGROUP)


def _await_sync(attached_r: int, expected: bytes) -> None:
    if os.read(attached_r, 1) != expected:
        os._exit(EXIT_SETUP_FAILED)  # the supervisor failed (and reports why) or is gone


def make_console(rootfs: str, console: socket.socket, size: Sequence[int] | None = None) -> None:
    """A pty from the container's own devpts (so ``tty`` names it), its master handed to the supervisor.

    ``size`` (rows, columns) is the user's window: set before the program starts, so its first look at
    the terminal (``stty size``, a shell's line editor) sees it, not 0x0 until the client's resize lands.
    """
    master = os.open(os.path.join(rootfs, "dev/pts/ptmx"), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
    if size:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    number = struct.unpack("i", fcntl.ioctl(master, _TIOCGPTN, b"\0" * 4))[0]
    slave = os.open(os.path.join(rootfs, f"dev/pts/{number}"), os.O_RDWR | os.O_NOCTTY)
    socket.send_fds(console, [b"\0"], [master])
    os.close(master)
    console.close()
    for i in range(3):
        os.dup2(slave, i)
    os.close(slave)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _close_fds(*keep: int) -> None:
    """Every fd from 3 up but ``keep``: nothing of the supervisor's reaches the user's program (CVE-2024-21626
    class), nor a PID 1 forked ahead (``_candidate``)."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    limit = 65536 if limit == resource.RLIM_INFINITY or limit > 65536 else limit
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, limit)


def _exec(plan: LaunchPlan, err_w: int) -> None:
    os.umask(0o022)
    env = dict(item.partition("=")[::2] for item in plan.env)
    if not plan.args:
        raise OSError(0, "no command specified")
    _close_fds(err_w)
    if plan.init:
        _reaper(plan, env, err_w)
    sc.clear_signal_mask()  # last thing before exec: forks since the reset may have left bits behind
    os.execvpe(plan.args[0], plan.args, env)


def _reaper(plan: LaunchPlan, env: dict[str, str], err_w: int) -> None:
    """``init: true``: stay as PID 1, run the command as a child, forward signals, reap, exit with its status."""
    child_err_r, child_err_w = os.pipe2(os.O_CLOEXEC)
    child = os.fork()
    if child == 0:
        os.close(child_err_r)
        os.close(err_w)
        for sig in _FORWARDED_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        try:
            os.setpgid(0, 0)
            if os.isatty(0):
                # Its own process group must also own the terminal (as tini does), or a shell's first
                # terminal access stops it with SIGTTOU/SIGTTIN. tcsetpgrp from a background group is
                # itself answered with SIGTTOU, hence ignored around the call (reset by the loop above).
                signal.signal(signal.SIGTTOU, signal.SIG_IGN)
                os.tcsetpgrp(0, os.getpgrp())
                signal.signal(signal.SIGTTOU, signal.SIG_DFL)
            sc.clear_signal_mask()
            os.execvpe(plan.args[0], plan.args, env)
        except OSError as exc:
            code = EXIT_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_NOT_EXECUTABLE
            _report(child_err_w, "exec", OSError(exc.errno, f'exec: "{plan.args[0]}": {exc.strerror}'), code)
        os._exit(EXIT_NOT_FOUND)
    os.close(child_err_w)
    for sig in _FORWARDED_SIGNALS:
        signal.signal(sig, lambda s, _f: _forward(child, s))
    failure = read_all(child_err_r)
    os.close(child_err_r)
    if failure:
        os.write(err_w, failure)
    os.close(err_w)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == child:
            os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status)
                     else 128 + os.WTERMSIG(status))


def _forward(child: int, sig: int) -> None:
    try:
        os.kill(-child, sig)
    except ProcessLookupError:
        try:
            os.kill(child, sig)
        except ProcessLookupError:
            pass
