"""The local volume store: create is idempotent, names are checked, in-use volumes are kept."""

from __future__ import annotations

import pytest

from runtime.api import VolumeSpec
from runtime.errors import Conflict, InvalidSpec, NotFound
from runtime.state import StateDB
from runtime.volumes import ANONYMOUS_LABEL, VolumeStore, labels_match


def test_create_inspect_list_remove(tmp_path):
    store = VolumeStore(tmp_path, StateDB(tmp_path))
    info, new = store.create(VolumeSpec(name="data", labels={"a": "1"}))
    assert new and info.mountpoint == str(tmp_path / "volumes" / "data" / "_data")
    again, new = store.create(VolumeSpec(name="data"))
    assert not new and again.labels == {"a": "1"}
    anon, _ = store.create(VolumeSpec(name=""))
    assert len(anon.name) == 64 and ANONYMOUS_LABEL in anon.labels
    assert [v.name for v in store.list({"a": "1"})] == ["data"]
    with pytest.raises(Conflict):
        store.remove("data", users=["web"])
    store.remove("data", users=[])
    with pytest.raises(NotFound):
        store.inspect("data")
    assert not (tmp_path / "volumes" / "data").exists()


def test_bad_names_and_drivers(tmp_path):
    store = VolumeStore(tmp_path, StateDB(tmp_path))
    for spec in (VolumeSpec(name="-x"), VolumeSpec(name="a/b"), VolumeSpec(name="v", driver="nfs")):
        with pytest.raises(InvalidSpec):
            store.create(spec)


def test_label_filter():
    assert labels_match({"a": "1", "b": ""}, {"a": "1", "b": None})
    assert not labels_match({"a": "1"}, {"a": "2"})
    assert not labels_match({}, {"a": None})


def test_family_lock_excludes_other_processes(tmp_path):
    import fcntl
    import os

    db = StateDB(tmp_path)
    with db.family_lock("volumes"):
        fd = os.open(tmp_path / "locks" / "volumes.lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(tmp_path / "locks" / "volumes.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on exit
    os.close(fd)
