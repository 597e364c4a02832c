"""Builds on Debian: RUN reaches the package mirror (apt-get install), and the debootstrap base image."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runtime.engine import open_engine
from runtime.images.build.bases import BASE_KEY_LABEL, ensure_base
from tests.integration.build.conftest import Builder, remove_default_bridge


@pytest.mark.slow
def test_apt_get_install_in_run(hoist_root: Path, debian_image: str, tmp_path: Path) -> None:
    builder = Builder(hoist_root, tmp_path)
    try:
        built = builder.build(f"FROM {debian_image}\n"
                              "RUN apt-get update -q && apt-get install -y -q --no-install-recommends jq "
                              "&& rm -rf /var/lib/apt/lists/*\n"
                              "RUN jq --version > /jq-version\n")
    finally:
        assert not remove_default_bridge(builder.engine)
    assert builder.read(built.info.id, "/jq-version").startswith("jq-1.")
    assert builder.leftover_containers() == []


@pytest.mark.slow
def test_debian_base_image_is_made_once(hoist_root: Path) -> None:
    engine = open_engine(hoist_root)
    info, made = ensure_base(engine, "debian")
    assert made
    assert sorted(info.tags) == ["docker.io/library/debian:bookworm", "docker.io/library/debian:bookworm-slim"]
    assert info.config.cmd == ["bash"] and BASE_KEY_LABEL in info.config.labels
    from runtime.images.build.rootfs_view import RootfsView

    view = RootfsView(engine.images.rootfs_layers(info.id))
    assert (view.read_text("/etc/debian_version") or "").startswith("12.")
    assert view.stat("/usr/bin/apt-get") is not None
    assert view.listdir("/var/cache/apt/archives") in ([], ["partial"])  # slimmed
    start = time.monotonic()
    again, made_again = ensure_base(engine, "debian")
    assert not made_again and again.id == info.id
    assert time.monotonic() - start < 1.0
