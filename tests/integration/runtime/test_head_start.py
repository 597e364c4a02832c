"""The engine makes a container's cgroups (and starts paying their first attach's grace period) while it
asks for a supervisor: nothing of that may outlive a failed start, nor be made while a previous run's
supervisor still owns the container, nor be taken from a supervisor that owns it now."""

from __future__ import annotations

import os
import shutil

import pytest

from runtime.api import ContainerSpec
from runtime.containers.cgroups import ContainerCgroups
from runtime.containers.head_start import cgroup_head_start
from runtime.containers.status import try_own
from runtime.errors import SetupError
from tests.integration.runtime.conftest import wait_for


def _created(engine, busybox_image: str, name: str, command: list[str]) -> tuple[str, ContainerCgroups]:
    state = engine.container_create(ContainerSpec(name=name, image=busybox_image, command=command,
                                                  network_mode="none"))
    return state.id, ContainerCgroups(engine.root, state.id)


def test_a_start_that_fails_in_the_supervisor_leaves_no_cgroups(engine, busybox_image, unique_id):
    cid, cgroups = _created(engine, busybox_image, f"hf{unique_id}", ["/no/such/binary"])
    with pytest.raises(SetupError, match="exec"):
        engine.container_start(cid)
    assert not cgroups.exists()


def test_a_request_that_fails_takes_the_head_start_away(engine, busybox_image, unique_id):
    cid, cgroups = _created(engine, busybox_image, f"hr{unique_id}", ["true"])
    with pytest.raises(ConnectionRefusedError):
        with cgroup_head_start(cgroups, engine.container_dir(cid)):
            wait_for(cgroups.exists, what="the head start's directories")
            raise ConnectionRefusedError("as if the launcher could not be reached")
    assert not cgroups.exists()


def test_nothing_is_made_while_a_supervisor_owns_the_container(engine, busybox_image, unique_id):
    cid, cgroups = _created(engine, busybox_image, f"ho{unique_id}", ["true"])
    held = try_own(engine.container_dir(cid))  # a previous run's supervisor in its cleanup
    assert held is not None
    try:
        with cgroup_head_start(cgroups, engine.container_dir(cid)):
            assert not cgroups.exists()
    finally:
        os.close(held)
    assert not cgroups.exists()


def test_a_failed_request_leaves_the_cgroups_of_a_supervisor_that_owns_them(engine, busybox_image, unique_id):
    cid, cgroups = _created(engine, busybox_image, f"hc{unique_id}", ["true"])
    cdir = engine.container_dir(cid)
    held = None
    try:
        with pytest.raises(ConnectionRefusedError):
            with cgroup_head_start(cgroups, cdir):
                wait_for(cgroups.exists, what="the head start's directories")
                held = try_own(cdir)  # a concurrent start's supervisor took the container meanwhile
                assert held is not None
                raise ConnectionRefusedError("this start's own request failed")
        assert cgroups.exists()
    finally:
        if held is not None:
            os.close(held)
        cgroups.remove()


def test_a_container_removed_meanwhile_leaves_no_cgroups(engine, busybox_image, unique_id):
    cid, cgroups = _created(engine, busybox_image, f"hm{unique_id}", ["true"])
    cdir = engine.container_dir(cid)
    with pytest.raises(SetupError):
        with cgroup_head_start(cgroups, cdir):
            wait_for(cgroups.exists, what="the head start's directories")
            # A concurrent rm whose cgroup removal came before these directories were made: only its
            # last step, the container's directory going, is left to see.
            shutil.rmtree(cdir)
            raise SetupError("the supervisor exited without reporting", step="start")
    assert not cgroups.exists()
