"""`hoist volumes` and `hoist attach` over the fake engine (no root): the project's volumes and the service
filter, the output formats; docker's detach-key format, the escape sequence, attach's refusals, its exit code
and its signal proxy."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import runtime.engine
from compose.cli.attach import AttachOptions, EscapeMatcher, attach, parse_detach_keys
from compose.cli.gotemplate import tabwrite
from compose.cli.main import main
from compose.errors import UsageError
from runtime.api import LogRecord, VolumeSpec
from tests.support.fake_engine import FakeEngine, use_demo_project

COMPOSE = """
services:
  db:
    image: busybox
    volumes: ["data:/var/lib/data"]
  web:
    image: busybox
    volumes: ["cache:/cache", "/tmp/host:/host"]
  tool:
    image: busybox
    volumes: ["data:/data"]
volumes:
  data: {}
  cache: {}
"""


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeEngine:
    return use_demo_project(monkeypatch, FakeEngine(tmp_path / "root"), tmp_path, COMPOSE)


def _up(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--progress", "quiet", "up", "-d"]) == 0
    engine.volume_create(VolumeSpec(name="other_data", labels={"com.docker.compose.project": "other"}))
    engine.volume_create(VolumeSpec(name="loose"))
    capsys.readouterr()


def test_volumes_lists_the_projects_volumes_as_compose(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    _up(engine, capsys)
    assert main(["volumes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "DRIVER    VOLUME NAME"  # docker's tabwriter: minimum width 10, padding 3
    assert sorted(lines[1:]) == ["local     demo_cache", "local     demo_data"]
    assert main(["volumes", "-q"]) == 0
    assert sorted(capsys.readouterr().out.split()) == ["demo_cache", "demo_data"]
    assert main(["volumes", "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["Name"] for r in rows) == ["demo_cache", "demo_data"]
    assert rows[0]["Driver"] == "local" and rows[0]["Scope"] == "local"
    assert "com.docker.compose.project=demo" in rows[0]["Labels"]
    assert main(["volumes", "--format", "{{.Name}}:{{.Driver}}"]) == 0
    assert sorted(capsys.readouterr().out.split()) == ["demo_cache:local", "demo_data:local"]
    assert main(["volumes", "--format", "table {{.Name}}\\t{{.Scope}}", "web"]) == 0
    assert capsys.readouterr().out.splitlines() == ["VOLUME NAME   SCOPE", "demo_cache    local"]


def test_volumes_of_services(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    _up(engine, capsys)
    assert main(["volumes", "-q", "db"]) == 0
    assert capsys.readouterr().out.split() == ["demo_data"]
    assert main(["volumes", "-q", "web", "db"]) == 0
    assert sorted(capsys.readouterr().out.split()) == ["demo_cache", "demo_data"]
    assert main(["--progress", "quiet", "stop", "db", "tool"]) == 0
    capsys.readouterr()
    assert main(["volumes", "-q", "db"]) == 0  # as compose: the running containers' mounts only
    assert capsys.readouterr().out == ""
    assert main(["volumes", "nope"]) == 1
    assert "no such service: nope" in capsys.readouterr().err


def test_volumes_without_a_compose_file(engine: FakeEngine, capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    _up(engine, capsys)
    (tmp_path / "compose.yaml").unlink()
    assert main(["-p", "demo", "volumes", "-q"]) == 0
    assert sorted(capsys.readouterr().out.split()) == ["demo_cache", "demo_data"]


def align(lines: list[str]) -> list[str]:
    return tabwrite(lines).splitlines()


def test_align_as_tabwriter() -> None:
    # every column but the last: the widest cell plus 3, at least 10
    assert align(["A\tB\tC", "longer-than-ten\tx\ty"]) == ["A" + " " * 17 + "B" + " " * 9 + "C",
                                                            "longer-than-ten   x         y"]


# ---------------------------------------------------------------------------------------------- attach


@pytest.mark.parametrize(("text", "keys"), [
    (None, b"\x10\x11"), ("", b"\x10\x11"), ("ctrl-p,ctrl-q", b"\x10\x11"), ("a", b"a"), ("ctrl-a,b", b"\x01b"),
    ("ctrl-@", b"\x00"), ("ctrl-z", b"\x1a"), ("ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", b"\x1b\x1c\x1d\x1e\x1f"),
    ("DEL", b"\x7f"), ("x,y", b"xy"),
])
def test_detach_keys_in_dockers_format(text: str | None, keys: bytes) -> None:
    assert parse_detach_keys(text) == keys


@pytest.mark.parametrize("text", ["ctrl-1", "ctrl-P", "foo", "a,,b", "é"])
def test_bad_detach_keys_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="invalid detach keys"):
        parse_detach_keys(text)


def test_escape_matcher_holds_a_partial_sequence_back() -> None:
    m = EscapeMatcher(b"\x10\x11")
    assert m.feed(b"ab\x10") == (b"ab", False)  # ctrl-p held
    assert m.feed(b"c") == (b"\x10c", False)  # not the sequence: passed on
    assert m.feed(b"x\x10\x10") == (b"x\x10", False)  # a second ctrl-p may start the sequence
    assert m.feed(b"\x11rest") == (b"", True)
    single = EscapeMatcher(b"q")
    assert single.feed(b"abq") == (b"ab", True)
    assert EscapeMatcher(b"").feed(b"\x10\x11") == (b"\x10\x11", False)


class _AttachEngine(FakeEngine):
    """container_logs follows: the records of ``script`` then, until the container exits, nothing; the exit
    comes from ``exit_after`` (the end of the script) or from a kill with the signal recorded."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.script: list[str] = []
        self.exit_after: int | None = None
        self.killed: list[str] = []

    def container_logs(self, ref: str, *, follow: bool = False, tail: int | None = None,
                       since: str | None = None, until: str | None = None) -> Iterator[LogRecord]:
        assert follow and since is not None  # from now on
        for text in self.script:
            yield LogRecord(time="t", stream="stderr" if text.startswith("E:") else "stdout", text=text)
        c = self._find(ref)
        if self.exit_after is not None:
            self._set(replace(c, status="exited", exit_code=self.exit_after, pid=0))
        while self._find(ref).status == "running":
            time.sleep(0.01)

    def container_kill(self, ref: str, *, signal: str = "SIGKILL") -> None:
        self.killed.append(signal)
        c = self._find(ref)
        self._set(replace(c, status="exited", exit_code=130, pid=0))


@pytest.fixture
def attach_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[_AttachEngine]:
    fake = use_demo_project(monkeypatch, _AttachEngine(tmp_path / "root"), tmp_path, COMPOSE)
    monkeypatch.setattr(runtime.engine, "open_engine", lambda root=None: fake)  # `hoist container ...`
    assert main(["--progress", "quiet", "up", "-d"]) == 0
    # a process of its own in real life: Python's own ^C handling, whatever `up` left in this one
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield fake
    signal.signal(signal.SIGINT, previous)


def test_attach_streams_the_output_and_exits_with_the_containers_code(
        attach_engine: _AttachEngine, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    attach_engine.script = ["line 1\n", "E:oops\n", "line 2\n"]
    attach_engine.exit_after = 3
    assert main(["attach", "web"]) == 3
    out, err = capsys.readouterr()
    assert out == "line 1\nline 2\n" and err == "E:oops\n"


def test_attach_refuses_a_stopped_container(attach_engine: _AttachEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--progress", "quiet", "stop", "web"]) == 0
    capsys.readouterr()
    assert main(["attach", "web"]) == 1
    assert "You cannot attach to a stopped container, start it first" in capsys.readouterr().err
    assert main(["attach", "--index", "2", "web"]) == 1
    assert 'service "web" is not running container #2' in capsys.readouterr().err
    assert main(["attach", "nope"]) == 1
    assert "no such service: nope" in capsys.readouterr().err
    assert main(["attach", "--detach-keys", "ctrl-1", "db"]) == 1
    assert "invalid detach keys" in capsys.readouterr().err
    assert main(["container", "attach", "demo-web-1"]) == 1
    assert "You cannot attach to a stopped container" in capsys.readouterr().err
    attach_engine.container_pause("demo-db-1")
    assert main(["container", "attach", "demo-db-1"]) == 1
    assert "You cannot attach to a paused container, unpause it first" in capsys.readouterr().err


def test_sig_proxy_sends_our_signals_to_the_container(attach_engine: _AttachEngine) -> None:
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    assert attach(attach_engine, "demo-web-1", AttachOptions()) == 130
    assert attach_engine.killed == ["SIGINT"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # ours again


def test_without_sig_proxy_interrupt_detaches(attach_engine: _AttachEngine) -> None:
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    assert attach(attach_engine, "demo-web-1", AttachOptions(sig_proxy=False)) == 130
    assert attach_engine.killed == []
    assert attach_engine.container_inspect("demo-web-1").status == "running"
    assert main(["attach", "--sig-proxy=false", "--no-stdin", "--detach-keys", "ctrl-a,b", "--index", "9",
                 "web"]) == 1  # the flags parse as docker's (and there is no replica 9)
