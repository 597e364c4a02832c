"""The engine's head start on a container's cgroups while it asks the launcher for a supervisor.

The first attach to a cgroup waits out an RCU grace period (~10 ms, see ``ContainerCgroups.prime_attach``).
The supervisor can only begin paying it once the cgroup directories exist, since mkdir and the priming
write both take the kernel's cgroup_mutex, and it gets there several milliseconds after the engine asked
for the start. So the engine makes the directories and starts the grace period first; the supervisor
makes them again under its owner lock (mkdir of an existing directory is a no-op that never reaches the
cgroup code) and finds the attach of PID 1 cheap. Stdlib only.

Only a container no supervisor owns gets a head start: while a previous run's supervisor is still removing
its cgroups, the new run must wait for it with nothing made. A start that fails takes the directories away
again, unless a supervisor owns the container (a concurrent start: they are its cgroups now); if the
container's directory is gone (a concurrent rm), they go too. A start killed in between leaves them to
``rm``, which removes a container's cgroups in any case.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.containers.cgroups import ContainerCgroups
from runtime.containers.status import try_own


@contextmanager
def cgroup_head_start(cgroups: ContainerCgroups, container_dir: Path) -> Iterator[None]:
    """Around the engine's start request: the block's normal end means the container started."""
    if not _unowned(container_dir):
        # A previous run's supervisor is still in its cleanup (which removes the cgroups and kills what is
        # in them), or the container is gone: nothing of the new run may exist before it is done.
        yield
        return
    # In a thread, while this one asks the launcher: only a head start, so a failure is left to the
    # supervisor, which makes the directories itself and reports what fails, with its step.
    priming = cgroups.prime_attach(make_dirs_first=True)
    started = False
    try:
        yield
        started = True
    finally:
        if priming is not None:
            priming.join()  # bounded by one grace period, and usually over long before the start is
        if not started:
            _discard_unless_owned(cgroups, container_dir)


def _unowned(container_dir: Path) -> bool:
    """No supervisor owns the container now; any that takes it later is a new run, which makes the same
    directories after taking the owner lock."""
    try:
        owner = try_own(container_dir)
    except FileNotFoundError:
        return False
    if owner is None:
        return False
    os.close(owner)
    return True


def _discard_unless_owned(cgroups: ContainerCgroups, container_dir: Path) -> None:
    try:
        owner = try_own(container_dir)
    except FileNotFoundError:
        owner = None  # the container was removed meanwhile: no supervisor can run it any more
    else:
        if owner is None:
            return  # a supervisor owns the container: it removes its cgroups when it is done
    try:
        cgroups.remove()
    except OSError:
        pass  # rm removes them in any case
    finally:
        if owner is not None:
            os.close(owner)
