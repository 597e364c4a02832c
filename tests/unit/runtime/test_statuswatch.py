"""runtime.statuswatch: woken by the status file being replaced (as RunStatus.save does), not by other files
of the container's directory; a timeout when nothing happens; a bounded number of inotify instances."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from runtime import statuswatch
from runtime.containers.status import STATUS_FILE, RunStatus
from runtime.statuswatch import StatusWatch


def _later(delay: float, fn) -> threading.Thread:  # type: ignore[no-untyped-def]
    t = threading.Thread(target=lambda: (time.sleep(delay), fn()))
    t.start()
    return t


def test_wakes_when_the_status_is_replaced(tmp_path: Path) -> None:
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        d.mkdir()
    with StatusWatch(dirs, STATUS_FILE) as watch:
        assert watch.event_driven
        writer = _later(0.05, lambda: RunStatus(status="running").save(dirs[1]))
        start = time.monotonic()
        assert watch.wait(10.0)
        assert time.monotonic() - start < 5.0  # woken by the event, not by the timeout
        writer.join()


def test_other_files_do_not_wake_it_and_the_timeout_does(tmp_path: Path) -> None:
    with StatusWatch([tmp_path], STATUS_FILE) as watch:
        (tmp_path / "container.log").write_text("a line\n")  # the log, a stop marker ...
        (tmp_path / "stop-requested").touch()
        start = time.monotonic()
        assert not watch.wait(0.2)
        assert time.monotonic() - start >= 0.2


def test_a_change_before_the_wait_is_not_lost(tmp_path: Path) -> None:
    with StatusWatch([tmp_path], STATUS_FILE) as watch:
        RunStatus(status="exited").save(tmp_path)  # between the caller's look and its wait
        assert watch.wait(0.0001) or watch.wait(5.0)


def test_a_removed_directory_wakes_it(tmp_path: Path) -> None:
    d = tmp_path / "c"
    d.mkdir()
    with StatusWatch([d], STATUS_FILE) as watch:
        d.rmdir()
        assert watch.wait(5.0)


def test_instances_are_capped_and_released(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A budget of its own: a wait elsewhere in this process must not hold one of the slots counted here.
    monkeypatch.setattr(statuswatch, "_instances", threading.BoundedSemaphore(statuswatch.MAX_INSTANCES))
    watches = [StatusWatch([tmp_path], STATUS_FILE) for _ in range(statuswatch.MAX_INSTANCES + 3)]
    try:
        driven = [w for w in watches if w.event_driven]
        assert len(driven) == statuswatch.MAX_INSTANCES
        assert all(os.readlink(f"/proc/self/fd/{w._fd}") == "anon_inode:inotify" for w in driven)
        assert watches[-1].wait(1.0)  # over the cap: a short sleep stands in for the event
    finally:
        for w in watches:
            w.close()
    assert all(w._fd is None for w in watches)
    budget = statuswatch._instances
    deadline = time.monotonic() + 10  # closing happens in the background (the kernel's teardown is slow)
    while budget._value < statuswatch.MAX_INSTANCES:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the slots did not come back"
        time.sleep(0.01)
    again = [StatusWatch([tmp_path], STATUS_FILE) for _ in range(statuswatch.MAX_INSTANCES)]
    try:
        assert all(w.event_driven for w in again)  # every slot came back
    finally:
        for w in again:
            w.close()


def test_wakes_when_the_owner_swaps_in_its_spare(tmp_path: Path) -> None:
    """The supervisor's saves exchange the spare with status.json (RENAME_EXCHANGE): still one IN_MOVED_TO."""
    RunStatus(status="starting").save(tmp_path, exchange=True)  # no status.json yet: a plain rename
    with StatusWatch([tmp_path], STATUS_FILE) as watch:
        writer = _later(0.05, lambda: RunStatus(status="running").save(tmp_path, exchange=True))
        start = time.monotonic()
        assert watch.wait(10.0)
        assert time.monotonic() - start < 5.0
        writer.join()
    assert RunStatus.load(tmp_path).status == "running"


def test_exchange_keeps_the_previous_record_in_the_spare_and_reuses_it(tmp_path: Path) -> None:
    from runtime.containers.status import SPARE_FILE

    RunStatus(status="created").save(tmp_path)
    RunStatus(status="starting", pid=1234567).save(tmp_path, exchange=True)
    spare = tmp_path / SPARE_FILE
    first_spare_inode = spare.stat().st_ino
    assert RunStatus.load(tmp_path).pid == 1234567
    assert b'"created"' in spare.read_bytes()
    RunStatus(status="running", pid=7).save(tmp_path, exchange=True)  # shorter: the spare's tail is cut
    assert RunStatus.load(tmp_path).pid == 7 and RunStatus.load(tmp_path).status == "running"
    assert spare.stat().st_ino != first_spare_inode  # the two inodes swap names, none is made or freed
    assert {p.name for p in tmp_path.iterdir()} == {STATUS_FILE, SPARE_FILE}
