"""Two runtime fixes: `network_mode: none` still has a working loopback, and supervisors never share the
CLI's session or process group (so ^C or a closed terminal of the CLI cannot reach them)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.integration.runtime.conftest import wait_for

PROJECT = Path(__file__).resolve().parents[3]


def test_network_mode_none_has_loopback_up(probe):
    # flags 0x9 = IFF_UP | IFF_LOOPBACK (0x8 alone when down); ping proves 127.0.0.1 really answers.
    code, out = probe("cat /sys/class/net/lo/flags; ping -c 1 -W 2 127.0.0.1 >/dev/null && echo pong")
    assert code == 0, out
    flags, answer = out.split()
    assert int(flags, 16) & 0x1, f"lo is down: flags {flags}"
    assert answer == "pong"


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_supervisor_is_outside_the_cli_session_and_group(hoist_root, busybox_image, unique_id):
    env = {**os.environ, "HOIST_ROOT": str(hoist_root), "HOIST_LAUNCHER_IDLE": "0.1"}
    name = f"det{unique_id}"
    # The CLI as a terminal would run it: leader of its own session and process group.
    cli = subprocess.Popen([sys.executable, "-m", "compose.cli.main", "container", "run", "-d", "--name", name,
                            "--network", "none", busybox_image, "sleep", "1000"],
                           cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    out, err = cli.communicate(timeout=60)
    assert cli.returncode == 0, err

    def inspect() -> dict:
        r = subprocess.run([sys.executable, "-m", "compose.cli.main", "container", "inspect", name], cwd=PROJECT,
                           env=env, capture_output=True, text=True, timeout=60)
        return json.loads(r.stdout)[0]["State"]

    pid = inspect()["Pid"]
    supervisor = _parent(pid)
    for proc in (supervisor, pid):
        assert os.getsid(proc) != cli.pid, f"{proc} is in the CLI's session"
        assert os.getpgid(proc) != cli.pid, f"{proc} is in the CLI's process group"
    # What a terminal does on ^C or hang-up: signal the CLI's whole process group. Nothing of ours is in it.
    for sig in (signal.SIGINT, signal.SIGHUP):
        try:
            os.killpg(cli.pid, sig)
        except ProcessLookupError:
            pass
    assert inspect()["Running"]
    assert Path(f"/proc/{supervisor}").exists()
    subprocess.run([sys.executable, "-m", "compose.cli.main", "container", "rm", "-f", name], cwd=PROJECT, env=env,
                   capture_output=True, timeout=60, check=True)
    wait_for(lambda: not Path(f"/proc/{supervisor}").exists(), what="the supervisor to exit")
