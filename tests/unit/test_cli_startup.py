"""What a CLI process does before its command runs: the lazily built parsers, argparse's translations, the GC."""

from __future__ import annotations

import argparse
import gc
import gettext
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compose.cli import main as cli_main
from compose.cli import parsers
from compose.cli.commands import container

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _container_subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    cmd = top.choices["container"]
    sub = next(a for a in cmd._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """The parser's own flags (-h/--help comes with every parser)."""
    return {s for a in parser._actions for s in a.option_strings} - {"-h", "--help"}


def test_only_the_invoked_sub_command_gets_its_flags() -> None:
    parser = cli_main.build_parser(only="container")
    subs = _container_subparsers(parser)
    assert not _option_strings(subs["run"]) and not _option_strings(subs["exec"])  # nothing built yet
    args = parser.parse_args(["container", "run", "--rm", "--network", "none", "-e", "A=1", "busybox", "true"])
    assert (args.rm, args.network, args.env, args.image, args.command) == (True, "none", ["A=1"], "busybox",
                                                                           ["true"])
    assert "--health-cmd" in _option_strings(subs["run"])
    assert not _option_strings(subs["create"]) and not _option_strings(subs["exec"])


def test_aliases_share_one_lazily_built_parser() -> None:
    parser = cli_main.build_parser(only="container")
    args = parser.parse_args(["container", "ps", "-a", "--filter", "label=x"])
    assert args.container_command == "ps" and args.all and args.filter == ["label=x"]
    subs = _container_subparsers(parser)
    assert subs["ls"] is subs["ps"] is subs["list"]


def test_the_full_parser_has_every_sub_command_built() -> None:
    subs = _container_subparsers(cli_main.build_parser())
    assert {"--rm", "--health-cmd", "--network"} <= _option_strings(subs["run"])
    assert "--privileged" in _option_strings(subs["exec"]) and "--force" in _option_strings(subs["prune"])


def test_lazy_and_eager_sub_parsers_print_the_same_help_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    def outputs(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[str, str, object]:
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(argv)
        captured = capsys.readouterr()
        return captured.out, captured.err, exc.value.code

    for argv in (["container", "run", "--help"], ["container", "stop"], ["container", "bogus"],
                 ["container", "exec", "-h"], ["container", "run", "--cpus", "x", "busybox"]):
        eager = cli_main.build_parser()
        lazy = cli_main.build_parser(only="container")
        assert outputs(lazy, argv) == outputs(eager, argv), argv


def test_a_lazy_parser_builds_itself_for_usage_and_defaults() -> None:
    parser = argparse.ArgumentParser(prog="t")
    sub = parser.add_subparsers(dest="cmd", parser_class=parsers.LazyParser)
    calls: list[str] = []

    def populate(p: argparse.ArgumentParser) -> None:
        calls.append("x")
        p.add_argument("--size", default="7")

    lazy = sub.add_parser("x", populate=populate)
    assert lazy.get_default("size") == "7"
    assert "--size" in lazy.format_usage() and "--size" in lazy.format_help()
    assert calls == ["x"]  # built once


def test_top_level_parser_skips_other_commands_but_help_lists_all(capsys: pytest.CaptureFixture[str]) -> None:
    top = next(a for a in cli_main.build_parser(only="ps")._actions if isinstance(a, argparse._SubParsersAction))
    assert set(top.choices) == {"ps"}
    # Help asked for before the command word is the top-level help: it needs (and lists) every command.
    assert cli_main.invoked_command(["-h", "ps"]) is None
    with pytest.raises(SystemExit):
        cli_main.main(["-h", "ps"])
    out = capsys.readouterr().out
    assert "  up " in out and "  container " in out and "  ps " in out


def test_cached_translations_answer_as_gettext_does() -> None:
    parsers.cache_translations()
    parsers.cache_translations()  # idempotent: one wrapper, not a chain
    assert argparse._.__wrapped__ is gettext.gettext  # type: ignore[attr-defined]
    for message in ("usage: ", "positional arguments", "options", None):
        assert argparse._(message) == gettext.gettext(message)  # type: ignore[attr-defined]


def test_translation_memo_is_keyed_by_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    answers = {"C": "options", "de": "Optionen"}
    monkeypatch.setattr(argparse, "_", lambda m: answers[os.environ.get("LANGUAGE", "C")])
    monkeypatch.setattr(parsers, "_translations", {})
    monkeypatch.delenv("LANGUAGE", raising=False)
    parsers.cache_translations()
    assert argparse._("options") == "options"  # type: ignore[attr-defined]
    monkeypatch.setenv("LANGUAGE", "de")
    assert argparse._("options") == "Optionen"  # type: ignore[attr-defined]


def test_in_process_main_leaves_the_gc_alone() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    assert cli_main.main(["version"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_the_cli_process_runs_its_command_with_the_gc_on_and_start_up_frozen(tmp_path: Path) -> None:
    # A command module that reports the GC state it runs with, registered for this one process.
    code = (
        "import gc, sys, types\n"
        "from compose.cli import main as m\n"
        "mod = types.ModuleType('compose.cli.commands.gcprobe')\n"
        "mod.HELP = 'probe'\n"
        "mod.add_arguments = lambda p: None\n"
        "mod.run = lambda a: print(gc.isenabled(), gc.get_freeze_count() > 1000) or 0\n"
        "sys.modules[mod.__name__] = mod\n"
        "m.COMMANDS['gcprobe'] = 'gcprobe'\n"
        "sys.argv = ['hoist', 'gcprobe']\n"
        "gc_was = gc.isenabled()\n"
        "rc = m.main()\n"
        "print(gc_was, rc)\n"
    )
    # HOIST_FULL_EXIT: main() returns (the lines after it run), as the interpreter's own exit needs.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_DIR,
                         env={**os.environ, "HOIST_FULL_EXIT": "1"}, check=True).stdout.split()
    assert out == ["True", "True", "True", "0"]


def test_the_cli_process_ends_right_after_its_command_with_atexit_run_and_output_flushed(tmp_path: Path) -> None:
    # Without HOIST_FULL_EXIT the process ends inside main() (no module teardown): the command's exit code is
    # the process's, buffered output is flushed, non-daemon threads are waited for and atexit handlers run.
    code = (
        "import atexit, sys, threading, time, types\n"
        "from compose.cli import main as m\n"
        "def run(args):\n"
        "    print('output')\n"
        "    atexit.register(lambda: print('atexit'))\n"
        "    threading.Thread(target=lambda: (time.sleep(0.2), print('thread'))).start()\n"
        "    return 3\n"
        "mod = types.ModuleType('compose.cli.commands.exitprobe')\n"
        "mod.HELP = 'probe'\n"
        "mod.add_arguments = lambda p: None\n"
        "mod.run = run\n"
        "sys.modules[mod.__name__] = mod\n"
        "m.COMMANDS['exitprobe'] = 'exitprobe'\n"
        "sys.argv = ['hoist', 'exitprobe']\n"
        "m.main()\n"
        "print('after main')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HOIST_FULL_EXIT"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_DIR, env=env)
    assert (proc.returncode, proc.stdout.split()) == (3, ["output", "thread", "atexit"]), proc.stderr


def test_container_sub_command_table_matches_the_dispatch() -> None:
    names = {name for name, *_ in container._SUBCOMMAND_PARSERS}
    for name in names:
        assert hasattr(container, f"_cmd_{name}"), name
