"""The `container run` thin client (compose.cli.fastrun): what its hand parser takes and refuses, that argparse
reads what it takes the same way, the request encoding, the root and run directory it derives, the code tag."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from compose.cli import fastrun, runserver
from compose.cli.main import build_parser
from runtime import naming

PROJECT_DIR = Path(__file__).resolve().parents[2]
RUN = ["container", "run"]

TAKEN = [
    (RUN + ["--rm", "--network", "none", "busybox", "true"], None, []),
    (RUN + ["--network=host", "busybox"], None, []),
    (["--root", "/tmp/r", *RUN, "--net", "none", "busybox", "true"], "/tmp/r", []),
    (["--root=/tmp/r", *RUN, "--network", "none", "busybox"], "/tmp/r", []),
    (RUN + ["--rm", "--name", "web", "-e", "A=1", "--env=B=2", "-e", "HOME", "--env", "PATH", "-w", "/tmp",
            "--workdir=/", "-u", "1:2", "--user", "nobody", "-l", "k=v", "--label=x", "--entrypoint", "",
            "--entrypoint=sh -c", "--network", "none", "busybox", "sh", "-c", "echo hi"], None, ["HOME", "PATH"]),
    # After the image everything is the command, flags included (argparse.REMAINDER).
    (RUN + ["--network", "none", "busybox", "sh", "-d", "-it", "--rm", "-e", "X"], None, []),
    # The last --network wins, as with argparse.
    (RUN + ["--network", "bridge", "--network", "none", "busybox"], None, []),
]

REFUSED = [
    RUN + ["--rm", "busybox", "true"],  # default network: bridge (the full path's)
    RUN + ["--network", "bridge", "busybox"],
    RUN + ["--network", "none", "--network", "mynet", "busybox"],
    RUN + ["-d", "--network", "none", "busybox"],
    RUN + ["-it", "--network", "none", "busybox", "sh"],
    RUN + ["-i", "--network", "none", "busybox", "sh"],
    RUN + ["-t", "--network", "none", "busybox", "sh"],
    RUN + ["--netw", "none", "busybox"],  # an abbreviation argparse would accept: not ours to guess
    RUN + ["--network", "none", "-eA=1", "busybox"],  # attached short value
    RUN + ["--network", "none", "-e=A", "busybox"],
    RUN + ["--network", "none", "--name", "-x", "busybox"],  # a value that looks like a flag
    RUN + ["--network", "none", "--rm=1", "busybox"],
    RUN + ["--network", "none", "-v", "/a:/b", "busybox"],
    RUN + ["--network", "none", "--env-file", "f", "busybox"],
    RUN + ["--network", "none", "--init", "busybox"],
    RUN + ["--network", "none", "-h"],
    RUN + ["--network", "none"],  # no image: argparse's error, from the full path
    RUN + ["--network", "none", "--name"],
    RUN + ["--network", "none", "busybox", "sh", "--", "x"],  # "--" anywhere: argparse's handling is subtle
    ["container", "create", "--network", "none", "busybox"],
    ["container", "--root", "/x", "run", "--network", "none", "busybox"],
    ["-f", "c.yaml", *RUN, "--network", "none", "busybox"],
    ["--root", *RUN, "--network", "none", "busybox"],
    ["run", "--rm", "web"],
    [],
]


@pytest.mark.parametrize("argv,root,env_names", TAKEN)
def test_takes_the_runs_it_understands(argv: list[str], root: str | None, env_names: list[str]) -> None:
    request = fastrun.parse_run_argv(argv)
    assert request is not None, argv
    assert (request.root, request.env_names) == (root, env_names)


def test_it_knows_whether_the_run_removes_its_container() -> None:
    taken = fastrun.parse_run_argv([*RUN, "--rm", "--network", "none", "busybox", "true"])
    kept = fastrun.parse_run_argv([*RUN, "--network", "none", "busybox", "--rm"])  # the command's --rm
    assert taken is not None and taken.rm and kept is not None and not kept.rm


@pytest.mark.parametrize("argv", REFUSED)
def test_refuses_everything_else(argv: list[str]) -> None:
    assert fastrun.parse_run_argv(argv) is None


@pytest.mark.parametrize("argv,root,env_names", TAKEN)
def test_argparse_reads_what_it_takes_as_a_run_the_server_runs(argv: list[str], root: str | None,
                                                               env_names: list[str]) -> None:
    args = build_parser(only="container").parse_args(runserver.after_global_flags(argv))
    assert runserver.runnable(args, env_names)


def test_the_server_refuses_what_argparse_reads_otherwise() -> None:
    parser = build_parser(only="container")
    assert not runserver.runnable(parser.parse_args(RUN + ["--network", "none", "-e", "A", "busybox"]), [])
    assert not runserver.runnable(parser.parse_args(RUN + ["--network", "none", "-d", "busybox"]), [])
    assert not runserver.runnable(parser.parse_args(RUN + ["--network", "bridge", "busybox"]), [])
    assert not runserver.runnable(parser.parse_args(["container", "create", "--network", "none", "b"]), [])


def test_request_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SET_ONE", "a=b c")
    monkeypatch.delenv("UNSET_ONE", raising=False)
    argv = [*RUN, "--network", "none", "-e", "SET_ONE", "-e", "UNSET_ONE", "busybox", "sh", "-c", "", "é"]
    wire = fastrun._encode_request("/tmp/r", argv, ["SET_ONE", "UNSET_ONE"])
    assert int.from_bytes(wire[:4], "big") == len(wire) - 4
    request = runserver.decode_request(wire[4:])
    assert request is not None
    assert (request.root, request.argv, request.env_names) == ("/tmp/r", argv, ["SET_ONE", "UNSET_ONE"])
    assert request.environ == {"SET_ONE": "a=b c"}  # unset stays unset: docker passes nothing for it


@pytest.mark.parametrize("body", [b"", b"hoist-run/2\0/r\x000\x000\x000", b"hoist-run/1\0/r\x002\0a",
                                  b"hoist-run/1\0/r\x000\x000\x001\0NOEQUALS", b"hoist-run/1\0/r\0x\x000\x000",
                                  b"hoist-run/1\0/r\x000\x000\x000\0extra"])
def test_malformed_requests_are_refused(body: bytes) -> None:
    assert runserver.decode_request(body) is None


@pytest.mark.parametrize("root", ["/var/lib/hoist", "/tmp/hoist-test-x/root", "/a/../b", "/srv/h o/ist"])
def test_run_dir_is_the_runtimes(root: str) -> None:
    assert fastrun._run_dir(root) == str(naming.run_dir(naming.resolve_root(root)))


def test_root_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert fastrun._root("rel") == str(tmp_path / "rel")  # --root: made absolute, as main() does
    monkeypatch.setenv("HOIST_ROOT", "/srv/hoist")
    assert fastrun._root(None) == "/srv/hoist" == str(naming.resolve_root())
    monkeypatch.setenv("HOIST_ROOT", "")
    assert fastrun._root(None) == "/var/lib/hoist"
    monkeypatch.delenv("HOIST_ROOT")
    assert fastrun._root(None) == "/var/lib/hoist"
    for unclean in ("rel/root", "/srv//hoist", "/srv/./hoist", "/srv/hoist/", "/"):
        monkeypatch.setenv("HOIST_ROOT", unclean)
        assert fastrun._root(None) is None, unclean  # pathlib would normalise it: the full path decides


def test_sources_tag_follows_every_module_the_server_loads(tmp_path: Path) -> None:
    for sub in fastrun._TAGGED_DIRS:
        (tmp_path / sub).mkdir(parents=True, exist_ok=True)
        (tmp_path / sub / "m.py").write_text("x = 1\n")
    for rel in fastrun._TAGGED_FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("y = 1\n")
    tag = fastrun.sources_tag(str(tmp_path))
    assert tag == fastrun.sources_tag(str(tmp_path)) and len(tag) == 8
    (tmp_path / "runtime/images/m.py").write_text("x = 22\n")
    changed = fastrun.sources_tag(str(tmp_path))
    assert changed != tag
    (tmp_path / "compose/cli/commands/container.py").write_text("y = 22\n")
    assert fastrun.sources_tag(str(tmp_path)) != changed
    (tmp_path / "compose/cli/new.py").write_text("")
    assert fastrun.sources_tag(str(tmp_path)) not in (tag, changed)


def test_a_fixed_tag_names_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(fastrun.TAG_ENV, raising=False)
    assert fastrun.current_tag() == fastrun.sources_tag()
    monkeypatch.setenv(fastrun.TAG_ENV, "pinned")
    assert fastrun.server_paths("/srv/h") == (f"{fastrun._run_dir('/srv/h')}/runserver-pinned.sock",
                                              f"{fastrun._run_dir('/srv/h')}/runserver-pinned.lock")


def test_idle_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOIST_RUNSERVER_IDLE", raising=False)
    monkeypatch.delenv("HOIST_LAUNCHER_IDLE", raising=False)
    assert runserver.idle_exit() == runserver.DEFAULT_IDLE_EXIT
    monkeypatch.setenv("HOIST_LAUNCHER_IDLE", "0.2")  # who makes the launcher short-lived (tests) gets this too
    assert runserver.idle_exit() == 0.2
    monkeypatch.setenv("HOIST_RUNSERVER_IDLE", "7")
    assert runserver.idle_exit() == 7.0


def test_not_root_or_disabled_takes_the_full_path(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = [*RUN, "--network", "none", "busybox", "true"]
    monkeypatch.setenv(fastrun.DISABLE_ENV, "0")
    assert fastrun.try_run(argv) is None
    monkeypatch.delenv(fastrun.DISABLE_ENV)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert fastrun.try_run(argv) is None


def test_the_client_path_imports_nothing_heavy() -> None:
    """What main() loads before it knows whether the server takes the run: no argparse, typing, socket..."""
    code = ("import sys; from compose.cli import fastrun, main; "
            "print(' '.join(sorted(m for m in ('argparse', 'typing', 'socket', 'signal', 'dataclasses', "
            "'json', 're', 'pathlib', 'hashlib', 'enum') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)}).stdout
    assert out.strip() == ""


def _frame(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


def _converse_with(reply: bytes, *, read_request: bool = True) -> object:
    """fastrun._converse against a stand-in server that sends ``reply`` and hangs up."""
    import socket
    import threading

    ours, theirs = socket.socketpair()

    def server() -> None:
        with theirs:
            if read_request:
                size = int.from_bytes(theirs.recv(4), "big")
                while size > 0:
                    size -= len(theirs.recv(size))
            theirs.sendall(reply)

    thread = threading.Thread(target=server)
    thread.start()
    request = fastrun.parse_run_argv([*RUN, "--rm", "--network", "none", "busybox", "true"])
    assert request is not None
    try:
        return fastrun._converse(ours, "/srv/h", [*RUN, "--rm", "--network", "none", "busybox", "true"], request)
    finally:
        ours.close()
        thread.join()


def test_the_client_relays_frames_and_returns_the_exit_code(capfd: pytest.CaptureFixture[str]) -> None:
    reply = (_frame(b"a") + _frame(b"c", b"abc") + _frame(b"1", b"out\n") + _frame(b"2", "é\n".encode())
             + _frame(b"1", b"more\n") + _frame(b"x", b"3"))
    assert _converse_with(reply) == 3
    assert capfd.readouterr() == ("out\nmore\n", "é\n")


def test_a_server_that_did_nothing_yet_sends_the_run_down_the_full_path() -> None:
    assert _converse_with(_frame(b"f")) is None  # it refused the run
    assert _converse_with(b"", read_request=False) is None  # it went away (idle) before reading the request


def test_a_server_lost_after_it_took_the_run(capfd: pytest.CaptureFixture[str]) -> None:
    lost = _converse_with(_frame(b"a") + _frame(b"c", b"abc") + _frame(b"1", b"one\n"))
    assert isinstance(lost, fastrun._ServerLost) and (lost.container_id, lost.relayed) == ("abc", 1)
    assert _converse_with(_frame(b"a")) == fastrun.EXIT_SERVER_LOST  # no container known: say so
    assert "went away during the run" in capfd.readouterr().err
