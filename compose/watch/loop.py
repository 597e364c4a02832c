"""The watch loop: file events (watchfiles, in one thread) -> batches -> actions, plus re-syncs.

One thread, the caller's, applies everything, so actions never overlap and need no locks; the watchfiles
thread only feeds a queue. Besides file batches the loop looks at the watched services' containers: a
container that is new, recreated or (re)started since the last look gets the full tree of every sync rule
pushed in (it started from its image, so host edits made since the build would be missing — compose's
#12592). Rules with ``initial_sync`` get that at start. It looks when the engine says a container may have
changed (``EngineAPI.container_changes``: inotify, so an idle watch costs next to nothing), and every
``recheck`` seconds in any case; without that waker, every ``poll`` seconds.

Stopping: set ``stop`` (or Ctrl-C in the calling thread); ``run`` then stops the watchfiles thread and joins
it before returning, so no thread or inotify instance outlives the loop.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from compose import labels as L
from compose.errors import ComposeError, OperationError
from compose.watch.actions import ActionRunner, Outcome, format_outcome
from compose.watch.batcher import Batcher
from compose.watch.rules import Trigger, route, watch_roots
from runtime.api import ContainerChanges, ContainerState
from runtime.errors import RuntimeErrorBase

WATCHFILES_STEP_MS = 10  # watchfiles' own grouping step; the real quiet period is the Batcher's
CONTAINER_POLL = 0.5  # looks at the containers without a change waker
CONTAINER_RECHECK = 10.0  # with one: for what no status write announces (a supervisor killed outright)
LOOK_SPACING = 0.1  # at most this often, whatever the waker says (a container crash-looping)
WAKE = 0.2  # the loop's longest sleep: how soon it sees the waker's event and the stop request


@dataclass(frozen=True)
class _Failure:
    error: BaseException


class FileEvents:
    """watchfiles over the rules' directories in a background thread, feeding sets of paths to a queue."""

    def __init__(self, roots: list[str]) -> None:
        self.roots = roots
        self.queue: queue.Queue[set[str] | _Failure] = queue.Queue()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hoist-watch-files", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(5.0)

    def _run(self) -> None:
        import watchfiles

        try:
            gen = watchfiles.watch(*self.roots, watch_filter=None, step=WATCHFILES_STEP_MS, debounce=1000,
                                   stop_event=self._stop, rust_timeout=500, yield_on_timeout=True,
                                   raise_interrupt=False)
            for changes in gen:  # the first (timeout or change) yield happens once inotify is set up
                self._ready.set()
                if changes:
                    self.queue.put({path for _, path in changes})
        except BaseException as exc:  # noqa: BLE001 - handed to the loop, which reports it
            self.queue.put(_Failure(exc))
        finally:
            self._ready.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


class WatchLoop:
    def __init__(self, triggers: list[Trigger], runner: ActionRunner, *, printer: Callable[[str], None],
                 services: Iterable[str], base_dir: str | None = None, clock: Callable[[], float] = time.monotonic,
                 poll: float = CONTAINER_POLL, changes: ContainerChanges | None = None,
                 recheck: float = CONTAINER_RECHECK) -> None:
        """``changes``: the engine's container-change waker (``EngineAPI.container_changes()``); the loop
        closes it when it ends. Without one the containers are looked at every ``poll`` seconds."""
        self.triggers = triggers
        self.runner = runner
        self.print = printer
        self.services = list(services)
        self.base_dir = base_dir
        self.clock = clock
        self.poll = poll
        self.changes = changes
        self.recheck = recheck
        self.batcher = Batcher(clock)
        self._known: dict[str, tuple[str, str]] = {}  # container name -> (id, started_at)
        self.events: FileEvents | None = None

    # ------------------------------------------------------------------------------------------ run
    def run(self, stop: threading.Event, *, ready: Callable[[], None] | None = None) -> None:
        self.events = FileEvents(watch_roots(self.triggers))
        self.events.start()
        try:
            self._watch_for_changes()
            self._initial_sync()
            if ready:
                ready()
            last_look = self.clock()
            next_poll = last_look + self._interval()
            while not stop.is_set():
                wait = self.batcher.due_in()
                timeout = max(0.0, min(wait if wait is not None else self.poll, next_poll - self.clock()))
                try:
                    item = self.events.queue.get(timeout=min(timeout, WAKE))
                    self._feed(item)
                    while True:  # whatever else is already queued belongs to the same moment
                        self._feed(self.events.queue.get_nowait())
                except queue.Empty:
                    pass
                paths = self.batcher.take()
                if paths:
                    self.handle(paths)
                now = self.clock()
                if now >= next_poll or (self._changed() and now >= last_look + LOOK_SPACING):
                    self._watch_for_changes()
                    try:
                        self.check_containers()
                    except (ComposeError, RuntimeErrorBase, OSError) as exc:
                        self.print(f"watch: could not look at the containers: {exc}")
                    last_look = self.clock()
                    next_poll = last_look + self._interval()
        finally:
            self.events.stop()
            if self.changes is not None:
                self.changes.close()

    def _watch_for_changes(self) -> None:
        """Before a look: the waker covers every container there now and forgets what it said before (a
        change after this sets it again; the look that follows reads the state after it)."""
        if self.changes is not None:
            self.changes.refresh()
            self.changes.event.clear()

    def _changed(self) -> bool:
        return self.changes is not None and self.changes.event.is_set()

    def _interval(self) -> float:
        """Seconds to the next look when nothing wakes the loop."""
        return self.recheck if self.changes is not None and self.changes.complete else self.poll

    def _feed(self, item: set[str] | _Failure) -> None:
        if isinstance(item, _Failure):
            raise OperationError(f"watching files failed: {item.error}",
                                 hint="check that the watched paths still exist and are readable") from item.error
        self.batcher.add(sorted(item))

    # ------------------------------------------------------------------------------------- batches
    def handle(self, paths: list[str]) -> list[Outcome]:
        per_service: dict[str, dict[Trigger, list[str]]] = {}
        for path in paths:
            for trigger in route(self.triggers, path):
                per_service.setdefault(trigger.service, {}).setdefault(trigger, []).append(path)
        outcomes = []
        for service, fired in per_service.items():
            try:
                outcome = self.runner.apply(service, fired)
            except Exception as exc:  # noqa: BLE001 - a bug in one action must not end watching
                outcome = Outcome(service, [p for ps in fired.values() for p in ps], [t.describe() for t in fired],
                                  error=f"unexpected error: {exc!r}")
            self.print(format_outcome(outcome, base=self.base_dir))
            outcomes.append(outcome)
        if outcomes:
            self._remember_containers()  # what the actions restarted/recreated needs no re-sync
        return outcomes

    # ------------------------------------------------------------------------------------- re-syncs
    def _initial_sync(self) -> None:
        initial = [t for t in self.triggers if t.rule.initial_sync]
        for service in self.services:
            rules = [t for t in initial if t.service == service]
            for c in self.runner.containers(service) if rules else []:
                outcome = self.runner.resync(service, c, rules, "initial sync")
                if outcome is not None:
                    self.print(format_outcome(outcome, base=self.base_dir))
        self._remember_containers()

    def _current(self) -> dict[str, tuple[str, str, ContainerState]]:
        out = {}
        for service in self.services:
            for c in self.runner.containers(service):
                if c.status == "running":
                    out[c.name] = (c.id, c.started_at, c)
        return out

    def _remember_containers(self) -> None:
        self._known = {name: (cid, started) for name, (cid, started, _) in self._current().items()}

    def check_containers(self) -> list[Outcome]:
        """Re-sync containers that appeared, were recreated or were (re)started since the last look."""
        outcomes = []
        current = self._current()
        for name, (cid, started, state) in current.items():
            before = self._known.get(name)
            if before == (cid, started):
                continue
            why = "container created" if before is None or before[0] != cid else "container restarted"
            service = state.labels.get(L.SERVICE, "")
            outcome = self.runner.resync(service, state, self.triggers, why)
            if outcome is not None:
                self.print(format_outcome(outcome, base=self.base_dir))
                outcomes.append(outcome)
        if outcomes:
            self._remember_containers()  # a re-sync may restart the container itself
        else:
            self._known = {name: (cid, started) for name, (cid, started, _) in current.items()}
        return outcomes
