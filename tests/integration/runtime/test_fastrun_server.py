"""`hoist container run` through the warm run server (compose.cli.fastrun + runserver) against the full path:
the same output, exit codes and --rm removal; ^C; the server's idle exit; a killed server; no leaks."""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from compose.cli import fastrun
from tests.integration.runtime.conftest import wait_for

PROJECT = Path(__file__).resolve().parents[3]
IDLE = "30"  # the server stays up through a test's runs (under any load); tests stop it at their end


def hoist(root: Path, *args: str, fast: bool = True, env: dict[str, str] | None = None,
          **kw) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HOIST_ROOT": str(root), "HOIST_RUNSERVER_IDLE": IDLE, **(env or {})}
    if not fast:
        full_env[fastrun.DISABLE_ENV] = "0"
    return subprocess.run([sys.executable, "-m", "compose.cli.main", *args], cwd=PROJECT, env=full_env,
                          capture_output=True, text=True, timeout=60, **kw)


def server_files(root: Path) -> tuple[Path, Path]:
    sock_path, lock_path = fastrun.server_paths(str(root))
    return Path(sock_path), Path(lock_path)


def server_pid(root: Path) -> int | None:
    """The pid of the root's live run server (the peer of a connection to its socket), if there is one."""
    sock_path, _ = server_files(root)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(sock_path))
        pid, _, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        return pid
    except OSError:
        return None
    finally:
        conn.close()  # a connection that sends nothing is dropped by the server


def server_gone(root: Path) -> bool:
    """No process holds the server's lock: none serves, none is starting."""
    _, lock_path = server_files(root)
    return not fastrun.server_alive(str(lock_path))


def spawn_run(env: dict[str, str], image: str, script: str, *, stderr: int = subprocess.PIPE) -> subprocess.Popen[str]:
    """`container run --rm --network none IMAGE sh -c SCRIPT` as a CLI process, its output piped."""
    return subprocess.Popen([sys.executable, "-m", "compose.cli.main", "container", "run", "--rm", "--network",
                             "none", image, "sh", "-c", script], cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                            stderr=stderr, text=True)


def warm_up(root: Path, image: str) -> int:
    """A first run starts the server (and itself takes the full path); wait until the server listens."""
    r = hoist(root, "container", "run", "--rm", "--network", "none", image, "true")
    assert r.returncode == 0, r.stderr
    return wait_for(lambda: server_pid(root), timeout=30, what="the run server to listen")


def served(root: Path, *args: str) -> bool:
    """Whether `hoist *args` went through the server: its client never imports argparse (the full path must)."""
    r = hoist(root, *args, env={"PYTHONPROFILEIMPORTTIME": "1"})
    return re.search(r"\|\s+argparse$", r.stderr, re.MULTILINE) is None


def stop_server(root: Path) -> None:
    """SIGTERM the root's server (if any) and wait until it is gone: before the leak check of the test."""
    pid = server_pid(root)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: server_gone(root), timeout=30, what="the run server to exit")


@pytest.fixture(autouse=True)
def _fixed_tag(monkeypatch: pytest.MonkeyPatch, unique_id: str) -> None:
    """A server tag of this test's own: sources edited while it runs (other work in the tree) would otherwise
    send its runs to a new server halfway (fastrun.current_tag)."""
    monkeypatch.setenv(fastrun.TAG_ENV, f"test{unique_id}")


@pytest.fixture
def warm_root(hoist_root: Path, busybox_image: str) -> Iterator[Path]:
    warm_up(hoist_root, busybox_image)
    yield hoist_root
    stop_server(hoist_root)


def _normalized(text: str) -> str:
    return re.sub(r"hoist_[0-9a-f]{8}", "hoist_<id>", text)


def test_served_runs_match_the_full_path(warm_root: Path, busybox_image: str) -> None:
    for image, command, code in ((busybox_image, ["true"], 0),
                                 (busybox_image, ["sh", "-c", "echo out; echo err >&2; echo more; exit 3"], 3),
                                 (busybox_image, ["no-such-command"], 127), (busybox_image, ["/etc/passwd"], 126),
                                 ("no-such-image:1", ["true"], 1)):
        args = ("container", "run", "--rm", "--network", "none", image, *command)
        assert served(warm_root, *args)
        fast, full = hoist(warm_root, *args), hoist(warm_root, *args, fast=False)
        assert (fast.returncode, fast.stdout, _normalized(fast.stderr)) == \
            (full.returncode, full.stdout, _normalized(full.stderr))
        assert fast.returncode == code, fast.stderr
        assert "Traceback" not in fast.stderr
        assert hoist(warm_root, "container", "ls", "-a", "-q").stdout == ""  # --rm removed both, before exiting


def test_flags_and_client_environment(warm_root: Path, busybox_image: str, unique_id: str) -> None:
    script = "echo $A $FROM_CLIENT $UNSET_ONE; pwd; id -u; id -g"
    for fast in (True, False):
        name = f"fr{unique_id}{int(fast)}"
        r = hoist(warm_root, "container", "run", "--name", name, "-e", "A=1", "-e", "FROM_CLIENT", "-e", "UNSET_ONE",
                  "-w", "/tmp", "-u", "12:34", "-l", "k=v", "--entrypoint", "sh", "--network", "none",
                  busybox_image, "-c", script, env={"FROM_CLIENT": "two words"}, fast=fast)
        assert (r.returncode, r.stdout, r.stderr) == (0, "1 two words\n/tmp\n12\n34\n", ""), (fast, r)
        listed = hoist(warm_root, "container", "ls", "-a", "--filter", "label=k=v", "--format", "json").stdout
        assert f'"Names": "{name}"' in listed  # no --rm: kept, with its label
        again = hoist(warm_root, "container", "run", "--name", name, "--network", "none", busybox_image, "true",
                      fast=fast)
        assert again.returncode == 1 and "already in use" in again.stderr
        assert hoist(warm_root, "container", "rm", name).returncode == 0
    assert served(warm_root, "container", "run", "--rm", "-e", "FROM_CLIENT", "--network", "host", busybox_image,
                  "true")
    # --root names the root (and its server) over $HOIST_ROOT, as in main().
    r = hoist(warm_root, "--root", str(warm_root), "container", "run", "--rm", "--network", "none", busybox_image,
              "echo", "via-root", env={"HOIST_ROOT": str(warm_root / "elsewhere"), "PYTHONPROFILEIMPORTTIME": "1"})
    assert r.returncode == 0 and r.stdout == "via-root\n" and not re.search(r"\|\s+argparse$", r.stderr, re.M)
    assert not (warm_root / "elsewhere").exists()


def test_interrupt_stops_and_removes_as_the_full_path_does(warm_root: Path, busybox_image: str) -> None:
    env = {**os.environ, "HOIST_ROOT": str(warm_root), "HOIST_RUNSERVER_IDLE": IDLE}
    proc = spawn_run(env, busybox_image, "echo started; exec sleep 60")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "started\n"
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and err == "Aborting.\n" and out == ""
    assert time.monotonic() - started < 10  # stopped at once (--rm removal forces it), not after the sleep
    assert hoist(warm_root, "container", "ls", "-a", "-q").stdout == ""


def test_closed_stdout_ends_the_run_as_a_broken_pipe_does(warm_root: Path, busybox_image: str) -> None:
    cmd = (f"{sys.executable} -m compose.cli.main container run --rm --network none {busybox_image} "
           "sh -c 'while true; do echo y; done' | head -n 3")
    env = {**os.environ, "HOIST_ROOT": str(warm_root), "HOIST_RUNSERVER_IDLE": IDLE}
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=PROJECT, env=env, capture_output=True,
                       text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "y\ny\ny\n"), r.stderr
    assert hoist(warm_root, "container", "ls", "-a", "-q").stdout == ""


def test_idle_exit_then_a_cold_run_starts_a_new_server(hoist_root: Path, busybox_image: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "IDLE", "1")
    first = warm_up(hoist_root, busybox_image)
    sock_path, _ = server_files(hoist_root)
    wait_for(lambda: server_gone(hoist_root), timeout=30, what="the run server's idle exit")
    assert not sock_path.exists()  # it took its socket along
    # No server: this run takes the full path (and starts the next server).
    r = hoist(hoist_root, "container", "run", "--rm", "--network", "none", busybox_image, "sh", "-c", "exit 4")
    assert r.returncode == 4
    second = wait_for(lambda: server_pid(hoist_root), timeout=30, what="a new run server")
    assert second != first
    wait_for(lambda: server_gone(hoist_root), timeout=30, what="the run server's idle exit")
    assert not sock_path.exists()


def test_a_killed_server_loses_nothing(hoist_root: Path, busybox_image: str) -> None:
    pid = warm_up(hoist_root, busybox_image)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: server_gone(hoist_root), timeout=10, what="the killed server to be gone")
    sock_path, _ = server_files(hoist_root)
    assert sock_path.exists()  # its socket is stale now: nobody listens
    r = hoist(hoist_root, "container", "run", "--rm", "--network", "none", busybox_image, "sh", "-c", "echo ok")
    assert (r.returncode, r.stdout, r.stderr) == (0, "ok\n", "")
    new = wait_for(lambda: server_pid(hoist_root), timeout=30, what="a new run server on the stale socket")
    assert new != pid
    assert served(hoist_root, "container", "run", "--rm", "--network", "none", busybox_image, "true")
    assert hoist(hoist_root, "container", "ls", "-a", "-q").stdout == ""
    stop_server(hoist_root)


def test_a_server_of_other_code_is_not_used(hoist_root: Path, busybox_image: str) -> None:
    """A socket under another code tag (an older hoist's server) is never connected to."""
    run_dir = Path(fastrun._run_dir(str(hoist_root)))
    run_dir.mkdir(parents=True, exist_ok=True)
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(str(run_dir / "runserver-00000000.sock"))
    other.listen(1)
    other.setblocking(False)
    try:
        warm_up(hoist_root, busybox_image)
        assert served(hoist_root, "container", "run", "--rm", "--network", "none", busybox_image, "true")
        with pytest.raises(BlockingIOError):
            other.accept()
    finally:
        other.close()
        stop_server(hoist_root)


def test_socket_is_root_only(warm_root: Path) -> None:
    sock_path, _ = server_files(warm_root)
    assert sock_path.stat().st_mode & 0o777 == 0o600


def test_concurrent_runs_each_get_their_own_output_and_code(warm_root: Path, busybox_image: str) -> None:
    env = {**os.environ, "HOIST_ROOT": str(warm_root), "HOIST_RUNSERVER_IDLE": IDLE}
    procs = [spawn_run(env, busybox_image, f"sleep 0.3; echo run{n}; echo e{n} >&2; exit {n}") for n in range(1, 4)]
    for n, proc in enumerate(procs, start=1):
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, out, err) == (n, f"run{n}\n", f"e{n}\n")
    assert hoist(warm_root, "container", "ls", "-a", "-q").stdout == ""


def test_a_server_killed_mid_run_loses_nothing(warm_root: Path, busybox_image: str) -> None:
    """The client finishes the run itself from the state under the root: the rest of the output, the exit
    code, the --rm removal."""
    env = {**os.environ, "HOIST_ROOT": str(warm_root), "HOIST_RUNSERVER_IDLE": IDLE}
    proc = spawn_run(env, busybox_image, "echo one; sleep 1; echo two; echo err >&2; exit 6")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "one\n"
        pid = server_pid(warm_root)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out, err) == (6, "two\n", "err\n")
    assert hoist(warm_root, "container", "ls", "-a", "-q", fast=False).stdout == ""


def test_a_killed_client_leaves_the_run_to_finish_and_be_removed(warm_root: Path, busybox_image: str) -> None:
    env = {**os.environ, "HOIST_ROOT": str(warm_root), "HOIST_RUNSERVER_IDLE": IDLE}
    proc = spawn_run(env, busybox_image, "echo started; sleep 1; echo more", stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "started\n"
    finally:
        proc.kill()
        proc.wait()
    assert hoist(warm_root, "container", "ls", "-q", fast=False).stdout.strip()  # still running
    wait_for(lambda: hoist(warm_root, "container", "ls", "-a", "-q", fast=False).stdout == "", timeout=30,
             what="the --rm container to be removed after its exit")
