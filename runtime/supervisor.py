"""The per-container monitor (conmon's job): parent of the container's init for its whole life.

It holds the container's stdout/stderr (or its pty) and writes the log, records pid, exit code, exit time
and OOM in ``status.json``, applies the restart policy with moby's backoff, runs healthchecks, serves the
attach socket of a TTY container and the DNS resolver of a container with its own network namespace.
It is forked by the launcher (runtime.launcher), detached from any CLI session. Stdlib only.
"""

from __future__ import annotations

import array
import errno
import json
import os
import selectors
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from runtime import naming
from runtime import syscalls as sc
from runtime.containers.cgroups import ContainerCgroups, Limits, Priming
from runtime.containers.init import Pid1Candidate, SpawnError, fork_candidate, spawn
from runtime.containers.plan import LaunchPlan, MountPlan
from runtime.containers.restart import RestartManager
from runtime.containers.status import RunStatus, own, stop_requested
from runtime.exec import ExecError, ExecRequest, exec_process
from runtime.health import EXIT_TIMEOUT, HealthState, probe_argv
from runtime.logs import LineSplitter, LogWriter, log_path, rfc3339_nano
from runtime.plain import as_plain

ATTACH_REPLAY = 8192  # the first attaching client sees what a TTY container printed before it came
OWNER_WAIT = 30.0  # a previous supervisor of the container may still be removing its cgroups
# How long before a probe is due the RCU grace period of its helper's cgroup attach starts being paid
# (ContainerCgroups.prime_attach). Measured here: a cold cgroup.procs write waits 5.5-18 ms, and a write
# within ~12 ms of a completed one costs 0.1 ms. 15 ms ahead, the priming has (mostly) ended when the probe
# is due, and ended recently enough for the helper's attach (~1.5 ms after the probe's start) to be cheap.
PROBE_PRIME_AHEAD = 0.015


def attach_socket_path(root: Path, container_id: str) -> Path:
    return naming.run_dir(root) / "attach" / f"{container_id[:32]}.sock"


@dataclass
class _Probe:
    helper: int
    command: int
    fd: int
    started: float
    started_iso: str
    deadline: float
    output: bytearray = field(default_factory=bytearray)
    exit_code: int | None = None
    timed_out: bool = False


@dataclass
class ProcessSetup:
    """The supervisor process's own set-up, which does not depend on its container: done by a spare
    supervisor (runtime.launcher) while it waits for one, so that a start does not wait for it."""

    selector: selectors.BaseSelector  # with the signal wakeup pipe registered as "wake"
    boot_id: str
    start_time: int  # this process's, as /proc/<pid>/stat says: tells its pid apart from a reused one
    # A network namespace with its loopback up, made ahead for a container without a network (-1: none made).
    # Making one and bringing ``lo`` up took PID 1 0.8-1.1 ms of a ~12 ms start; joining one takes ~0.06.
    loopback_netns: int = -1
    candidate: Pid1Candidate | None = None  # PID 1 forked ahead, for a container with a PID namespace of its own

    def take_candidate(self, wanted: bool) -> Pid1Candidate | None:
        """PID 1 forked ahead, now the caller's, if ``wanted``; else it is discarded here. Once only."""
        candidate, self.candidate = self.candidate, None
        if candidate is not None and not wanted:
            candidate.discard()
            return None
        return candidate

    def take_loopback_netns(self, wanted: bool) -> int:
        """The namespace made ahead, now the caller's to close, if ``wanted``; else it is let go here, so
        that nothing forked later inherits it. Once only: a restart makes its own."""
        fd, self.loopback_netns = self.loopback_netns, -1
        if fd >= 0 and not wanted:
            os.close(fd)
            return -1
        return fd


_own_mount_ns_inode = 0


def _own_mount_ns() -> int:
    global _own_mount_ns_inode
    if not _own_mount_ns_inode:
        _own_mount_ns_inode = os.stat("/proc/self/ns/mnt").st_ino
    return _own_mount_ns_inode


def prepare_process(selector: selectors.BaseSelector | None = None, *,
                    loopback_netns: bool = False) -> ProcessSetup:
    """Become a subreaper, route signals to a wakeup pipe in ``selector`` (a new one by default), and note
    what identifies us; with ``loopback_netns``, make a network namespace ahead for a container without a
    network (a spare does, when the start before was of one: runtime.launcher)."""
    sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    selector = selector or selectors.DefaultSelector()
    selector.register(wake_r, selectors.EVENT_READ, "wake")
    netns = -1
    if loopback_netns:
        try:
            netns = sc.new_loopback_netns()
        except OSError:
            pass  # only an optimisation: PID 1 makes its own
    return ProcessSetup(selector, sc.boot_id(), sc.process_start_time(os.getpid()) or 0, netns)


def fork_pid1_ahead(process: ProcessSetup) -> None:
    """A spare's last step before it waits: fork the next container's PID 1 (init.Pid1Candidate)."""
    process.candidate = fork_candidate(warm_up=fault_in_records)


def fault_in_records() -> None:
    """Read a launch plan and a status record as a start will, and let them go.

    A freshly forked process pays a copy-on-write fault for every page of its heap it first writes to;
    parsing the container's plan in a supervisor just handed its start took ~0.5 ms, mostly those faults.
    Done here, by a spare while it waits (runtime.launcher), the allocator's pages the real parse reuses
    are this process's own already.
    """
    plan = LaunchPlan(id="0" * 64, name="warm-up", root="/", container_dir="/", lower_dirs=["/l"] * 4,
                      args=["sh", "-c", "true"], env=[f"VAR{i}=value" for i in range(12)],
                      mounts=[MountPlan(type="bind", source="/s", target="/t")] * 4,
                      limits={"memory": 1 << 30, "pids_limit": 100})
    LaunchPlan.from_json(json.dumps(as_plain(plan)).encode())
    RunStatus.from_json(RunStatus(status="running", health={"Log": []}).encoded())


class Supervisor:
    def __init__(self, root: Path, container_id: str, process: ProcessSetup | None = None) -> None:
        self.root = root
        self.id = container_id
        self.dir = root / "containers" / container_id
        self.plan = LaunchPlan.load(self.dir)
        self.cgroups = ContainerCgroups(root, container_id, self.plan.cgroup_parent)
        self.status = RunStatus()  # read in run(), once it owns the container
        self.log = LogWriter(log_path(self.dir), self.plan.log_max_size, self.plan.log_max_files)
        self.process = process  # made in run() when not given
        self.sel: selectors.BaseSelector = process.selector if process is not None else selectors.DefaultSelector()
        self.pid = 0
        self.exit_status: int | None = None
        self.probe: _Probe | None = None
        self.health: HealthState | None = None
        self.probe_priming: Priming | None = None  # the next probe's attach grace period, paid ahead
        self.probe_primed = False  # the next probe's priming was started (or cannot be: no own cgroup)
        self.clients: list[socket.socket] = []
        self.replay = bytearray()
        self.master: int | None = None
        self.stdin_w: int | None = None  # -i without -t: the container's stdin, fed by attach clients
        self.stdin_pending = bytearray()
        self.stdin_eof = False
        self.listener: socket.socket | None = None
        self.resolver: object | None = None
        self.owner_fd = -1  # the container's owner lock (runtime.containers.status.try_own)
        self.priming: Priming | None = None  # the attach's grace period, paid while PID 1 mounts
        self.mount_ns = -1  # the running container's mount namespace, held open (see _hold_mount_ns)

    # ------------------------------------------------------------------------------------------ the run

    def run(self, notify: socket.socket | None) -> None:
        # Before anything else: the previous run's supervisor may still be in its cleanup, whose cgroup
        # removal SIGKILLs whatever is in the cgroup; our container must not be there yet. (Polling that
        # supervisor's pid with a 10 s timeout let a new run proceed into a cleanup still under way.)
        owner = own(self.dir, OWNER_WAIT)
        if owner is None:
            if notify is not None:
                self._notify(notify, {"ok": False, "error": "the previous run of this container is still "
                                      f"being cleaned up after {OWNER_WAIT:g}s", "exit_code": 125})
            return
        self.owner_fd = owner  # held until this process exits
        self.status = RunStatus.load(self.dir)  # as the previous owner left it
        if self.process is None:
            self.process = prepare_process(self.sel)
        st = self.status
        st.generation += 1
        st.boot_id = self.process.boot_id
        st.supervisor_pid = os.getpid()
        st.supervisor_start = self.process.start_time
        st.status, st.error, st.restart_count, st.health = "starting", "", 0, None
        restarts = RestartManager(self.plan.restart, self.plan.restart_max_retries)
        first = True
        while True:
            oom_before = self.cgroups.oom_kills()
            started = time.monotonic()
            try:
                self._start_container(first)
            except SpawnError as exc:
                self._finish_failed(str(exc), exc.exit_code, notify if first else None)
                return
            if first and notify is not None:
                self._notify(notify, {"ok": True, "pid": self.pid})
            first = False
            self._loop_until_exit()
            code = self.exit_status if self.exit_status is not None else 255
            st.exit_code = code
            st.oom_killed = self.cgroups.oom_kills() > oom_before
            st.finished_at = rfc3339_nano()
            st.pid = st.pid_start = 0
            delay = restarts.should_restart(code, stop_requested(self.dir), time.monotonic() - started)
            if delay is None:
                break
            self._release_mount_ns()
            st.status, st.restart_count = "restarting", restarts.restart_count
            st.save(self.dir, exchange=True)
            if not self._sleep_unless_stopped(delay):
                break
        # Report first, clean up after: a waiting client learns of the exit without the cgroup removal's
        # latency. A new run (or rm) waits for this process to be gone before touching the cgroups.
        st.status = "exited"
        st.save(self.dir, exchange=True)
        if notify is not None:
            self._notify(notify, {"exited": st.exit_code, "oom_killed": st.oom_killed})
        self._release_mount_ns()
        self._cleanup()
        if st.error:
            try:
                st.save(self.dir, exchange=True)
            except FileNotFoundError:
                pass  # removed meanwhile

    def _finish_failed(self, message: str, code: int, notify: socket.socket | None) -> None:
        st = self.status
        st.status, st.error, st.exit_code, st.finished_at = "exited", message, code, rfc3339_nano()
        st.pid = st.pid_start = 0
        self._cleanup()
        st.save(self.dir, exchange=True)
        if notify is not None:
            self._notify(notify, {"ok": False, "error": message, "exit_code": code})

    @staticmethod
    def _notify(conn: socket.socket, message: dict[str, object]) -> None:
        try:
            conn.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            pass  # the CLI went away: the status file still tells the truth

    def _sleep_unless_stopped(self, delay: float) -> bool:
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if stop_requested(self.dir):
                return False
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return not stop_requested(self.dir)

    def _start_container(self, first: bool) -> None:
        """Fork PID 1 at once; what else a start needs is done while it mounts its root filesystem.

        The first start of this run makes the cgroups (``_prepare_first``) and sets their limits, the
        resolver and the attach socket (``_limit_and_attach``) then; a restart finds them all in place.
        PID 1 runs nothing of the user's before all of that succeeded, and dies with us if we die first.
        """
        self.priming = None if first else self.cgroups.prime_attach()  # a restart: the cgroups exist
        null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        console = theirs = None
        if self.plan.tty:
            console, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            stdio, child_ends = (null, null, null), []
            streams: dict[int, str] = {}
        else:
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            stdin = null
            child_ends = [out_w, err_w]
            if self.plan.stdin_open:
                stdin, self.stdin_w = os.pipe2(os.O_CLOEXEC)
                os.set_blocking(self.stdin_w, False)
                child_ends.append(stdin)
                self.stdin_pending.clear()
                self.stdin_eof = False
            stdio = (stdin, out_w, err_w)
            streams = {out_r: "stdout", err_r: "stderr"}
        process = self.process
        assert process is not None  # run() made it before the first start
        netns = process.take_loopback_netns(first and self.plan.network == "none")
        candidate = process.take_candidate(first and not self.plan.pid_ns)
        try:
            cg_dirs = {k: str(v) for k, v in self.cgroups.dirs().items()}
            attach = self._limit_and_attach if first else self.cgroups.attach

            def attach_and_hold(pid1: int) -> None:
                attach(pid1)
                self._hold_mount_ns(pid1, only_if_unshared=True)

            self.pid = spawn(self.plan, attach_and_hold, cg_dirs, stdio,
                             theirs, close_in_child=self._parent_only_fds(),
                             prepare=self._prepare_first if first else None, loopback_netns=netns,
                             candidate=candidate)
            if console is not None:
                _, fds, _, _ = socket.recv_fds(console, 1, 1)
                self.master = fds[0]
                os.set_inheritable(self.master, False)
                streams = {self.master: "stdout"}
        except SpawnError:
            for fd in list(streams) + child_ends:
                os.close(fd)
            os.close(null)
            raise
        finally:
            if netns >= 0:
                os.close(netns)  # PID 1 holds it now (or failed: then it goes)
            for sock in (console, theirs):
                if sock is not None:
                    sock.close()
            if self.priming is not None:
                self.priming.join()  # done by now (the attach waited for it): no thread lives on into later forks
                self.priming = None
        for fd in child_ends:
            os.close(fd)
        os.close(null)
        if self.mount_ns < 0:
            self._hold_mount_ns(self.pid)
        for fd, stream in streams.items():
            os.set_blocking(fd, False)
            self.sel.register(fd, selectors.EVENT_READ, ("out", stream, LineSplitter()))
        self.exit_status = None
        st = self.status
        st.pid, st.pid_start = self.pid, sc.process_start_time(self.pid) or 0
        st.started_at, st.status = rfc3339_nano(), "running"
        # The container's start, as Docker's health monitor takes it (State.StartedAt): its first probe is
        # due one interval after this moment, not after the status is written and the client told. Taken
        # just after StartedAt, so that no probe's recorded Start is earlier than StartedAt + interval.
        started = time.monotonic()
        if self.plan.healthcheck and probe_argv(self.plan.healthcheck.test):
            self.health = HealthState(self.plan.healthcheck, started)
            st.health = self.health.to_dict()
        st.save(self.dir, exchange=True)  # one write: "running" is never seen without its "starting" health

    def _hold_mount_ns(self, pid1: int, only_if_unshared: bool = False) -> None:
        """Keep the container's mount namespace alive past PID 1's exit, until the exit is reported.

        The last process of a mount namespace unmounts all of it on its way out (overlay, /proc, /sys,
        /dev...), waiting out RCU grace periods, and its parent hears of the exit only after that: ~1 ms
        between a container's exit and the supervisor's SIGCHLD. Held here, that teardown happens when
        ``_release_mount_ns`` closes the fd, after the waiting client was told.

        Taken when PID 1 is in its cgroups (``only_if_unshared``: PID 1 has usually unshared its mount
        namespace long before; if it has not, ours is not taken), else once PID 1 has exec'd. Taken only
        after the exec, a ``true`` could exit before it: the hold was missed in 1 run of 5.
        """
        try:
            fd = os.open(f"/proc/{pid1}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return  # it exited already
        if only_if_unshared and os.fstat(fd).st_ino == _own_mount_ns():
            os.close(fd)
            return
        self.mount_ns = fd

    def _release_mount_ns(self) -> None:
        if self.mount_ns >= 0:
            os.close(self.mount_ns)
            self.mount_ns = -1

    def _prepare_first(self, pid1: int) -> None:
        """In ``spawn`` of the first start, while PID 1 unshares its namespaces: make the cgroup directories
        (PID 1 bind-mounts them next, and waits for them) and start paying the first attach's grace period."""
        try:
            self.cgroups.make_dirs()
        except OSError as exc:
            raise SpawnError("cgroups", str(exc)) from None
        self.priming = self.cgroups.prime_attach()

    def _limit_and_attach(self, pid1: int) -> None:
        """In ``spawn`` of the first start, while PID 1 mounts: record the start, then the limits, the DNS
        resolver and the attach socket, then PID 1 into the cgroups, so that when it gets there it is in a
        cgroup whose limits (devices rules included) are complete and everything it may talk to is there.

        The start is recorded before anything of the user's can run (PID 1 waits for this to return): a
        supervisor killed after that leaves "starting" with its own pid, which the engine settles; killed
        before, PID 1 sees EOF and exits without running anything, and the record still tells the truth.
        Recorded here rather than in ``_prepare_first``, so that PID 1 is not kept waiting for its cgroup
        directories meanwhile.
        """
        step = "status"
        try:
            self.status.save(self.dir, exchange=True)
            step = "cgroups"
            self.cgroups.set_limits(Limits(**self.plan.limits))  # type: ignore[arg-type]
            step = "DNS resolver"
            self._start_resolver()
            step = "attach socket"
            if self.plan.tty or self.plan.stdin_open:
                self._listen_attach()
        except Exception as exc:  # noqa: BLE001 - reported as the start's failure, with the step
            raise SpawnError(step, str(exc)) from None
        self.cgroups.attach(pid1)

    def _parent_only_fds(self) -> tuple[int, ...]:
        """Fds a forked child must close at once: the owner lock would outlive us in a long-lived child, and
        the held mount namespace would outlive the container."""
        return tuple(fd for fd in (self.owner_fd, self.mount_ns) if fd >= 0)

    # ------------------------------------------------------------------------------------- event loop

    def _loop_until_exit(self) -> None:
        health = self.health
        # Docker's timer: the first probe one interval (or start_interval) after the start, each next one
        # an interval after the previous one ended.
        next_probe = health.started_at + health.next_delay(health.started_at) if health else None
        exited_at: float | None = None
        while True:
            now = time.monotonic()
            if exited_at is not None and (not self._has_streams() or now - exited_at > 1.0):
                break
            timeout = 1.0
            if next_probe is not None and self.probe is None and exited_at is None:
                wake = next_probe if self.probe_primed else next_probe - PROBE_PRIME_AHEAD
                timeout = min(timeout, max(0.0, wake - now))
            if self.probe is not None:
                timeout = min(timeout, max(0.0, self.probe.deadline - now))
            if exited_at is not None:
                timeout = 0.05
            for key, _ in self.sel.select(timeout):
                self._on_ready(key)
            self._reap()
            now = time.monotonic()
            if self.exit_status is not None and exited_at is None:
                exited_at = now
                self._abort_probe()
            if self.probe is not None:
                self._check_probe(now)
                if self.probe is None and self.health is not None:
                    next_probe = now + self.health.next_delay(now)
            elif next_probe is not None and now >= next_probe and exited_at is None:
                self._start_probe()
                if self.probe is None and self.health is not None:
                    next_probe = now + self.health.next_delay(now)
            elif next_probe is not None and now >= next_probe - PROBE_PRIME_AHEAD and exited_at is None:
                self._prime_probe()
        self._join_probe_priming()  # no thread may live on into the next start's forks
        for key in list(self.sel.get_map().values()):
            if isinstance(key.data, tuple):
                self._flush_stream(key)
        self.master = None
        if self.stdin_w is not None:
            if self.stdin_w in self.sel.get_map():
                self.sel.unregister(self.stdin_w)
            os.close(self.stdin_w)
            self.stdin_w = None

    def _has_streams(self) -> bool:
        return any(isinstance(k.data, tuple) for k in self.sel.get_map().values())

    def _on_ready(self, key: selectors.SelectorKey) -> None:
        data = key.data
        if data == "wake":
            try:
                while os.read(key.fd, 4096):
                    pass
            except BlockingIOError:
                pass
        elif data == "listen":
            self._accept()
        elif data == "client":
            self._client_input(key.fileobj)  # type: ignore[arg-type]
        elif data == "probe":
            self._probe_output()
        elif data == "stdin":
            self._feed_stdin()
        else:
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno != errno.EIO:  # EIO: the pty's last writer is gone
                    raise
                chunk = b""
            if not chunk:
                self._flush_stream(key)
                return
            _, stream, splitter = data
            if self.plan.tty:
                self._to_clients(chunk)
            for line in splitter.feed(chunk):
                self.log.write(stream, line)

    def _flush_stream(self, key: selectors.SelectorKey) -> None:
        _, stream, splitter = key.data
        for line in splitter.flush():
            self.log.write(stream, line)
        self.sel.unregister(key.fd)
        os.close(key.fd)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
            if pid == self.pid:
                self.exit_status = code
            elif self.probe is not None and pid == self.probe.helper:
                self.probe.exit_code = code

    # ---------------------------------------------------------------------------------- healthchecks

    def _prime_probe(self) -> None:
        """Start paying the grace period the probe helper's cgroup attach would wait out (~10 ms, see
        ``ContainerCgroups.prime_attach``) while the probe is not due yet: the probe still starts exactly
        when it is due, and gets to run its command that much sooner. Once per probe; best effort."""
        if self.probe_primed:
            return
        self.probe_primed = True
        try:
            self.probe_priming = self.cgroups.prime_attach()
        except RuntimeError:  # no thread to be had (a pids limit): the probe pays the grace period itself
            self.probe_priming = None

    def _join_probe_priming(self) -> None:
        priming, self.probe_priming, self.probe_primed = self.probe_priming, None, False
        if priming is not None:
            priming.join()  # done by now, normally: it started about one grace period ago

    def _start_probe(self) -> None:
        assert self.health is not None
        self._join_probe_priming()  # before the fork: no thread may live on in the helper
        argv = probe_argv(self.health.plan.test)
        if not argv:
            return
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        now, iso = time.monotonic(), rfc3339_nano()
        try:
            helper, command = exec_process(self.plan, self.pid, self.cgroups.attach,
                                           ExecRequest(argv=argv, env={}), (null, out_w, out_w),
                                           close_in_child=(out_r, *self._parent_only_fds()))
        except (ExecError, OSError) as exc:
            os.close(out_r)
            code = exc.exit_code if isinstance(exc, ExecError) else 125
            self._record_probe(now, iso, code, str(exc))
            return
        finally:
            os.close(out_w)
            os.close(null)
        os.set_blocking(out_r, False)
        self.sel.register(out_r, selectors.EVENT_READ, "probe")
        self.probe = _Probe(helper, command, out_r, now, iso, now + self.health.timeout)

    def _probe_output(self) -> bool:
        """Read what the probe wrote; False once nothing more is there now (or ever: EOF closes the pipe)."""
        assert self.probe is not None
        try:
            chunk = os.read(self.probe.fd, 65536)
        except BlockingIOError:
            return False  # a child the command left behind may hold the pipe open: not waited for
        if chunk:
            if len(self.probe.output) < 8192:
                self.probe.output += chunk
            return True
        self.sel.unregister(self.probe.fd)
        os.close(self.probe.fd)
        self.probe.fd = -1
        return False

    def _check_probe(self, now: float) -> None:
        probe = self.probe
        assert probe is not None
        if probe.exit_code is None and now >= probe.deadline and not probe.timed_out:
            probe.timed_out = True
            for pid in (probe.command, probe.helper):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return
        if probe.exit_code is None:
            return
        # The helper is reaped, so the command ended before it: what it wrote is in the pipe by now, even
        # when the reap came first in this round of the loop. Read it before closing: one pipe's worth
        # (64 KiB), bounded, since a child the command left running may go on writing.
        for _ in range(4):
            if probe.fd < 0 or not self._probe_output():
                break
        if probe.fd >= 0:
            self.sel.unregister(probe.fd)
            os.close(probe.fd)
        self.probe = None
        if probe.timed_out:
            assert self.health is not None
            self._record_probe(probe.started, probe.started_iso, EXIT_TIMEOUT,
                               f"Health check exceeded timeout ({self.health.timeout:g}s)")
        else:
            self._record_probe(probe.started, probe.started_iso, probe.exit_code,
                               probe.output.decode(errors="replace"))

    def _record_probe(self, started: float, started_iso: str, code: int, output: str) -> None:
        assert self.health is not None
        self.health.record(started, time.monotonic(), code, output, started_iso, rfc3339_nano())
        self.status.health = self.health.to_dict()
        self.status.save(self.dir, exchange=True)

    def _abort_probe(self) -> None:
        probe = self.probe
        if probe is None:
            return
        for pid in (probe.command, probe.helper):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if probe.fd >= 0:
            self.sel.unregister(probe.fd)
            os.close(probe.fd)
        try:
            os.waitpid(probe.helper, 0)
        except ChildProcessError:
            pass
        self.probe = None

    # --------------------------------------------------------------------------------- TTY attaching

    def _listen_attach(self) -> None:
        path = attach_socket_path(self.root, self.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        os.chmod(path, 0o600)
        listener.listen(4)
        listener.setblocking(False)
        self.listener = listener
        self.sel.register(listener, selectors.EVENT_READ, "listen")

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except BlockingIOError:
            return
        # The client gets the pty master too, to resize the terminal (TIOCSWINSZ) itself.
        fds = array.array("i", [self.master] if self.master is not None else [])
        try:
            conn.sendmsg([b"\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)] if fds else [])
            if self.replay:
                conn.sendall(bytes(self.replay))
                self.replay.clear()
        except OSError:
            conn.close()
            return
        conn.setblocking(False)
        self.clients.append(conn)
        self.sel.register(conn, selectors.EVENT_READ, "client")

    def _client_input(self, conn: socket.socket) -> None:
        if conn not in self.clients:
            return  # dropped earlier in this same round of events: its send of the output failed
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(conn)
            self.clients.remove(conn)
            conn.close()
            self._client_gone()
            return
        if self.master is not None:
            try:
                os.write(self.master, data)
            except OSError:
                pass
        elif self.stdin_w is not None:
            self.stdin_pending += data
            self._feed_stdin()

    def _client_gone(self) -> None:
        """docker's StdinOnce (run -i): the container's stdin closes when the attached client's input ends.
        Otherwise (a service's stdin_open) it stays open for the next attach, as docker keeps it."""
        if self.stdin_w is not None and self.plan.stdin_once:
            self.stdin_eof = True
            self._feed_stdin()

    def _feed_stdin(self) -> None:
        fd = self.stdin_w
        if fd is None:
            return
        try:
            while self.stdin_pending:
                written = os.write(fd, self.stdin_pending[:65536])
                del self.stdin_pending[:written]
        except BlockingIOError:
            pass
        except OSError:
            self.stdin_pending.clear()  # the container closed its stdin
            self.stdin_eof = True
        registered = fd in self.sel.get_map()
        if self.stdin_pending and not registered:
            self.sel.register(fd, selectors.EVENT_WRITE, "stdin")
        elif not self.stdin_pending and registered:
            self.sel.unregister(fd)
        if self.stdin_eof and not self.stdin_pending:
            os.close(fd)
            self.stdin_w = None

    def _to_clients(self, chunk: bytes) -> None:
        if not self.clients:
            self.replay += chunk
            del self.replay[:-ATTACH_REPLAY]
            return
        for conn in list(self.clients):
            try:
                conn.setblocking(True)
                conn.sendall(chunk)
                conn.setblocking(False)
            except OSError:
                self.sel.unregister(conn)
                self.clients.remove(conn)
                conn.close()

    # ------------------------------------------------------------------------------------ resolver

    def _start_resolver(self) -> None:
        netns = self.plan.network
        if not self.plan.dns_resolver or netns in ("none", "host"):
            return
        try:
            from runtime.network.resolver import ContainerResolver  # type: ignore[import-not-found]
        except ImportError:
            return  # the network module is not installed on this tree: no embedded DNS
        resolver = ContainerResolver(self.root, self.id, netns)
        resolver.start()
        self.resolver = resolver

    # ------------------------------------------------------------------------------------- cleanup

    def _cleanup(self) -> None:
        self._release_mount_ns()  # a start that failed after the hold
        for conn in self.clients:
            conn.close()
        self.clients.clear()
        if self.listener is not None:
            self.listener.close()
            try:
                attach_socket_path(self.root, self.id).unlink()
            except FileNotFoundError:
                pass
        if self.resolver is not None:
            try:
                self.resolver.stop()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - DNS teardown must not keep the state from being written
                pass
        try:
            self.cgroups.remove()
        except OSError as exc:
            self.status.error = self.status.error or f"cgroup cleanup: {exc}"
        self.log.close()


def rehearse(scratch: Path, rounds: int = 20) -> None:
    """Run the supervisor's pure-Python paths a few times in the launcher, before it forks anyone.

    Python 3.11 specialises bytecode in place as it runs: code first run in a forked supervisor writes to
    (and so un-shares) the pages of its code objects. Run here first, they stay shared by every
    supervisor (measured: about 0.25 MiB less USS each). Touches nothing outside ``scratch``.
    """
    import shutil

    from runtime.containers.plan import HealthPlan

    cdir = scratch / "containers" / "rehearsal"
    cdir.mkdir(parents=True, exist_ok=True)
    try:
        plan = LaunchPlan(id="rehearsal", name="rehearsal", root=str(scratch), container_dir=str(cdir),
                          lower_dirs=["/nonexistent"], args=["true"], env=["A=1"],
                          healthcheck=HealthPlan(test=["CMD", "true"]))
        for _ in range(rounds):
            plan.save()
            RunStatus().save(cdir, exchange=True)
            sup = Supervisor(scratch, "rehearsal")
            sup.cgroups.dirs()
            sup.status = st = RunStatus.load(cdir)  # as run() reads it
            st.boot_id, st.supervisor_start = sc.boot_id(), sc.process_start_time(os.getpid()) or 0
            st.started_at = rfc3339_nano()
            st.save(cdir, exchange=True)
            splitter = LineSplitter()
            for line in splitter.feed(b"one\ntwo\nthr") + splitter.flush():
                sup.log.write("stdout", line)
            health = HealthState(sup.plan.healthcheck, time.monotonic())  # type: ignore[arg-type]
            health.record(0.0, 0.1, 0, "ok", rfc3339_nano(), rfc3339_nano())
            health.next_delay(time.monotonic())
            st.health = health.to_dict()
            stop_requested(cdir)
            Limits(**sup.plan.limits)  # type: ignore[arg-type]
            sup.cgroups.oom_kills()
            RestartManager("on-failure", 1).should_restart(1, False, 0.5)
            ours, theirs = socket.socketpair()
            sup._notify(ours, {"ok": True, "pid": 1})
            theirs.recv(64)
            ours.close()
            theirs.close()
            r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            sup.sel.register(r, selectors.EVENT_READ, ("out", "stdout", LineSplitter()))
            os.write(w, b"x\n")
            for key, _ in sup.sel.select(0):
                sup._on_ready(key)
            os.close(w)
            for key, _ in sup.sel.select(0):
                sup._on_ready(key)  # EOF: flushes and unregisters
            sup._reap()
            sup.sel.select(0)
            sup.pid = os.getpid()  # our own mount namespace stands in for a container's
            sup._hold_mount_ns(sup.pid, only_if_unshared=True)
            sup._hold_mount_ns(sup.pid)
            sup._parent_only_fds()
            sup._release_mount_ns()
            sup.sel.close()
            sup.log.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # the whole scratch dir: one per launcher would pile up


def run(root: str | Path, container_id: str, notify: socket.socket | None,
        process: ProcessSetup | None = None) -> None:
    """Entry point in the forked supervisor process (``process``: its set-up, if done ahead)."""
    Supervisor(Path(root), container_id, process).run(notify)
    if notify is not None:
        notify.close()
