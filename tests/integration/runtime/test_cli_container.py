"""`hoist container ...` and `hoist volume ...` as whole processes, including an interactive `run -it`."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.support.pty import PtyReader

PROJECT = Path(__file__).resolve().parents[3]


def hoist(root: Path, *args: str, **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOIST_ROOT": str(root), "HOIST_LAUNCHER_IDLE": "0.1"}
    return subprocess.run([sys.executable, "-m", "compose.cli.main", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=60, **kw)


def test_run_foreground_passes_output_and_exit_code(hoist_root, busybox_image):
    r = hoist(hoist_root, "container", "run", "--rm", "--network", "none", "-e", "WHO=world", busybox_image,
              "sh", "-c", "echo hello $WHO; echo oops >&2; exit 3")
    assert r.returncode == 3
    assert r.stdout == "hello world\n" and r.stderr == "oops\n"
    assert hoist(hoist_root, "container", "ls", "-a", "-q").stdout == ""  # --rm removed it


def test_detached_run_logs_exec_inspect_stop_rm(hoist_root, busybox_image, unique_id):
    name = f"cli{unique_id}"
    r = hoist(hoist_root, "container", "run", "-d", "--name", name, "--network", "none", "-l", "tier=web",
              busybox_image, "sh", "-c", "echo ready; exec sleep 1000")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert len(cid) == 64
    listed = hoist(hoist_root, "container", "ls", "--filter", "label=tier=web", "--format", "json").stdout
    assert json.loads(listed)["Names"] == name
    assert hoist(hoist_root, "container", "exec", name, "sh", "-c", "exit 4").returncode == 4
    deadline = time.monotonic() + 10
    while "ready" not in hoist(hoist_root, "container", "logs", name).stdout:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    info = json.loads(hoist(hoist_root, "container", "inspect", name).stdout)[0]
    assert info["State"]["Running"] and info["Name"] == f"/{name}" and info["Config"]["Labels"] == {"tier": "web"}
    rm = hoist(hoist_root, "container", "rm", name)
    assert rm.returncode == 1 and "running" in rm.stderr and "Traceback" not in rm.stderr
    assert hoist(hoist_root, "container", "stop", "-t", "0", name).returncode == 0
    info = json.loads(hoist(hoist_root, "container", "inspect", name).stdout)[0]
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 137
    assert hoist(hoist_root, "container", "rm", name).returncode == 0


def test_errors_are_one_line_messages(hoist_root, busybox_image):
    r = hoist(hoist_root, "container", "run", "--rm", "--network", "none", busybox_image, "/no/such/cmd")
    assert r.returncode != 0
    assert "exec" in r.stderr and "no/such/cmd" in r.stderr and "Traceback" not in r.stderr
    r = hoist(hoist_root, "container", "run", "--network", "none", "--ulimit", "nofile=1:999999999", busybox_image,
              "true")
    assert r.returncode == 1 and "hard limit" in r.stderr and "Traceback" not in r.stderr


def test_volume_commands(hoist_root):
    assert hoist(hoist_root, "volume", "create", "--label", "k=v", "data1").stdout.strip() == "data1"
    assert hoist(hoist_root, "volume", "ls", "-q", "--filter", "label=k").stdout.split() == ["data1"]
    info = json.loads(hoist(hoist_root, "volume", "inspect", "data1").stdout)[0]
    assert info["Mountpoint"].endswith("/volumes/data1/_data") and info["Labels"] == {"k": "v"}
    assert hoist(hoist_root, "volume", "prune", "--all", "-f").returncode == 0
    assert hoist(hoist_root, "volume", "ls", "-q").stdout == ""


def test_run_it_gives_an_interactive_shell(hoist_root, busybox_image):
    master, slave = os.openpty()
    env = {**os.environ, "HOIST_ROOT": str(hoist_root), "HOIST_LAUNCHER_IDLE": "0.1", "TERM": "dumb"}
    proc = subprocess.Popen([sys.executable, "-m", "compose.cli.main", "container", "run", "--rm", "-it",
                             "--network", "none", busybox_image, "sh"], cwd=PROJECT, env=env, stdin=slave,
                            stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = PtyReader(master)
    try:
        out.expect(b"# ")  # the prompt of an interactive root shell
        os.write(master, b"tty; echo $((6*7))\r")
        out.expect(b"42")
        assert b"/dev/pts/0" in out.seen  # a real terminal inside the container
        os.write(master, b"exit 5\r")
        assert proc.wait(timeout=15) == 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def _pty_output(argv: list[str], hoist_root: Path, rows: int, cols: int) -> tuple[int, bytes]:
    """Run a hoist command on a fresh pty of ``rows`` x ``cols``; its exit code and all it printed."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {**os.environ, "HOIST_ROOT": str(hoist_root), "HOIST_LAUNCHER_IDLE": "0.1"}
    proc = subprocess.Popen([sys.executable, "-m", "compose.cli.main", *argv], cwd=PROJECT, env=env, stdin=slave,
                            stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        while select.select([master], [], [], 15)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        return proc.wait(timeout=15), seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_run_it_starts_the_program_with_the_users_window_size(hoist_root, busybox_image):
    # The size is on the pty before the program runs (docker's ConsoleSize): a resize sent by the client
    # after the start would race with the program's first look, as `stty size` here.
    for _ in range(3):
        code, seen = _pty_output(["container", "run", "--rm", "-it", "--network", "none", busybox_image,
                                  "stty", "size"], hoist_root, 41, 117)
        assert code == 0 and seen.split() == [b"41", b"117"], seen


def test_exec_it_gets_a_terminal_of_the_container_with_the_window_size(hoist_root, busybox_image, unique_id):
    name = f"tty{unique_id}"
    assert hoist(hoist_root, "container", "run", "-d", "--name", name, "--network", "none", busybox_image,
                 "sleep", "1000").returncode == 0
    for _ in range(3):  # the size is set before the command starts: never a 0x0 first look
        code, seen = _pty_output(["container", "exec", "-it", name, "sh", "-c", "tty; stty size; exit 3"],
                                 hoist_root, 33, 101)
        assert code == 3 and seen.split() == [b"/dev/pts/0", b"33", b"101"], seen
    assert hoist(hoist_root, "container", "rm", "-f", name).returncode == 0


def test_run_i_feeds_stdin_and_closes_it_at_eof(hoist_root, busybox_image):
    data = "x" * 300_000 + "\nlast line\n"  # more than a pipe buffer: the supervisor must queue, not block
    r = hoist(hoist_root, "container", "run", "--rm", "-i", "--network", "none", busybox_image,
              "sh", "-c", "wc -c; echo done", input=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(len(data)), "done"]


def test_concurrent_creates_of_one_name_yield_one_container(hoist_root, busybox_image, unique_id):
    env = {**os.environ, "HOIST_ROOT": str(hoist_root)}
    procs = [subprocess.Popen([sys.executable, "-m", "compose.cli.main", "container", "create", "--name",
                               f"same{unique_id}", "--network", "none", busybox_image, "true"], cwd=PROJECT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert sorted(code for code, _ in results) == [0, 1, 1, 1]
    assert all("already in use" in err for code, err in results if code)
    assert len(hoist(hoist_root, "container", "ls", "-a", "-q").stdout.split()) == 1
    assert len(list((hoist_root / "containers").iterdir())) == 1  # the losers left no directory behind


def test_container_prune_and_system_info_prune(hoist_root, busybox_image, unique_id):
    keep = f"keep{unique_id}"
    assert hoist(hoist_root, "container", "run", "-d", "--name", keep, "--network", "none", busybox_image,
                 "sleep", "1000").returncode == 0
    assert hoist(hoist_root, "container", "create", "--name", f"gone{unique_id}", "--network", "none",
                 busybox_image, "true").returncode == 0
    info = json.loads(hoist(hoist_root, "system", "info", "--format", "json").stdout)
    assert (info["Containers"], info["ContainersRunning"], info["ContainersStopped"]) == (2, 1, 1)
    assert info["CgroupVersion"] in ("1", "2") and info["Images"] == 1
    pruned = hoist(hoist_root, "container", "prune", "-f")
    assert pruned.returncode == 0 and "Total reclaimed: 1 container(s)" in pruned.stdout
    assert hoist(hoist_root, "container", "ls", "-a", "--format", "json").stdout.count("\n") == 1
    assert hoist(hoist_root, "container", "rm", "-f", keep).returncode == 0
    assert hoist(hoist_root, "volume", "create").returncode == 0  # anonymous: pruned with --volumes
    r = hoist(hoist_root, "system", "prune", "-f", "--volumes")
    assert r.returncode == 0, r.stderr
    assert hoist(hoist_root, "volume", "ls", "-q").stdout == ""
