"""Log following sleeps until the container's directory changes (runtime/dirwatch.py), not on a timer."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from runtime import dirwatch, logs
from runtime.logs import LogWriter, read_logs


def _changes() -> dirwatch.DirChanges:
    shared = dirwatch.changes()
    if shared is None:
        pytest.fail("inotify is unavailable on this host: log following would poll")
    return shared


def test_a_write_a_rename_and_the_directory_going_wake_its_subscribers(tmp_path: Path) -> None:
    shared = _changes()
    folder = tmp_path / "c"
    folder.mkdir()
    first, second = shared.subscribe(folder), shared.subscribe(folder)
    assert first is not None and second is not None
    (folder / "container.log").write_text("x\n")
    assert first.wait(5) and second.wait(5)
    first.clear()
    second.clear()
    shared.unsubscribe(folder, second)
    (folder / "status.tmp").write_text("{}")
    (folder / "status.tmp").rename(folder / "status.json")
    assert first.wait(5) and not second.is_set()
    first.clear()
    for entry in folder.iterdir():
        entry.unlink()
    folder.rmdir()
    assert first.wait(5)  # gone: its follower looks again and finds out
    shared.unsubscribe(folder, first)  # after its watch went: a no-op


def test_following_wakes_on_a_write_not_on_a_timer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _changes()
    monkeypatch.setattr(logs, "FOLLOW_RECHECK", 60.0)  # a timer would not fire within this test
    path = tmp_path / "container.log"
    w = LogWriter(path, max_size=0, max_files=1)
    w.write("stdout", "one\n")
    stop = threading.Event()
    seen: list[tuple[str, float]] = []

    def follow() -> None:
        for r in read_logs(path, follow=True, running=lambda: not stop.is_set(), poll=0.05):
            seen.append((r["text"], time.monotonic()))

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the follower is asleep in its wait by now
    written = time.monotonic()
    w.write("stdout", "two\n")
    while len(seen) < 2 and time.monotonic() < deadline + 5:
        time.sleep(0.01)
    assert [text for text, _ in seen] == ["one\n", "two\n"]
    assert seen[1][1] - written < 2.0  # woken by the write
    stop.set()
    (tmp_path / "status.json").write_text("{}")  # what a supervisor's exit record does: wakes it to end
    reader.join(5)
    assert not reader.is_alive()
    w.close()


def test_a_subscription_by_name_wakes_only_for_that_entry_and_one_event_serves_several_directories(
        tmp_path: Path) -> None:
    shared = _changes()
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    event = threading.Event()
    assert shared.subscribe(a, event, names=("status.json",)) is event
    assert shared.subscribe(b, event, names=("status.json",)) is event
    try:
        (a / "container.log").write_text("a line\n")
        (b / "status.tmp").write_text("{}")  # created under another name: not the status yet
        assert not event.wait(0.3)
        (b / "status.tmp").rename(b / "status.json")
        assert event.wait(5)
        event.clear()
        (a / "status.json").write_text("{}")
        assert event.wait(5)
        event.clear()
        renames = threading.Event()
        assert shared.subscribe(a, renames, names=("status.json",), mask=dirwatch.IN_MOVED_TO) is renames
        (a / "status.json").write_text('{"x": 1}')  # written in place: not a rename
        assert event.wait(5) and not renames.wait(0.3)
        (a / "status.tmp").write_text("{}")
        (a / "status.tmp").rename(a / "status.json")
        assert renames.wait(5)
        shared.unsubscribe(a, renames)
    finally:
        shared.unsubscribe(a, event)
        shared.unsubscribe(b, event)
