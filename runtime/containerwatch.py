"""Waking a thread when a state root's containers may have changed, instead of looking at them on a timer.

Why: ``up --watch`` re-syncs a container that was created, recreated or (re)started since it last looked, and
follows the logs of containers that appear. Looking at every container twice a second cost an idle
``up --watch`` 1-2 % of a core. Each of those changes is an inotify event under the root's containers
directory: a new container's directory appears there (IN_CREATE), and every start, exit and restart replaces
the container's ``status.json`` (IN_MOVED_TO). One event, set by the watch of the containers directory and by
the watches of every container directory's ``status.json`` (runtime/dirwatch.py's shared instance), says
there may be something to see; log writes, the bulk of a busy container's events, wake nobody.

How to use it: ``refresh()`` (watch the container directories that appeared) and ``event.clear()`` before
each look, then look; between looks wait on ``event``. Wait with a timeout: a change nobody writes down (a
supervisor killed outright) is only seen by looking. Stdlib only.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from runtime.containers.status import STATUS_FILE
from runtime.dirwatch import IN_CREATE, DirChanges
from runtime.statuswatch import IN_MOVED_TO


class RootContainerChanges:
    def __init__(self, containers_dir: Path, changes: DirChanges) -> None:
        self.event = threading.Event()
        self._dir = containers_dir
        self._changes = changes
        self._watched: set[str] = set()
        self.complete = True  # every container directory is watched (False: out of inotify watches)
        if changes.subscribe(containers_dir, self.event, mask=IN_CREATE) is None:
            raise OSError(f"cannot watch {containers_dir}")

    def refresh(self) -> None:
        """Watch the status of every container directory there now; drop the watches of removed ones."""
        try:
            present = {e.name for e in os.scandir(self._dir) if e.is_dir(follow_symlinks=False)}
        except OSError:
            present = set()
        self.complete = True
        for name in present - self._watched:
            if self._changes.subscribe(self._dir / name, self.event, names=(STATUS_FILE,), mask=IN_MOVED_TO):
                self._watched.add(name)
            elif (self._dir / name).is_dir():
                self.complete = False  # no watch to be had (fs.inotify.max_user_watches): the caller polls
        for name in self._watched - present:
            self._changes.unsubscribe(self._dir / name, self.event)
        self._watched &= present

    def close(self) -> None:
        for name in self._watched:
            self._changes.unsubscribe(self._dir / name, self.event)
        self._watched.clear()
        self._changes.unsubscribe(self._dir, self.event)


def container_changes(containers_dir: Path) -> RootContainerChanges | None:
    """A ``RootContainerChanges`` of ``containers_dir``, or None where inotify cannot be had (the caller polls)."""
    from runtime import dirwatch

    shared = dirwatch.changes()
    if shared is None:
        return None
    try:
        containers_dir.mkdir(parents=True, exist_ok=True)
        return RootContainerChanges(containers_dir, shared)
    except OSError:
        return None
