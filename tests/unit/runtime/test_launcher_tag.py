"""The launcher's code tag: another runtime source (edited, upgraded) means another launcher."""

from __future__ import annotations

import os
from pathlib import Path

from runtime import launcher


def _tree(base: Path) -> None:
    for sub in ("", "containers", "network"):
        (base / sub).mkdir(parents=True, exist_ok=True)
        (base / sub / "mod.py").write_text("x = 1\n")


def test_tag_follows_the_sources(tmp_path: Path) -> None:
    _tree(tmp_path)
    first = launcher.sources_tag(tmp_path)
    assert first == launcher.sources_tag(tmp_path) and len(first) == 8
    (tmp_path / "containers" / "mod.py").write_text("x = 22\n")  # edited: size and mtime differ
    edited = launcher.sources_tag(tmp_path)
    assert edited != first
    st = (tmp_path / "network" / "mod.py").stat()
    os.utime(tmp_path / "network" / "mod.py", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # touched
    assert launcher.sources_tag(tmp_path) != edited
    (tmp_path / "notes.txt").write_text("not code")
    (tmp_path / "__pycache__").mkdir()
    assert launcher.sources_tag(tmp_path) == launcher.sources_tag(tmp_path)  # only .py files count


def test_socket_is_named_by_the_tag(tmp_path: Path) -> None:
    assert launcher.socket_path(tmp_path, "0badc0de").name == "launcher-0badc0de.sock"
    assert launcher.socket_path(tmp_path).name == f"launcher-{launcher.code_tag()}.sock"
