"""A dependency-aware concurrent executor: every task runs as soon as its dependencies are done and their
conditions hold, with at most ``parallel`` actions at once.

It knows nothing about containers: the orchestrator gives it tasks (one per service) and a condition waiter
(which polls the engine for service_healthy etc.). A failed task, or a required dependency whose condition
fails, makes its dependents *skipped* with a reason naming the dependency; independent branches go on.
In ``reverse`` mode (stop, remove) a task waits for everything that depends on it instead, and a failure
does not hold the others back: tearing down must go as far as it can.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

SERVICE_STARTED = "service_started"
SERVICE_HEALTHY = "service_healthy"
SERVICE_COMPLETED_SUCCESSFULLY = "service_completed_successfully"


@dataclass(frozen=True)
class Dependency:
    name: str
    condition: str = SERVICE_STARTED
    required: bool = True


@dataclass
class Task:
    name: str
    action: Callable[[], None]
    deps: list[Dependency] = field(default_factory=list)


class ConditionFailed(Exception):
    """Raised by a condition waiter: the dependency will not reach the condition (``reason`` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# (dependency name, condition, cancel event) -> None, raises ConditionFailed
ConditionWaiter = Callable[[str, str, threading.Event], None]


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


class Scheduler:
    def __init__(self, tasks: Mapping[str, Task], *, parallel: int = -1,
                 wait_condition: ConditionWaiter | None = None, reverse: bool = False,
                 on_skip: Callable[[str, str], None] | None = None,
                 on_warning: Callable[[str, str], None] | None = None) -> None:
        self.tasks = dict(tasks)
        self.parallel = parallel
        self.wait_condition = wait_condition
        self.reverse = reverse
        self.on_skip = on_skip
        self.on_warning = on_warning
        self.cancelled = threading.Event()
        self._finished = {name: threading.Event() for name in self.tasks}
        self._slots = threading.BoundedSemaphore(parallel) if parallel and parallel > 0 else None
        self._lock = threading.Lock()
        self.outcome = Outcome()

    def _waits_for(self, name: str) -> list[Dependency]:
        if not self.reverse:
            return self.tasks[name].deps
        # Reverse: wait for every task that depends on this one; order only, no conditions.
        return [Dependency(other) for other, task in self.tasks.items()
                if any(d.name == name for d in task.deps)]

    def ready_at_start(self) -> list[str]:
        """The tasks ``run`` starts at once: waiting for nothing, with no ``parallel`` limit to queue them."""
        if self._slots is not None:
            return []
        return [name for name in self.tasks if not any(d.name in self.tasks for d in self._waits_for(name))]

    def run(self) -> Outcome:
        threads = [threading.Thread(target=self._run_one, args=(name,), name=f"task-{name}", daemon=True)
                   for name in self.tasks]
        for t in threads:
            t.start()
        for t in threads:
            # A timed join keeps the main thread responsive to Ctrl-C.
            while t.is_alive():
                t.join(0.2)
        return self.outcome

    def cancel(self) -> None:
        self.cancelled.set()

    def _skip(self, name: str, reason: str) -> None:
        with self._lock:
            self.outcome.skipped[name] = reason
        if self.on_skip:
            self.on_skip(name, reason)

    def _warn(self, name: str, text: str) -> None:
        with self._lock:
            self.outcome.warnings.append(text)
        if self.on_warning:
            self.on_warning(name, text)

    def _blocking_reason(self, name: str) -> str | None:
        """Wait for this task's dependencies; return why it must not run, or None."""
        for dep in self._waits_for(name):
            if dep.name in self._finished:
                while not self._finished[dep.name].wait(0.2):
                    if self.cancelled.is_set():
                        return "cancelled"
                if self.reverse:
                    continue
                with self._lock:
                    failed = self.outcome.failed.get(dep.name)
                    skipped = self.outcome.skipped.get(dep.name)
                if failed is not None or skipped is not None:
                    why = str(failed) if failed is not None else skipped
                    text = f'dependency "{dep.name}" of "{name}" failed: {why}'
                    if dep.required:
                        return text
                    self._warn(name, f'optional dependency "{dep.name}" failed: {why}')
                    continue
            if self.reverse or self.wait_condition is None:
                continue
            try:
                self.wait_condition(dep.name, dep.condition, self.cancelled)
            except ConditionFailed as exc:
                if dep.required:
                    return exc.reason
                self._warn(name, f'optional dependency "{dep.name}" is not running or is unhealthy: '
                           f"{exc.reason}")
        if self.cancelled.is_set():
            return "cancelled"
        return None

    def _run_one(self, name: str) -> None:
        try:
            reason = self._blocking_reason(name)
            if reason is not None:
                self._skip(name, reason)
                return
            if self._slots:
                self._slots.acquire()
            try:
                if self.cancelled.is_set():
                    self._skip(name, "cancelled")
                    return
                self.tasks[name].action()
                with self._lock:
                    self.outcome.done.append(name)
            finally:
                if self._slots:
                    self._slots.release()
        except BaseException as exc:  # noqa: BLE001 - recorded and reported by the caller
            with self._lock:
                self.outcome.failed[name] = exc
        finally:
            self._finished[name].set()


def run_tasks(tasks: Mapping[str, Task], **kwargs: object) -> Outcome:
    return Scheduler(tasks, **kwargs).run()  # type: ignore[arg-type]
