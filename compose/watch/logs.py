"""``up --watch`` (attached): the attached services' logs, streamed while watching, as docker compose does.

An attached ``up`` follows each container for one run (compose/attach.py). Watch actions outlive runs: a
``restart``/``sync+restart`` starts the same container again, a ``rebuild`` (or anyone's ``up``) replaces it
with a new container of the same name. So here each container id gets one follower thread for its whole
life, and a :class:`LogCursor` remembers the last line it printed:

- a restart: the follower's log stream ends when the run stops (the engine ends ``follow`` then); it prints
  ``web-1 exited with code N``, waits for the next run and resumes from its cursor. A restart the engine's
  follow does not look at in between (it looks when the container's directory changes, and at least every
  second) is not seen as a stop: the same stream simply goes on, and that run gets no exit line (the watch
  event says it was restarted). Either way every line is printed once and the
  new run's first lines are not missed: the cursor reads the log file from where printing got to.
- a new container (recreated, scaled up): a discovery thread lists the project's containers when the engine
  says one may have changed (``EngineAPI.container_changes``, inotify; without it every ``POLL`` seconds),
  and at once after each watch event (:meth:`ServiceLogs.nudge`), and follows each new id from its first
  line, however late it is found (even when a re-sync already restarted it). The same wake-up sends the
  followers of stopped containers to look for their next run.
- the replaced container: its stream ends when it is stopped; once it is removed its follower ends.

Every line goes through one :class:`LogPrinter` (compose's prefixes, colours, ``--timestamps``,
``--no-log-prefix``); the watch events go through the same printer's ``message``, so the two never interleave
mid-line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from compose.attach import display_name
from compose.render.logs import LogPrinter
from runtime.api import ContainerChanges, ContainerState, EngineAPI, LogRecord
from runtime.errors import NotFound, RuntimeErrorBase

POLL = 0.5  # discovery of new containers without a change waker; watch events nudge it
RECHECK = 10.0  # with a change waker, for what no status write announces (a supervisor killed outright)
# How often a stopped container is looked at for its next run. A watch action's restart nudges the followers
# at once (its event line), so this only bounds restarts from elsewhere (`hoist restart` in another terminal).
RUN_POLL = 0.5
LIVE = ("running", "starting", "restarting")
ENDED = ("exited", "dead")


@dataclass
class LogCursor:
    """How far printing got in one container's log: the time of the last printed line, and how many printed
    lines carry exactly that time (lines can share a timestamp). A resumed read starts at that time and skips
    just those, so nothing is printed twice and nothing after them is lost."""

    since: str = ""
    printed_at_since: int = 0
    _skip: int = 0

    def resume(self) -> str | None:
        """The ``since`` for the next read (None: from the first line); call before each read."""
        self._skip = self.printed_at_since
        return self.since or None

    def take(self, record: LogRecord) -> bool:
        """Whether ``record`` (of a read started with :meth:`resume`) is new; advances past it if so."""
        if record.time < self.since:
            return False
        if record.time == self.since:
            if self._skip:
                self._skip -= 1
                return False
            self.printed_at_since += 1
        else:
            self.since, self.printed_at_since, self._skip = record.time, 1, 0
        return True


@dataclass
class ContainerFollower:
    """One container's log, across all its runs, until it is removed or the follower is stopped."""

    engine: EngineAPI
    printer: LogPrinter
    container: ContainerState
    stop: threading.Event
    poll: float = RUN_POLL
    # A container there before watching began shows this run's lines only (as an attached `up`: not what an
    # earlier `up` printed); one that appeared since shows its whole log, all its runs (found late, a
    # recreated container may already be in its second run: a re-sync restarts it).
    whole_log: bool = False
    wake: threading.Event = field(default_factory=threading.Event)
    cursor: LogCursor = field(init=False)
    name: str = field(init=False)  # the log prefix, ``web-1``
    _announced: str = field(default="", init=False)  # started_at of the run whose exit was printed
    _thread: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.cursor = LogCursor(since="" if self.whole_log else self.container.started_at)
        self.name = display_name(self.container)

    def start(self, *, first_pass_done: bool = False) -> None:
        self._thread = threading.Thread(target=self._run, args=(first_pass_done,), daemon=True,
                                        name=f"hoist-watch-logs-{self.name}")
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self, first_pass_done: bool) -> None:
        try:
            if not first_pass_done:
                self.follow_run()
            while self._await_next_run():
                self.follow_run()
        except NotFound:
            pass  # removed (replaced by a recreate, or `down`): nothing more to follow
        except RuntimeErrorBase as exc:
            self.printer.message(f"{self.name}: cannot follow its logs any more: {exc}")

    def follow_run(self) -> None:
        """Print the log from the cursor until the container stops running, then its exit (once per run)."""
        for record in self.engine.container_logs(self.container.id, follow=True, since=self.cursor.resume()):
            if self.cursor.take(record):
                self.printer.line(self.name, record.text, record.time)
        state = self.engine.container_inspect(self.container.id)
        self.container = state
        if state.status in ENDED and state.started_at and state.started_at != self._announced:
            self._announced = state.started_at
            self.printer.message(f"{self.name} exited with code {state.exit_code}")

    def _await_next_run(self) -> bool:
        """Wait until the container runs again (True), or is removed or the follower stopped (False)."""
        ended_run = self.container.started_at
        while True:
            if self.stop.is_set():
                return False
            self.wake.wait(self.poll)
            self.wake.clear()
            state = self.engine.container_inspect(self.container.id)  # NotFound ends the follower
            # A new started_at is a new run, even one that already ended again between two looks.
            if state.started_at != ended_run or state.status in LIVE:
                self.container = state
                return True


class ServiceLogs:
    """Follow every container of ``services`` in project ``project``: those there now and those to come."""

    def __init__(self, engine: EngineAPI, project: str, services: list[str], printer: LogPrinter, *,
                 poll: float = POLL, run_poll: float = RUN_POLL, changes: ContainerChanges | None = None,
                 recheck: float = RECHECK, clock: Callable[[], float] = time.monotonic) -> None:
        """``changes``: the engine's container-change waker (``EngineAPI.container_changes()``), closed by
        :meth:`close`; without one, discovery looks every ``poll`` and stopped containers every ``run_poll``
        seconds."""
        self.engine = engine
        self.project = project
        self.services = set(services)
        self.printer = printer
        self.changes = changes
        self.poll = poll
        self.run_poll = run_poll if changes is None else recheck  # the discovery's wake-up sends them
        self.recheck = recheck
        self.clock = clock
        self.followers: dict[str, ContainerFollower] = {}  # container id -> its follower
        self._stop = threading.Event()
        self._wake = threading.Event() if changes is None else changes.event
        self._lock = threading.Lock()
        self._discovery: threading.Thread | None = None

    def _containers(self) -> list[ContainerState]:
        from compose.listing import project_containers

        # Ordered by service then number, as an attached `up` lists them in "Attaching to ...".
        return project_containers(self.engine, self.project, services=self.services)

    def start(self, announce: Callable[[list[str]], None] | None = None) -> None:
        """Attach to the containers there now (their names handed to ``announce`` first, for compose's
        "Attaching to ..."), then watch for new ones."""
        current = self._containers()
        for c in current:
            self.printer.register(display_name(c))
        if announce is not None:
            announce([display_name(c) for c in current])
        # In the order they started, and the ones already done printed right away: output keeps the order
        # things ran in (as an attached `up`).
        for c in sorted(current, key=lambda c: c.started_at or "~"):
            self._follow(c, whole_log=False)
        self._discovery = threading.Thread(target=self._discover, name="hoist-watch-logs", daemon=True)
        self._discovery.start()

    def _follow(self, c: ContainerState, *, whole_log: bool) -> None:
        with self._lock:
            if c.id in self.followers or self._stop.is_set():
                return
            follower = ContainerFollower(self.engine, self.printer, c, self._stop, poll=self.run_poll,
                                         whole_log=whole_log)
            self.followers[c.id] = follower
        done = False
        if c.status in ENDED:
            try:
                follower.follow_run()
                done = True
            except NotFound:
                return  # removed meanwhile
            except RuntimeErrorBase as exc:
                self.printer.message(f"{follower.name}: cannot follow its logs: {exc}")
                return
        follower.start(first_pass_done=done)

    def _discover(self) -> None:
        while not self._stop.is_set():
            complete = self.changes is not None and self.changes.complete
            self._wake.wait(self.recheck if complete else self.poll)
            if self.changes is not None:
                self.changes.refresh()  # before the clear: see ContainerChanges
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                found = self._containers()
            except (RuntimeErrorBase, OSError):
                continue  # a transient failure to list: the next look catches up (from each start)
            for c in found:
                if c.id not in self.followers:
                    self.printer.register(display_name(c))
                    self._follow(c, whole_log=True)  # new since start() listed them
            if self.changes is not None:
                self._wake_followers()  # a stopped container may run again: its follower looks

    def _wake_followers(self) -> None:
        with self._lock:
            followers = list(self.followers.values())
        for f in followers:
            f.wake.set()

    def nudge(self) -> None:
        """Look now: a watch action has just restarted or recreated containers."""
        self._wake.set()
        self._wake_followers()

    def close(self, timeout: float = 5.0) -> None:
        """Stop following. A follower still reading a running container's log ends when that container
        stops; the caller stops the services first (attached mode), so waiting here is short. Threads are
        daemons: one still blocked after ``timeout`` cannot keep the process alive."""
        self._stop.set()
        self.nudge()
        deadline = self.clock() + timeout
        if self._discovery is not None:
            self._discovery.join(max(0.0, deadline - self.clock()))
        with self._lock:
            followers = list(self.followers.values())
        for f in followers:
            f.join(max(0.0, deadline - self.clock()))
        if self.changes is not None and (self._discovery is None or not self._discovery.is_alive()):
            self.changes.close()  # (a discovery still blocked is a daemon: the process ends with it)

    @property
    def alive(self) -> list[str]:
        """Names of the containers whose follower thread still runs (tests check that close ended them)."""
        with self._lock:
            return [f.name for f in self.followers.values() if f.alive]
