"""runtime/containerwatch.py: one event for "a container of this root may have changed" — a container
directory appearing or a status.json replaced — and nothing for log writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.containers.status import STATUS_FILE
from runtime.containerwatch import container_changes


def _replace_status(directory: Path, text: str) -> None:
    tmp = directory / "status.json.tmp"
    tmp.write_text(text)
    tmp.rename(directory / STATUS_FILE)


def test_new_containers_and_status_changes_wake_it_log_writes_do_not(tmp_path: Path) -> None:
    containers = tmp_path / "containers"
    changes = container_changes(containers)
    if changes is None:
        pytest.fail("inotify is unavailable on this host: watch mode would poll")
    try:
        changes.refresh()
        changes.event.clear()
        (containers / "c1").mkdir()
        assert changes.event.wait(5)  # a new container's directory

        changes.refresh()  # now c1's status is watched too
        changes.event.clear()
        (containers / "c1" / "container.log").write_text("line\n")
        assert not changes.event.wait(0.3)
        _replace_status(containers / "c1", '{"status": "running"}')
        assert changes.event.wait(5)

        changes.event.clear()
        for entry in (containers / "c1").iterdir():
            entry.unlink()
        (containers / "c1").rmdir()
        assert changes.event.wait(5)  # removed
        changes.refresh()  # forgets c1
        changes.event.clear()
        (containers / "c2").mkdir()
        assert changes.event.wait(5)
    finally:
        changes.close()
    changes.event.clear()
    (containers / "c3").mkdir()
    assert not changes.event.wait(0.3)  # closed: no watch left behind


def test_a_container_that_cannot_be_watched_makes_it_incomplete(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    containers = tmp_path / "containers"
    changes = container_changes(containers)
    if changes is None:
        pytest.fail("inotify is unavailable on this host: watch mode would poll")
    try:
        (containers / "c1").mkdir()
        changes.refresh()
        assert changes.complete
        shared = changes._changes
        real = shared.subscribe
        monkeypatch.setattr(shared, "subscribe", lambda d, *a, **k: None if d.name == "c2" else real(d, *a, **k))
        (containers / "c2").mkdir()
        changes.refresh()  # as when fs.inotify.max_user_watches is reached
        assert not changes.complete
        (containers / "c2").rmdir()
        changes.refresh()
        assert changes.complete
    finally:
        changes.close()
