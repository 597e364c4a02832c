"""Log following for `up --watch` (compose/watch/logs.py) against a scripted engine: every line once across
restarts (seen or too quick to see), containers there at start show their current run only, new ones their
whole log, removed ones end their follower, and close() leaves no thread behind."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace

import pytest

from compose.render.logs import LogPrinter
from compose.watch.logs import ContainerFollower, LogCursor, ServiceLogs
from runtime.api import ContainerState, LogRecord
from runtime.errors import NotFound
from tests.support.cli import wait_for
from tests.support.fake_engine import FakeContainerChanges

LIVE = ("running", "starting", "restarting")


def t(n: int) -> str:
    return f"2026-11-28T00:00:{n:02d}.000000000Z"


class ScriptedEngine:
    """Containers whose runs, log lines and removal the test scripts; ``container_logs(follow=True)`` behaves
    as the engine's: it reads on until it finds the container not running (looking before each read)."""

    def __init__(self) -> None:
        self.states: dict[str, ContainerState] = {}
        self.logs: dict[str, list[LogRecord]] = {}
        self.lock = threading.Lock()

    def add(self, cid: str, service: str, number: int = 1, project: str = "p") -> None:
        labels = {"com.docker.compose.project": project, "com.docker.compose.service": service,
                  "com.docker.compose.container-number": str(number), "com.docker.compose.oneoff": "False"}
        with self.lock:
            self.states[cid] = ContainerState(id=cid, name=f"{project}-{service}-{number}", image="i",
                                              image_id="i", labels=labels, status="created", created=t(0))
            self.logs[cid] = []

    def start(self, cid: str, at: int) -> None:
        with self.lock:
            self.states[cid] = replace(self.states[cid], status="running", started_at=t(at), pid=1)

    def exit(self, cid: str, code: int) -> None:
        with self.lock:
            self.states[cid] = replace(self.states[cid], status="exited", exit_code=code, pid=0)

    def write(self, cid: str, at: int, text: str) -> None:
        with self.lock:
            self.logs[cid].append(LogRecord(time=t(at), stream="stdout", text=text + "\n"))

    def remove(self, cid: str) -> None:
        with self.lock:
            del self.states[cid]

    # ----------------------------------------------------------------------------- the engine's calls
    def container_inspect(self, ref: str) -> ContainerState:
        with self.lock:
            if ref not in self.states:
                raise NotFound(f"no such container: {ref}")
            return self.states[ref]

    def container_list(self, *, labels: Mapping[str, str | None] | None = None,
                       all: bool = True) -> list[ContainerState]:
        with self.lock:
            return list(self.states.values())

    def container_logs(self, ref: str, *, follow: bool = False, tail: int | None = None,
                       since: str | None = None, until: str | None = None) -> Iterator[LogRecord]:
        self.container_inspect(ref)  # NotFound for a removed container, as the engine
        offset = 0
        while True:
            with self.lock:
                alive = ref in self.states and self.states[ref].status in LIVE
                new = self.logs[ref][offset:]
            offset += len(new)
            yield from (r for r in new if since is None or r.time >= since)
            if new:
                continue
            if not follow or not alive:
                return
            time.sleep(0.002)


def printer() -> tuple[LogPrinter, io.StringIO]:
    out = io.StringIO()
    return LogPrinter(out, colour=False), out


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def wait_lines(out: io.StringIO, count: int) -> list[str]:
    return wait_for(lambda: len(lines(out)) >= count and lines(out), timeout=5, what=f"{count} lines")


def rec(at: int, text: str = "x") -> LogRecord:
    return LogRecord(time=t(at), stream="stdout", text=text)


def test_cursor_skips_exactly_what_was_printed_at_the_resume_time() -> None:
    cursor = LogCursor(since=t(1))
    assert cursor.resume() == t(1)
    assert [cursor.take(r) for r in (rec(1, "a"), rec(1, "b"))] == [True, True]
    # A resumed read starts at t(1) again: a and b are skipped, a third line of the same time is new.
    assert cursor.resume() == t(1)
    assert [cursor.take(r) for r in (rec(1, "a"), rec(1, "b"), rec(1, "c"), rec(2, "d"))] == [False, False,
                                                                                          True, True]
    assert cursor.resume() == t(2)
    assert [cursor.take(r) for r in (rec(2, "d"), rec(3, "e"))] == [False, True]
    assert [cursor.take(r) for r in (rec(0), rec(3, "e"))] == [False, True]  # older: never; same time: once


def test_cursor_from_the_first_line() -> None:
    cursor = LogCursor()
    assert cursor.resume() is None
    assert cursor.take(rec(0)) and cursor.take(rec(0)) and cursor.since == t(0)


@contextlib.contextmanager
def following_web(first_line: str) -> Iterator[tuple[ScriptedEngine, io.StringIO, ContainerFollower]]:
    """A running ``web-1`` whose first line is printed by its follower; the follower stopped afterwards."""
    engine = ScriptedEngine()
    engine.add("c1", "web")
    engine.start("c1", 1)
    engine.write("c1", 1, first_line)
    p, out = printer()
    stop = threading.Event()
    f = ContainerFollower(engine, p, engine.container_inspect("c1"), stop, poll=0.01)  # type: ignore[arg-type]
    f.start()
    try:
        wait_lines(out, 1)
        yield engine, out, f
    finally:
        stop.set()
        f.join(5)


def test_a_restart_seen_as_a_stop_prints_the_exit_then_the_new_run_once() -> None:
    with following_web("first run") as (engine, out, f):
        engine.write("c1", 2, "last words")
        engine.exit("c1", 143)
        wait_lines(out, 3)
        engine.start("c1", 5)
        engine.write("c1", 5, "second run")
        assert wait_lines(out, 4) == ["web-1 | first run", "web-1 | last words", "web-1 exited with code 143",
                                      "web-1 | second run"]
        engine.exit("c1", 0)
        wait_lines(out, 5)
    assert not f.alive
    assert lines(out)[-1] == "web-1 exited with code 0"


def test_a_restart_too_quick_to_see_goes_on_in_the_same_stream() -> None:
    with following_web("one") as (engine, out, _):
        with engine.lock:  # stopped and started again between two looks of the stream
            engine.logs["c1"].append(LogRecord(time=t(2), stream="stdout", text="bye\n"))
            engine.states["c1"] = replace(engine.states["c1"], started_at=t(3))
            engine.logs["c1"].append(LogRecord(time=t(3), stream="stdout", text="two\n"))
        assert wait_lines(out, 3) == ["web-1 | one", "web-1 | bye", "web-1 | two"]
        engine.exit("c1", 1)
        wait_lines(out, 4)
    assert lines(out) == ["web-1 | one", "web-1 | bye", "web-1 | two", "web-1 exited with code 1"]


def test_service_logs_current_run_new_containers_whole_log_and_removal() -> None:
    engine = ScriptedEngine()
    engine.add("old", "web")
    engine.start("old", 1)
    engine.write("old", 1, "a previous up printed this")
    engine.exit("old", 0)
    engine.start("old", 3)  # the run `up` started
    engine.write("old", 3, "current run")
    engine.add("db1", "db")
    engine.start("db1", 2)
    engine.write("db1", 2, "db ready")
    engine.add("other", "cache")  # not an attached service
    engine.start("other", 2)
    engine.write("other", 2, "never shown")
    p, out = printer()
    logs = ServiceLogs(engine, "p", ["web", "db"], p, poll=0.01, run_poll=0.01)  # type: ignore[arg-type]
    attached: list[list[str]] = []
    logs.start(attached.append)
    try:
        assert attached == [["db-1", "web-1"]]  # by service, then number (as `up` lists them)
        got = wait_lines(out, 2)
        assert sorted(got) == ["db-1  | db ready", "web-1 | current run"]

        # A recreate: the old container stops and goes, a new one of the same name appears. Found late (it
        # is already in its second run when listed), it still shows from its first line.
        engine.exit("old", 137)
        wait_lines(out, 3)
        engine.remove("old")
        engine.add("new", "web")
        engine.start("new", 6)
        engine.write("new", 6, "new container, first line")
        engine.exit("new", 143)
        engine.start("new", 7)
        engine.write("new", 7, "new container, after the re-sync restart")
        logs.nudge()
        got = wait_lines(out, 5)
        assert got[2] == "web-1 exited with code 137"
        assert got[3:] == ["web-1 | new container, first line", "web-1 | new container, after the re-sync restart"]
        wait_for(lambda: not logs.followers["old"].alive, timeout=5, what="the removed container's follower ends")
        engine.exit("new", 0)
        engine.exit("db1", 0)
    finally:
        logs.close(timeout=5)
    assert logs.alive == []
    assert "never shown" not in out.getvalue()
    text = lines(out)
    assert text.count("web-1 | new container, first line") == 1 and text.count("db-1  | db ready") == 1
    assert "a previous up printed this" not in out.getvalue()


def test_containers_already_done_print_in_start_order_before_start_returns() -> None:
    engine = ScriptedEngine()
    for cid, service, at in (("m", "migrate", 2), ("s", "seed", 1)):
        engine.add(cid, service)
        engine.start(cid, at)
        engine.write(cid, at, f"{service} done")
        engine.exit(cid, 0)
    p, out = printer()
    logs = ServiceLogs(engine, "p", ["migrate", "seed"], p, poll=0.01, run_poll=0.01)  # type: ignore[arg-type]
    logs.start()
    try:
        assert lines(out) == ["seed-1    | seed done", "seed-1 exited with code 0",
                              "migrate-1 | migrate done", "migrate-1 exited with code 0"]
    finally:
        logs.close(timeout=5)
    assert logs.alive == []


@pytest.mark.parametrize("status", ["running", "exited"])
def test_close_ends_every_thread_once_the_containers_stopped(status: str) -> None:
    engine = ScriptedEngine()
    engine.add("c1", "web")
    engine.start("c1", 1)
    if status == "exited":
        engine.exit("c1", 0)
    p, _ = printer()
    logs = ServiceLogs(engine, "p", ["web"], p, poll=0.01, run_poll=0.01)  # type: ignore[arg-type]
    logs.start()
    engine.exit("c1", 0)  # what the attached stop does before close()
    start = time.monotonic()
    logs.close(timeout=5)
    assert time.monotonic() - start < 2
    assert logs.alive == []
    assert logs._discovery is not None and not logs._discovery.is_alive()


def test_with_a_change_waker_new_containers_and_new_runs_are_found_when_it_says_so() -> None:
    engine = ScriptedEngine()
    engine.add("w1", "web")
    engine.start("w1", 1)
    engine.write("w1", 1, "first run")
    engine.exit("w1", 0)
    p, out = printer()
    changes = FakeContainerChanges()
    # poll/run_poll say 10 ms, recheck 60 s: with a waker, only the recheck is a timer.
    logs = ServiceLogs(engine, "p", ["web", "db"], p, poll=0.01, run_poll=0.01, changes=changes,  # type: ignore[arg-type]
                       recheck=60.0)
    logs.start()
    try:
        assert lines(out) == ["web-1 | first run", "web-1 exited with code 0"]
        engine.add("d1", "db")
        engine.start("d1", 2)
        engine.write("d1", 2, "db up")
        engine.start("w1", 3)
        engine.write("w1", 3, "second run")
        time.sleep(0.3)
        assert len(lines(out)) == 2  # no timer found them
        changes.event.set()  # what the engine's inotify does for the new directory and the status writes
        got = wait_lines(out, 4)
        assert sorted(got[2:]) == ["db-1  | db up", "web-1 | second run"]
        engine.exit("w1", 0)
        engine.exit("d1", 0)
    finally:
        logs.close(timeout=5)
    assert logs.alive == [] and changes.closed
