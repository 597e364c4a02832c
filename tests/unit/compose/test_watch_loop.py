"""The watch loop with real file events (watchfiles on a temp dir) and a recording runner: batching,
ignored files, re-sync of a (re)started container, errors that do not stop watching, and a clean stop
(no thread, no inotify instance left)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from compose.model import Develop, Project, Service, WatchRule
from compose.watch.actions import Outcome
from compose.watch.loop import WatchLoop
from compose.watch.rules import Trigger, compile_rules
from runtime.api import ContainerState
from tests.support.cli import wait_for
from tests.support.fake_engine import FakeContainerChanges


class RecordingRunner:
    def __init__(self) -> None:
        self.applied: list[tuple[str, dict[Trigger, list[str]]]] = []
        self.resynced: list[tuple[str, str]] = []
        self.fail = False
        self.explode = False
        self.container = ContainerState(id="c1", name="p-web-1", image="i", image_id="i", labels={
            "com.docker.compose.service": "web"}, status="running", created="", pid=1, started_at="t1")

    def containers(self, service: str) -> list[ContainerState]:
        return [self.container]

    def apply(self, service: str, fired: dict[Trigger, list[str]]) -> Outcome:
        self.applied.append((service, fired))
        if self.explode:
            raise RuntimeError("a bug")
        return Outcome(service, [p for ps in fired.values() for p in ps], [t.describe() for t in fired], ["ok"],
                       error="build failed" if self.fail else "")

    def resync(self, service: str, container: ContainerState, triggers: Any, why: str) -> Outcome:
        self.resynced.append((container.name, why))
        return Outcome(service, [], [], [why])


def inotify_fds() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify"
        except OSError:
            pass
    return count


@pytest.fixture
def running(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """The loop running; ``@pytest.mark.parametrize("running", [changes], indirect=True)`` gives it that
    change waker (and a 60 s recheck), else it polls every 0.05 s."""
    changes = getattr(request, "param", None)
    (tmp_path / "app").mkdir()
    rule = WatchRule(path=str(tmp_path / "app"), action="sync", target="/app", ignore=["*.log"], initial_sync=True)
    project = Project(name="p", working_dir=str(tmp_path),
                      services={"web": Service(name="web", image="i", develop=Develop(watch=[rule]))})
    runner = RecordingRunner()
    lines: list[str] = []
    loop = WatchLoop(compile_rules(project, ["web"]), runner, printer=lines.append, services=["web"],  # type: ignore[arg-type]
                     poll=0.05, changes=changes, recheck=60.0)
    stop = threading.Event()
    ready = threading.Event()
    fds_before = inotify_fds()
    tasks_before = len(os.listdir("/proc/self/task"))
    thread = threading.Thread(target=loop.run, args=(stop,), kwargs={"ready": ready.set})
    thread.start()
    assert ready.wait(10)
    yield tmp_path / "app", runner, lines, loop
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert changes is None or changes.closed
    assert not [t for t in threading.enumerate() if t.name == "hoist-watch-files"]
    # notify's own event thread closes the inotify fd just after the watcher is dropped: a bounded wait.
    wait_for(lambda: inotify_fds() == fds_before, timeout=5, what="the inotify instance to be closed")
    wait_for(lambda: len(os.listdir("/proc/self/task")) <= tasks_before, timeout=5, what="OS threads to end")


def test_files_saved_together_are_one_batch_and_ignored_files_do_nothing(running: Any) -> None:
    app, runner, lines, _ = running
    assert runner.resynced == [("p-web-1", "initial sync")]
    (app / "noise.log").write_text("x")
    (app / "a.py.swp").write_text("x")
    for name in ("a.py", "b.py", "c.py"):
        (app / name).write_text("x")
    wait_for(lambda: runner.applied, timeout=10, what="a batch")
    time.sleep(0.2)  # nothing else may follow
    assert len(runner.applied) == 1
    service, fired = runner.applied[0]
    [paths] = fired.values()
    assert service == "web" and sorted(os.path.basename(p) for p in paths) == ["a.py", "b.py", "c.py"]
    assert any(line.startswith("watch: web: ") and "web watch[0] sync" in line for line in lines)


def test_a_restarted_or_recreated_container_is_resynced(running: Any) -> None:
    _, runner, _, _ = running
    runner.container = replace(runner.container, started_at="t2")
    wait_for(lambda: ("p-web-1", "container restarted") in runner.resynced, timeout=5, what="re-sync")
    runner.container = replace(runner.container, id="c2", started_at="t3")
    wait_for(lambda: ("p-web-1", "container created") in runner.resynced, timeout=5, what="re-sync")


@pytest.mark.parametrize("running", [FakeContainerChanges()], indirect=True)
def test_with_a_change_waker_containers_are_looked_at_when_it_says_so_not_on_a_timer(running: Any) -> None:
    _, runner, _, loop = running
    changes = loop.changes
    assert changes.refreshes >= 1 and not changes.event.is_set()  # set up before the first look
    runner.container = replace(runner.container, started_at="t2")
    time.sleep(0.5)  # ten of the poll fixture's intervals: a timer would have found it
    assert ("p-web-1", "container restarted") not in runner.resynced
    looks = changes.refreshes
    changes.event.set()  # what the engine's inotify does when the container's status is replaced
    wait_for(lambda: ("p-web-1", "container restarted") in runner.resynced, timeout=5, what="re-sync")
    assert changes.refreshes > looks and not changes.event.is_set()  # refreshed and cleared for the next


@pytest.mark.parametrize("running", [FakeContainerChanges(complete=False)], indirect=True)
def test_a_waker_short_of_inotify_watches_leaves_the_loop_looking_on_its_timer(running: Any) -> None:
    _, runner, _, _ = running
    runner.container = replace(runner.container, started_at="t2")  # and nothing sets the event
    wait_for(lambda: ("p-web-1", "container restarted") in runner.resynced, timeout=5, what="re-sync")


def test_deleting_the_watched_directory_contents_is_a_change_too(running: Any) -> None:
    app, runner, _, _ = running
    (app / "x.py").write_text("x")
    wait_for(lambda: runner.applied, timeout=10, what="the first batch")
    (app / "x.py").unlink()
    wait_for(lambda: len(runner.applied) >= 2, timeout=10, what="the deletion batch")
    assert [os.path.basename(p) for p in next(iter(runner.applied[-1][1].values()))] == ["x.py"]


def test_an_action_error_is_printed_and_watching_continues(running: Any) -> None:
    app, runner, lines, _ = running
    runner.fail = True
    (app / "a.py").write_text("x")
    wait_for(lambda: any("ERROR: build failed" in line for line in lines), timeout=10, what="the error line")
    runner.fail = False
    (app / "b.py").write_text("x")
    wait_for(lambda: any("b.py" in line and "ERROR" not in line for line in lines), timeout=10, what="next batch")


def test_a_bug_in_an_action_is_reported_and_watching_continues(running: Any) -> None:
    app, runner, lines, _ = running
    runner.explode = True
    (app / "a.py").write_text("x")
    wait_for(lambda: any("unexpected error: RuntimeError('a bug')" in line for line in lines), timeout=10,
             what="the error line")
    runner.explode = False
    (app / "b.py").write_text("x")
    wait_for(lambda: any("b.py" in line and "ERROR" not in line for line in lines), timeout=10, what="next batch")
