"""Attached mode: follow the logs of containers, and notice when each one exits.

One thread per container follows its log; another waits for its exit and reports the code. The caller
decides what an exit means (--abort-on-container-exit, --exit-code-from ...).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from compose import labels as L
from compose.render.logs import LogPrinter
from runtime.api import ContainerState, EngineAPI
from runtime.errors import NotFound, RuntimeErrorBase


def display_name(c: ContainerState) -> str:
    """compose's log prefix: the container name without the project, ``web-1``."""
    project = c.labels.get(L.PROJECT, "")
    if project and c.name.startswith(project + "-"):
        return c.name[len(project) + 1:]
    return c.name


@dataclass
class Exit:
    container: ContainerState
    code: int


@dataclass
class Attacher:
    engine: EngineAPI
    printer: LogPrinter
    on_exit: Callable[[Exit], None] | None = None
    announce_exits: bool = True  # print "web-1 exited with code N" (not for `run`, whose output is bare)
    exits: dict[str, Exit] = field(default_factory=dict)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    watched: set[str] = field(default_factory=set)

    def attach(self, c: ContainerState, *, follow_logs: bool = True, tail: int | None = None,
               since: str | None = None) -> None:
        name = display_name(c)
        self.printer.register(name)
        self.watched.add(c.name)
        if c.status in ("exited", "dead"):
            # Already done (a one-shot that ran before we attached): print it all now, in attach order,
            # so output keeps the order the containers ran in.
            if follow_logs:
                self._follow(c, name, tail, since)
            self._wait(c, name, None)
            return
        log_thread = None
        if follow_logs:
            log_thread = threading.Thread(target=self._follow, args=(c, name, tail, since), daemon=True)
            log_thread.start()
        t = threading.Thread(target=self._wait, args=(c, name, log_thread), daemon=True)
        t.start()
        self._threads.append(t)

    def _follow(self, c: ContainerState, name: str, tail: int | None, since: str | None) -> None:
        try:
            for record in self.engine.container_logs(c.name, follow=True, tail=tail, since=since):
                self.printer.line(name, record.text, record.time)
        except (NotFound, RuntimeErrorBase):
            pass

    def _wait(self, c: ContainerState, name: str, log_thread: threading.Thread | None) -> None:
        while True:
            try:
                code = self.engine.container_wait(c.name)
                state = self.engine.container_inspect(c.name)
            except (NotFound, RuntimeErrorBase):
                code, state = -1, c
            if state.status in ("running", "restarting"):
                continue  # restarted by its restart policy: still attached
            break
        if log_thread is not None:
            log_thread.join(1.0)  # let the last lines out before the exit message
        if self.announce_exits:
            self.printer.message(f"{name} exited with code {code}")
        exit_ = Exit(state, code)
        with self._changed:
            self.exits[c.name] = exit_
            self._changed.notify_all()
        if self.on_exit:
            self.on_exit(exit_)

    def wait_any(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    @property
    def all_exited(self) -> bool:
        with self._changed:
            return self.watched <= set(self.exits)
