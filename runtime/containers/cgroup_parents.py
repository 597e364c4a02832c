"""Which levels of users' ``cgroup_parent`` paths hoist made, so that they go again with their last container.

A container with ``cgroup_parent: apps/web`` lives in ``<hierarchy>/apps/web/<id>``. Docker leaves the
parent behind when the container goes; hoist removes what it made (and only that: a parent the user made,
perhaps with limits of its own, stays). The note is one empty file per made directory under a host-wide
directory in /run (cgroups and /run both end with the boot), and every note and prune holds one host-wide
lock, so a container being set up in a parent while another one's removal prunes it never leaves a made
directory un-noted: a prune that wins makes the setup's next mkdir fail and retry, and note again.
Stdlib only: supervisors use this module.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from runtime import filelock

NOTES = Path("/run/hoist-cgroup-parents")
LOCK = Path("/run/lock/hoist-cgroup-parents.lock")


def _note_path(directory: Path) -> Path:
    return NOTES / str(directory).replace("%", "%25").replace("/", "%2F")


def make_levels(hierarchy: Path, relative: str) -> list[Path]:
    """Make each missing level of ``relative`` under ``hierarchy``; returns every level, top first."""
    levels: list[Path] = []
    level = hierarchy
    with filelock.exclusive(LOCK):
        for part in relative.split("/"):
            level = level / part
            try:
                level.mkdir()
            except FileExistsError:
                pass
            else:
                NOTES.mkdir(mode=0o700, exist_ok=True)
                _note_path(level).touch()
            levels.append(level)
    return levels


def made_by_hoist(directory: Path) -> bool:
    return _note_path(directory).exists()


def prune(directory: Path) -> None:
    """Remove ``directory`` and its ancestors, bottom up, while each is empty and was made by hoist."""
    with filelock.exclusive(LOCK):
        while made_by_hoist(directory):
            try:
                directory.rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EBUSY):
                    return  # another container (or the user's own cgroup) still lives in it
                raise
            _note_path(directory).unlink(missing_ok=True)
            directory = directory.parent
        try:
            os.rmdir(NOTES)  # the last note gone: leave nothing behind in /run either
        except OSError:
            pass
