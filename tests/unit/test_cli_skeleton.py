"""The CLI skeleton: version, help, global flags, the `compose` alias, and a lean start-up."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from compose.cli.main import build_parser, main, normalize_argv

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "hoist version v0.1.0"


def test_version_command_short_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version", "--short"]) == 0
    assert capsys.readouterr().out.strip() == "0.1.0"
    assert main(["version", "--format", "json"]) == 0
    assert '"version": "v0.1.0"' in capsys.readouterr().out


def test_compose_alias_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    assert normalize_argv(["compose", "version"]) == ["version"]
    assert normalize_argv(["-p", "x", "compose", "ps"]) == ["-p", "x", "ps"]
    # A service named "compose" after the command is left alone.
    assert normalize_argv(["logs", "compose"]) == ["logs", "compose"]
    assert main(["compose", "version", "--short"]) == 0
    assert capsys.readouterr().out.strip() == "0.1.0"


def test_global_flags_parse_before_and_after_the_command() -> None:
    parser = build_parser()
    args = parser.parse_args(["-f", "a.yml", "-f", "b.yml", "-p", "demo", "--project-directory", "/tmp",
                              "--profile", "dev", "--env-file", ".env.local", "--progress", "plain",
                              "--ansi", "never", "--root", "/tmp/r", "version"])
    assert args.files == ["a.yml", "b.yml"]
    assert (args.project_name, args.project_directory, args.profiles) == ("demo", "/tmp", ["dev"])
    assert (args.env_files, args.progress, args.ansi, args.root) == ([".env.local"], "plain", "never", "/tmp/r")
    after = parser.parse_args(["-p", "before", "version", "-p", "after"])
    assert after.project_name == "after"
    kept = parser.parse_args(["-p", "before", "version"])
    assert kept.project_name == "before"


def test_help_lists_commands_and_global_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--file", "--project-name", "--project-directory", "--profile", "--env-file", "--progress",
                 "--ansi", "--root"):
        assert flag in out
    assert "version" in out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def _imported_modules(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                         cwd=PROJECT_DIR, check=True)
    return {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}


def test_cli_import_stays_lean() -> None:
    mods = _imported_modules("import compose.cli.main; compose.cli.main.build_parser()")
    for heavy in ("networkx", "pyroute2", "jsonschema", "rich", "yaml"):
        assert heavy not in mods, f"{heavy} imported at CLI start-up"


def test_version_process_is_fast() -> None:
    cmd = [sys.executable, "-m", "compose.cli.main", "--version"]
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=PROJECT_DIR)
        timings.append(time.perf_counter() - started)
    # The budget is 100 ms; allow for a loaded CI machine running tests in parallel.
    assert sorted(timings)[len(timings) // 2] < 0.25


def test_go_style_boolean_flags() -> None:
    from compose.cli.parsers import go_bool_argv

    assert go_bool_argv(["commit", "--pause=false", "c1"], ["commit", "--pause=false", "c1"]) == \
        ["commit", "--no-pause", "c1"]
    assert go_bool_argv(["container", "attach", "--sig-proxy=true", "c"], ["container", "attach"]) == \
        ["container", "attach", "--sig-proxy", "c"]
    assert go_bool_argv(["ps", "--orphans=0"], ["ps"]) == ["ps", "--no-orphans"]
    # a value that is no boolean is argparse's to refuse; a user's command line is never touched
    assert go_bool_argv(["ps", "--orphans=maybe"], ["ps"]) == ["ps", "--orphans=maybe"]
    assert go_bool_argv(["exec", "web", "x", "--pause=false"], ["exec"]) == ["exec", "web", "x", "--pause=false"]


def test_commit_takes_p_without_a_value_as_docker_does() -> None:
    from compose.cli.main import build_parser
    from compose.cli.parsers import go_bool_argv

    parser = build_parser(only="commit")
    args = parser.parse_args(["commit", "-p", "web", "repo:tag"])
    assert (args.pause, args.service, args.repository) == (True, "web", "repo:tag")
    args = parser.parse_args(go_bool_argv(["commit", "--pause=false", "web"], ["commit"]))
    assert args.pause is False
