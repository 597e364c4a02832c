"""`hoist image rm|prune` consult the container records: an image a container uses is never deleted."""

from __future__ import annotations

from pathlib import Path

from runtime.api import ContainerSpec
from runtime.images.store import ImageStore
from tests.support.cli import Hoist


def test_rm_and_prune_respect_containers(hoist_root: Path, busybox_image: str, project_name: str,
                                         tmp_path: Path) -> None:
    from runtime.engine import open_engine

    engine = open_engine(hoist_root)
    engine.container_create(ContainerSpec(name=f"{project_name}-user", image=busybox_image, command=["true"],
                                          network_mode="none"))
    hoist = Hoist(hoist_root, tmp_path, project_name)
    try:
        refused = hoist("image", "rm", busybox_image, check=False)
        assert refused.rc == 1 and "being used by a container" in refused.err
        assert "Total reclaimed space: 0B" in hoist("image", "prune", "-a", "-f").out
        assert hoist("image", "rm", "-f", busybox_image).out.strip() == "Untagged: busybox:latest"
        (left,) = ImageStore(hoist_root).list()
        assert left.tags == [] and ImageStore(hoist_root).rootfs_layers(left.id)[0].is_dir()
    finally:
        engine.container_remove(f"{project_name}-user", force=True)
    assert f"deleted: {left.id}" in hoist("image", "prune", "-f").out
    assert ImageStore(hoist_root).list() == []
