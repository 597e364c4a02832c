"""Writing into a container filesystem (here a plain directory standing for the container root): files,
new directories, deletions, symlinks that must resolve inside the root, modes/mtimes, unchanged skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compose.watch.sync import ContainerFS


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "container"
    (r / "app").mkdir(parents=True)
    (r / "etc").mkdir()
    return r


@pytest.fixture
def host(tmp_path: Path) -> Path:
    h = tmp_path / "host"
    (h / "pkg" / "sub").mkdir(parents=True)
    (h / "main.py").write_text("print(1)\n")
    (h / "pkg" / "sub" / "deep.txt").write_text("deep\n")
    os.chmod(h / "main.py", 0o751)
    return h


def fs_of(root: Path) -> ContainerFS:
    return ContainerFS(str(root), os.getuid(), os.getgid())


def test_put_file_creates_parents_and_keeps_mode_and_mtime(root: Path, host: Path) -> None:
    with fs_of(root) as fs:
        fs.put(str(host / "main.py"), "/app/new/dir/main.py")
    out = root / "app/new/dir/main.py"
    assert out.read_text() == "print(1)\n"
    assert (out.stat().st_mode & 0o777) == 0o751
    assert out.stat().st_mtime_ns == (host / "main.py").stat().st_mtime_ns
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_put_replaces_content_and_remove_deletes_files_and_trees(root: Path, host: Path) -> None:
    (root / "app/main.py").write_text("old and longer\n")
    with fs_of(root) as fs:
        fs.put(str(host / "main.py"), "/app/main.py")
        assert (root / "app/main.py").read_text() == "print(1)\n"
        fs.sync_tree(str(host / "pkg"), "/app/pkg", lambda p: True)
        assert (root / "app/pkg/sub/deep.txt").read_text() == "deep\n"
        assert fs.remove("/app/pkg") and not (root / "app/pkg").exists()
        assert fs.remove("/app/main.py") and not (root / "app/main.py").exists()
        assert not fs.remove("/app/missing.py") and not fs.remove("/nowhere/x")


def test_absolute_symlinks_resolve_inside_the_container_root(root: Path, host: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "srv").symlink_to(str(outside))  # absolute: means <root>/<outside> in the container, not the host
    (root / str(outside).lstrip("/")).mkdir(parents=True)
    (root / "up").symlink_to("../../..")
    with fs_of(root) as fs:
        fs.put(str(host / "main.py"), "/srv/main.py")
        fs.put(str(host / "main.py"), "/up/escaped.py")
    assert not (outside / "main.py").exists()
    assert (root / str(outside).lstrip("/") / "main.py").exists()
    assert (root / "escaped.py").exists()  # ".." stops at the container root


def test_sync_tree_skips_unchanged_files_and_respects_accept(root: Path, host: Path) -> None:
    (host / "skip.log").write_text("no\n")
    with fs_of(root) as fs:
        first = fs.sync_tree(str(host), "/app", lambda p: not p.endswith(".log"))
        second = fs.sync_tree(str(host), "/app", lambda p: not p.endswith(".log"))
        # Same content with another mtime (as an image build leaves it) counts as unchanged too.
        os.utime(root / "app/main.py", (1, 1))
        third = fs.sync_tree(str(host), "/app", lambda p: not p.endswith(".log"))
        (host / "main.py").write_text("print(2)\n")
        fourth = fs.sync_tree(str(host), "/app", lambda p: not p.endswith(".log"))
    assert (first.copied, second.copied, second.skipped, third.copied, fourth.copied) == (2, 0, 2, 0, 1)
    assert not (root / "app/skip.log").exists()
    assert (root / "app/main.py").read_text() == "print(2)\n"


def test_symlinks_are_copied_as_symlinks(root: Path, host: Path) -> None:
    (host / "link").symlink_to("main.py")
    with fs_of(root) as fs:
        fs.put(str(host / "link"), "/app/link")
    assert os.readlink(root / "app/link") == "main.py"


def test_a_file_in_the_way_of_a_directory_is_an_error(root: Path, host: Path) -> None:
    (root / "app/blocker").write_text("file")
    with fs_of(root) as fs, pytest.raises(OSError, match="not a directory"):
        fs.put(str(host / "main.py"), "/app/blocker/main.py")
