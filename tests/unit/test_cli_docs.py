"""docs/cli.md is generated from the argument parser (scripts/gen_cli_docs.py) and must match it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent.parent


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", REPO / "scripts" / "gen_cli_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_cli_docs", module)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date() -> None:
    gen = _generator()
    committed = (REPO / "docs" / "cli.md").read_text()
    assert gen.render() == committed, "docs/cli.md is out of date: run .venv/bin/python scripts/gen_cli_docs.py"


def test_reference_covers_every_command_and_flag() -> None:
    from compose.cli.main import COMMANDS

    text = _generator().render()
    for name in COMMANDS:
        assert f"\n### hoist {name}\n" in text
    # Group commands document their sub-commands, and flags appear with their values.
    assert "\n#### hoist image build\n" in text
    assert "| `--scale` `SERVICE=NUM` |" in text
    assert "`--wait`" in text


def test_reference_does_not_depend_on_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    gen = _generator()
    clean = gen.render()
    monkeypatch.setenv("COMPOSE_PROGRESS", "plain")
    monkeypatch.setenv("DOCKER_DEFAULT_PLATFORM", "linux/arm64")
    monkeypatch.setenv("COLUMNS", "40")
    assert gen.render() == clean


def test_check_mode_reports_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    gen = _generator()
    stale = tmp_path / "cli.md"
    stale.write_text("# old\n")
    monkeypatch.setattr(gen, "OUTPUT", stale)
    monkeypatch.setattr(gen, "REPO", tmp_path)
    assert gen.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0
