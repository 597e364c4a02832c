"""``hoist image build`` and ``hoist image base busybox`` through the CLI entry point."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from compose.cli.main import main
from runtime.engine import open_engine
from runtime.images.build.bases import BASE_KEY_LABEL, apt_mirror
from tests.integration.build.conftest import remove_default_bridge


@pytest.fixture
def no_bridge_left(hoist_root: Path) -> Iterator[None]:
    yield
    assert not remove_default_bridge(open_engine(hoist_root)), "a build left the default bridge network behind"


def test_image_build_flags(hoist_root: Path, busybox_image: str, tmp_path: Path, no_bridge_left: None,
                           capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    monkeypatch.chdir(tmp_path)  # -f is relative to the current directory, as in docker build
    (ctx / "build.Dockerfile").write_text(
        "FROM busybox:latest AS base\nARG WHO\nRUN echo \"hi $WHO\" > /who.txt && grep -q myhost /etc/hosts "
        "&& cat /etc/hosts | grep myhost\n"
        "RUN df -k /dev/shm | tail -1 | awk '{print $2}' > /shm.txt\nFROM base AS other\nRUN exit 1\n")
    code = main(["image", "build", "-q", "-t", "cli/app:1", "-t", "cli/app:latest", "-f", "ctx/build.Dockerfile",
                 "--build-arg", "WHO=cli", "--target", "base", "--label", "a=b", "--network", "host",
                 "--add-host", "myhost:10.1.2.3", "--shm-size", "8m", "--no-cache", str(ctx)])
    out = capsys.readouterr()
    assert code == 0, out.err
    image_id = out.out.strip()
    assert image_id.startswith("sha256:") and out.err == ""  # -q: only the id
    engine = open_engine(hoist_root)
    info = engine.image_inspect("cli/app:1")
    assert info.id == image_id and sorted(info.tags) == ["docker.io/cli/app:1", "docker.io/cli/app:latest"]
    assert info.config.labels == {"a": "b"}
    from runtime.images.build.rootfs_view import RootfsView

    view = RootfsView(engine.images.rootfs_layers(image_id))
    assert view.read_text("/who.txt") == "hi cli\n"
    assert view.read_text("/shm.txt") == "8192\n"

    # Plain progress on stderr without -q, steps marked CACHED on the rebuild.
    code = main(["--progress", "plain", "image", "build", "-t", "cli/app:1", "-f", "ctx/build.Dockerfile",
                 "--build-arg", "WHO=cli", "--target", "base", "--label", "a=b", "--network=host", "--add-host",
                 "myhost:10.1.2.3", "--shm-size", "8m", str(ctx)])
    out = capsys.readouterr()
    assert code == 0
    assert "#3 CACHED" in out.err and "Successfully tagged cli/app:1" in out.err

    # A Dockerfile error: message with file and line, no traceback, exit code 1.
    (ctx / "Dockerfile").write_text("FROM busybox:latest\nCOPY\n")
    assert main(["image", "build", str(ctx)]) == 1
    err = capsys.readouterr().err
    assert "Dockerfile:2: COPY requires at least two arguments" in err and "Traceback" not in err


def test_image_base_busybox_is_cached(hoist_root: Path, no_bridge_left: None,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["image", "base", "busybox"]) == 0
    first = capsys.readouterr().out
    assert main(["image", "base", "busybox"]) == 0
    second = capsys.readouterr().out
    assert first.startswith("Made: busybox") and second.startswith("Up to date: busybox")
    info = open_engine(hoist_root).image_inspect("busybox:latest")
    assert BASE_KEY_LABEL in info.config.labels and info.config.cmd == ["sh"]
    # The base builds and runs: sh and applets in /usr/bin resolve.
    from runtime.images.build.builder import BuildRequest, build

    ctx = hoist_root.parent / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox:latest\nRUN /usr/bin/env true && /sbin/ifconfig -a >/dev/null "
                                    "&& echo ok > /ok\n")
    engine = open_engine(hoist_root)
    built = build(engine, BuildRequest(context=ctx))
    from runtime.images.build.rootfs_view import RootfsView

    assert len(built.layers) == 2
    assert RootfsView(engine.images.rootfs_layers(built.id)).read_text("/ok") == "ok\n"


def test_apt_mirror_comes_from_the_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n")
    assert apt_mirror(tmp_path) == "http://mirror.example/debian"
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "sources.list").write_text("deb [arch=amd64] http://old.example/debian bookworm main\n")
    assert apt_mirror(legacy) == "http://old.example/debian"
