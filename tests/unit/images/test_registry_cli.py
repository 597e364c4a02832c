"""The CLI side of the registry commands: argument meaning, server names, progress rendering."""

from __future__ import annotations

import argparse

import pytest

from compose.cli import main as cli_main
from compose.cli.commands import image_registry
from runtime.images.transfer import TransferEvent


@pytest.mark.parametrize("given, expected", [
    (None, "docker.io"), ("https://index.docker.io/v1/", "docker.io"), ("registry-1.docker.io", "docker.io"),
    ("https://localhost:5000/v2/", "localhost:5000"), ("reg.example:443", "reg.example:443"),
])
def test_server_name(given: str | None, expected: str) -> None:
    assert image_registry.server_name(given) == expected


def test_login_flags_win_over_global_short_flags() -> None:
    args = cli_main.build_parser().parse_args(["login", "-u", "me", "-p", "pw", "reg:5000"])
    assert (args.username, args.password, args.server, args.password_stdin) == ("me", "pw", "reg:5000", False)
    args = cli_main.build_parser().parse_args(["image", "pull", "--platform", "linux/arm64", "-q", "busybox"])
    assert (args.image_command, args.platform, args.quiet, args.name) == ("pull", "linux/arm64", True, "busybox")
    args = cli_main.build_parser().parse_args(["image", "push", "-a", "reg:5000/x"])
    assert (args.image_command, args.all_tags, args.name) == ("push", True, "reg:5000/x")


def test_password_stdin_needs_a_user(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("HOIST_ROOT", str(tmp_path))
    code = cli_main.main(["login", "--password-stdin", "reg.example:5000"])
    assert code == 1
    assert "must provide --username with --password-stdin" in capsys.readouterr().err
    assert not (tmp_path / "auth.json").exists()


def test_logout_when_not_logged_in(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("HOIST_ROOT", str(tmp_path))
    assert cli_main.main(["logout", "reg.example:5000"]) == 0
    assert capsys.readouterr().out.strip() == "Not logged in to reg.example:5000"


@pytest.mark.parametrize("flags, tty, mode", [
    ({"quiet": True}, True, "quiet"), ({"progress": "quiet"}, True, "quiet"), ({"progress": "plain"}, True, "plain"),
    ({"progress": "auto"}, False, "plain"), ({"progress": "auto"}, True, "tty"), ({"progress": "tty"}, False, "tty"),
])
def test_display_mode(monkeypatch, flags: dict, tty: bool, mode: str) -> None:
    monkeypatch.setattr("sys.stdout.isatty", lambda: tty)
    assert image_registry._mode(argparse.Namespace(**{"quiet": False, "progress": "auto", **flags})) == mode


EVENTS = [
    TransferEvent("1", "Pulling from x"),
    TransferEvent("aaaaaaaaaaaa", "Pulling fs layer", 0, 100),
    TransferEvent("aaaaaaaaaaaa", "Downloading", 50, 100),
    TransferEvent("aaaaaaaaaaaa", "Downloading", 100, 100),
    TransferEvent("aaaaaaaaaaaa", "Download complete", 100, 100),
    TransferEvent("aaaaaaaaaaaa", "Pull complete", 100, 100),
    TransferEvent("", "Status: Downloaded newer image for x:1"),
]


def test_plain_display_prints_status_changes_without_byte_counts(capsys) -> None:
    with image_registry.TransferDisplay("plain") as display:
        for event in EVENTS:
            display.event(event)
    assert capsys.readouterr().out.splitlines() == [
        "1: Pulling from x", "aaaaaaaaaaaa: Pulling fs layer", "aaaaaaaaaaaa: Download complete",
        "aaaaaaaaaaaa: Pull complete", "Status: Downloaded newer image for x:1"]


def test_quiet_display_prints_nothing(capsys) -> None:
    with image_registry.TransferDisplay("quiet") as display:
        for event in EVENTS:
            display.event(event)
    assert capsys.readouterr().out == ""


def test_tty_display_draws_bars(capsys) -> None:
    with image_registry.TransferDisplay("tty") as display:
        for event in EVENTS:
            display.event(event)
    out = capsys.readouterr().out
    assert "aaaaaaaaaaaa: Pull complete" in out and "Status: Downloaded newer image for x:1" in out
