"""`hoist push`, `hoist pull` and `up` pulling a missing image, against a throw-away local registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Hoist
from tests.support.registry_server import RegistryServer


@pytest.fixture
def registry() -> Iterator[RegistryServer]:
    server = RegistryServer().start()
    yield server
    server.stop()


def test_push_then_up_pulls_missing_image(hoist_root: Path, busybox_image: str, project_name: str,
                                          tmp_path: Path, registry: RegistryServer) -> None:
    from runtime.engine import open_engine

    ref = f"{registry.host}/demo/app:1"
    engine = open_engine(hoist_root)
    engine.image_tag(busybox_image, ref)
    h = Hoist(hoist_root, tmp_path, project_name)
    h.write(f"""
services:
  app:
    image: {ref}
    network_mode: none
    init: true
    command: ["sleep", "1000"]
""")
    try:
        h("push")
        engine.image_remove(ref)
        assert not engine.image_exists(ref)
        r = h("up", "-d")
        assert f"Image {ref} Pulled" in r.err
        assert engine.image_exists(ref)
        assert h.states() == {f"{project_name}-app-1": "running"}
        h("pull")  # --policy always by default: pulls again, unchanged
        assert "Nothing to do" in h("up", "-d").err
    finally:
        h("down", "-t", "1", check=False)


def test_build_push_pushes_the_image_and_its_build_tags(hoist_root: Path, busybox_image: str, project_name: str,
                                                       tmp_path: Path, registry: RegistryServer) -> None:
    from runtime.engine import open_engine

    image, tag = f"{registry.host}/demo/built:1", f"{registry.host}/demo/built:latest"
    h = Hoist(hoist_root, tmp_path, project_name)
    h.write(f"""
services:
  app:
    image: {image}
    build:
      dockerfile_inline: |
        FROM {busybox_image}
        RUN echo built > /built
      tags: ["{tag}"]
""")
    h("build", "--push")
    from runtime.images.pull import pull_image

    engine = open_engine(hoist_root)
    for ref in (image, tag):
        engine.image_remove(ref)
        pull_image(engine.root, ref)  # it reached the registry: `build --push` pushed it
        assert engine.image_exists(ref)
