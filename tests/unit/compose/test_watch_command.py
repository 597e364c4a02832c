"""`hoist watch` flags as compose has them, and which services get watched."""

from __future__ import annotations

import pytest

from compose.cli.main import COMMANDS, build_parser
from compose.errors import UsageError
from compose.model import Develop, Project, Service, WatchRule
from compose.watch.session import watched_services


def parse(*argv: str):  # type: ignore[no-untyped-def]
    return build_parser(only=argv[0]).parse_args(list(argv))


def test_flags() -> None:
    assert COMMANDS["watch"] == "watch"
    args = parse("watch")
    assert (args.no_up, args.prune, args.quiet, args.services) == (False, True, False, [])
    args = parse("watch", "--no-up", "--prune=false", "--quiet", "web")
    assert (args.no_up, args.prune, args.quiet, args.services) == (True, False, True, ["web"])
    assert parse("watch", "--prune").prune is True
    assert parse("up", "--watch").watch is True and parse("up", "-w").watch is True
    assert parse("up").watch is False


def _project() -> Project:
    rule = WatchRule(path="/w/app", action="sync", target="/app")
    return Project(name="p", working_dir="/w", services={
        "web": Service(name="web", image="i", develop=Develop(watch=[rule])),
        "db": Service(name="db", image="i")})


def test_only_services_with_rules_are_watched() -> None:
    assert watched_services(_project(), []) == ["web"]
    assert watched_services(_project(), ["web", "db"]) == ["web"]
    with pytest.raises(UsageError, match="none of the selected services is configured for watch"):
        watched_services(_project(), ["db"])
    with pytest.raises(UsageError, match="no such service: nope"):
        watched_services(_project(), ["nope"])
