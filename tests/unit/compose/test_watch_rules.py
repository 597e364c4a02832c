"""Watch rules: path/target mapping, ignore and include (.dockerignore syntax), the build context's
.dockerignore, editor temporary files, build-definition files, most-specific-rule routing, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ConfigError
from compose.model import Build, Develop, Project, Service, WatchExec, WatchRule
from compose.watch.rules import compile_rules, is_editor_temp, route, watch_roots


def _project(tmp: Path, rules: list[WatchRule], *, build: bool = True) -> Project:
    svc = Service(name="web", build=Build(context=str(tmp)) if build else None,
                  image=None if build else "img", develop=Develop(watch=rules))
    return Project(name="p", working_dir=str(tmp), services={"web": svc},
                   config_files=[str(tmp / "compose.yaml")])


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel in ("app/main.py", "app/static/x.css", "app/node_modules/m/i.js", "app/keep/a.log", "Dockerfile",
                "requirements.txt", "compose.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    return tmp_path


def test_target_mapping_and_ignore_with_negation_and_globstar(tree: Path) -> None:
    [t] = compile_rules(_project(tree, [WatchRule(path=str(tree / "app"), action="sync", target="/srv",
                                                  ignore=["node_modules/", "**/*.log", "!keep/*.log"])]), ["web"])
    assert t.container_path(str(tree / "app/static/x.css")) == "/srv/static/x.css"
    assert t.container_path(str(tree / "app")) == "/srv"
    assert t.accepts(str(tree / "app/main.py"))
    assert not t.accepts(str(tree / "app/node_modules/m/i.js"))  # a directory pattern covers what is below
    assert not t.accepts(str(tree / "app/static/debug.log"))  # ** crosses directories
    assert t.accepts(str(tree / "app/keep/a.log"))  # the later negation wins
    assert not t.accepts(str(tree / "requirements.txt"))  # outside the rule's path
    assert not t.accepts(str(tree / "application/x"))  # a sibling with the same prefix is outside too


def test_include_limits_what_triggers(tree: Path) -> None:
    [t] = compile_rules(_project(tree, [WatchRule(path=str(tree / "app"), action="sync", target="/srv",
                                                  include=["*.py", "static/**"])]), ["web"])
    assert t.accepts(str(tree / "app/main.py"))
    assert t.accepts(str(tree / "app/static/x.css"))
    assert not t.accepts(str(tree / "app/keep/a.log"))
    assert t.accepts(str(tree / "app/keep"))  # a directory is walked into, its files decide


def test_build_context_dockerignore_is_honoured_relative_to_the_context(tree: Path) -> None:
    (tree / ".dockerignore").write_text("app/secret*\n")
    [t] = compile_rules(_project(tree, [WatchRule(path=str(tree / "app"), action="sync", target="/srv")]),
                        ["web"])
    assert not t.accepts(str(tree / "app/secret.txt"))
    assert t.accepts(str(tree / "app/main.py"))


@pytest.mark.parametrize("name", ["main.py.swp", ".main.py.swx", "main.py~", "4913", ".#main.py", "#main.py#",
                                  "main.py___jb_tmp___", ".git/index", "sub/.git/HEAD"])
def test_editor_temporary_files_are_ignored(name: str) -> None:
    assert is_editor_temp(name)


@pytest.mark.parametrize("name", ["main.py", "swp.py", "notes#1", "a/b/c.txt"])
def test_ordinary_files_are_not_temporary(name: str) -> None:
    assert not is_editor_temp(name)


def test_build_files_are_never_synced_but_trigger_rebuild(tree: Path) -> None:
    rules = [WatchRule(path=str(tree), action="sync", target="/srv"),
             WatchRule(path=str(tree / "Dockerfile"), action="rebuild")]
    sync, rebuild = compile_rules(_project(tree, rules), ["web"])
    assert route([sync], str(tree / "Dockerfile")) == []
    assert route([sync], str(tree / "compose.yaml")) == []
    assert route([sync, rebuild], str(tree / "Dockerfile")) == [rebuild]
    assert route([sync, rebuild], str(tree / "app/main.py")) == [sync]
    # A rebuild rule over the whole project still fires on the compose file.
    [whole] = compile_rules(_project(tree, [WatchRule(path=str(tree), action="rebuild")]), ["web"])
    assert route([whole], str(tree / "compose.yaml")) == [whole]


def test_most_specific_rule_wins(tree: Path) -> None:
    rules = [WatchRule(path=str(tree / "app"), action="sync+restart", target="/srv"),
             WatchRule(path=str(tree / "app/static"), action="sync", target="/srv/static")]
    broad, narrow = compile_rules(_project(tree, rules), ["web"])
    assert route([broad, narrow], str(tree / "app/static/x.css")) == [narrow]
    assert route([broad, narrow], str(tree / "app/main.py")) == [broad]


def test_single_file_rule_syncs_to_target_and_watches_its_directory(tree: Path) -> None:
    [t] = compile_rules(_project(tree, [WatchRule(path=str(tree / "requirements.txt"), action="sync",
                                                  target="/srv/req.txt")]), ["web"])
    assert t.container_path(str(tree / "requirements.txt")) == "/srv/req.txt"
    assert watch_roots([t]) == [str(tree)]


def test_watch_roots_fold_nested_directories(tree: Path) -> None:
    rules = [WatchRule(path=str(tree / "app"), action="sync", target="/a"),
             WatchRule(path=str(tree / "app/static"), action="sync", target="/b")]
    assert watch_roots(compile_rules(_project(tree, rules), ["web"])) == [str(tree / "app")]


@pytest.mark.parametrize(("rule", "build", "message"), [
    (WatchRule(path="{t}/app", action="sync"), True, "needs a target"),
    (WatchRule(path="{t}/app", action="sync+exec", target="/a"), True, "needs exec.command"),
    (WatchRule(path="{t}/app", action="rebuild"), False, "needs the service to have a build section"),
    (WatchRule(path="{t}/missing", action="sync", target="/a"), True, "does not exist"),
    (WatchRule(path="{t}/app", action="teleport"), True, "unknown watch action"),
])
def test_invalid_rules_fail_at_start(tree: Path, rule: WatchRule, build: bool, message: str) -> None:
    rule = WatchRule(path=rule.path.format(t=tree), action=rule.action, target=rule.target,
                     exec=WatchExec(command=[]) if rule.action == "sync+exec" else None)
    with pytest.raises(ConfigError, match=message):
        compile_rules(_project(tree, [rule], build=build), ["web"])
