"""hoist up/down end to end on the real runtime with the busybox test image.

Services use ``init: true`` so a SIGTERM stops ``sleep`` at once (a PID 1 would ignore it), and
``network_mode: none`` unless the test is about networks, to keep each test to a few seconds.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from tests.support.cli import Hoist, wait_for

BASE = """
x-base: &base
  image: {image}
  network_mode: none
  init: true
  command: ["sleep", "1000"]
"""


@pytest.fixture
def hoist(hoist_root: Path, busybox_image: str, project_name: str, tmp_path: Path) -> Hoist:
    h = Hoist(hoist_root, tmp_path, project_name)
    yield h
    h("down", "-v", "--remove-orphans", "-t", "1", check=False)


def compose(h: Hoist, image: str, services: str, extra: str = "") -> None:
    h.write(BASE.format(image=image) + "services:\n" + services + extra)


def lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def test_order_under_each_condition_and_wait_with_one_shot(hoist: Hoist, busybox_image: str) -> None:
    compose(hoist, busybox_image, """
  db:
    <<: *base
    command: ["sh", "-c", "sleep 0.3; touch /tmp/ready; exec sleep 1000"]
    healthcheck: {test: ["CMD-SHELL", "test -f /tmp/ready"], interval: 0.2s, start_interval: 0.1s, retries: 50}
  migrate:
    <<: *base
    command: ["sh", "-c", "echo migrated"]
  web:
    <<: *base
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
  proxy:
    <<: *base
    depends_on: [web]
""")
    r = hoist("up", "-d", "--wait")
    out = lines(r.err)
    pos: dict[str, int] = {}
    for i, text in enumerate(out):
        pos.setdefault(text, i)  # the first time: --wait reports "Healthy" again afterwards
    name = hoist.project
    assert pos[f"Container {name}-db-1 Healthy"] < pos[f"Container {name}-web-1 Starting"]
    assert pos[f"Container {name}-migrate-1 Exited"] < pos[f"Container {name}-web-1 Starting"]
    assert pos[f"Container {name}-web-1 Started"] < pos[f"Container {name}-proxy-1 Starting"]
    states = hoist.states()
    assert states == {f"{name}-db-1": "running", f"{name}-migrate-1": "exited", f"{name}-web-1": "running",
                      f"{name}-proxy-1": "running"}
    ps = {c["Service"]: c for c in hoist.ps()}
    assert ps["db"]["Health"] == "healthy" and ps["migrate"]["ExitCode"] == 0


def test_dependency_that_never_gets_healthy(hoist: Hoist, busybox_image: str) -> None:
    compose(hoist, busybox_image, """
  db:
    <<: *base
    healthcheck: {test: ["CMD-SHELL", "echo db not ready; exit 1"], interval: 0.2s, retries: 2}
  web:
    <<: *base
    depends_on:
      db: {condition: service_healthy}
  other:
    <<: *base
""")
    r = hoist("up", "-d", check=False)
    assert r.rc == 1
    assert f"container {hoist.project}-db-1 is unhealthy" in r.err
    assert "db not ready" in r.err  # the last health output
    assert "Traceback" not in r.err
    states = hoist.states()
    assert states[f"{hoist.project}-web-1"] == "created"  # created as compose does, never started
    assert states[f"{hoist.project}-other-1"] == "running"  # independent services still came up


def test_recreate_only_on_change_scale_and_orphans(hoist: Hoist, busybox_image: str) -> None:
    two = """
  db:
    <<: *base
  web:
    <<: *base
    command: ["sleep", "1001"]
"""
    compose(hoist, busybox_image, two)
    hoist("up", "-d")
    ids = {c["Name"]: c["ID"] for c in hoist.ps()}
    again = hoist("up", "-d")
    assert "Nothing to do" in again.err
    assert {c["Name"]: c["ID"] for c in hoist.ps()} == ids
    compose(hoist, busybox_image, two.replace("1001", "1002"))
    r = hoist("up", "-d")
    p = hoist.project
    assert f"Container {p}-web-1 Recreated" in r.err and f"Container {p}-db-1 Running" in r.err
    now = {c["Name"]: c["ID"] for c in hoist.ps()}
    assert now[f"{p}-db-1"] == ids[f"{p}-db-1"] and now[f"{p}-web-1"] != ids[f"{p}-web-1"]
    hoist("up", "-d", "--scale", "web=3")
    assert sorted(c["Name"] for c in hoist.ps("web")) == [f"{p}-web-1", f"{p}-web-2", f"{p}-web-3"]
    assert hoist.ps("db")[0]["ID"] == ids[f"{p}-db-1"]
    hoist("up", "-d")  # back to the file's scale: 1
    assert [c["Name"] for c in hoist.ps("web")] == [f"{p}-web-1"]
    compose(hoist, busybox_image, two.replace("1001", "1002").split("  web:")[0])
    r = hoist("up", "-d")
    assert "orphan containers" in r.err and f"{p}-web-1" in r.err
    assert f"{p}-web-1" in hoist.states()
    hoist("up", "-d", "--remove-orphans")
    assert list(hoist.states()) == [f"{p}-db-1"]


def test_down_keeps_volumes_and_down_v_removes_them(hoist: Hoist, busybox_image: str) -> None:
    compose(hoist, busybox_image, """
  app:
    <<: *base
    volumes: ["data:/data"]
""", "volumes:\n  data: {}\n")
    hoist("up", "-d")
    assert hoist("exec", "-T", "app", "sh", "-c", "echo kept > /data/f").rc == 0
    hoist("down")
    assert hoist.states() == {}
    hoist("up", "-d")
    assert hoist("exec", "-T", "app", "cat", "/data/f").rc == 0
    hoist("down", "-v")
    from runtime.engine import open_engine

    assert [v.name for v in open_engine(hoist.root).volume_list()] == []


def test_ctrl_c_stops_in_reverse_order_and_exits_130(hoist: Hoist, busybox_image: str) -> None:
    compose(hoist, busybox_image, """
  db:
    <<: *base
    command: ["sh", "-c", "echo db says hello; exec sleep 1000"]
  web:
    <<: *base
    depends_on: [db]
    command: ["sh", "-c", "echo web says hello; exec sleep 1000"]
""")
    proc = hoist.popen("up")
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    wait_for(lambda: any("web says hello" in ln for ln in seen) and any("db says hello" in ln for ln in seen),
             what="both services' first log lines")
    assert any(ln.startswith("db-1") and "|" in ln for ln in seen)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    stop_lines = [ln for ln in lines(err) if ln.endswith("Stopped")]
    assert stop_lines == [f"Container {hoist.project}-web-1 Stopped", f"Container {hoist.project}-db-1 Stopped"]
    assert set(hoist.states().values()) == {"exited"}


def test_second_ctrl_c_kills(hoist: Hoist, busybox_image: str) -> None:
    compose(hoist, busybox_image, """
  stubborn:
    <<: *base
    init: false
    stop_grace_period: 60s
    command: ["sh", "-c", "trap '' TERM; echo ignoring TERM; while :; do sleep 0.1; done"]
""")
    proc = hoist.popen("up")
    wait_for(lambda: proc.stdout.readline().find("ignoring TERM") >= 0, what="the service's log line")  # type: ignore[union-attr]
    os.killpg(proc.pid, signal.SIGINT)
    wait_for(lambda: hoist.states().get(f"{hoist.project}-stubborn-1") == "running", what="still running")
    os.killpg(proc.pid, signal.SIGINT)
    proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert hoist.states()[f"{hoist.project}-stubborn-1"] == "exited"


def test_exit_code_from_and_abort_on_failure(hoist: Hoist, busybox_image: str) -> None:
    compose(hoist, busybox_image, """
  worker:
    <<: *base
  job:
    <<: *base
    command: ["sh", "-c", "echo job done; exit 3"]
""")
    r = hoist("up", "--exit-code-from", "job", check=False, timeout=60)
    assert r.rc == 3
    assert "job-1    | job done" in r.out  # padded to the widest name, worker-1
    assert "job-1 exited with code 3" in r.out
    assert hoist.states()[f"{hoist.project}-worker-1"] == "exited"  # the rest was stopped


def test_kill_9_mid_up_then_up_again_and_concurrent_up(hoist: Hoist, busybox_image: str) -> None:
    services = "".join(f"""
  s{i}:
    <<: *base
""" for i in range(6))
    compose(hoist, busybox_image, services)
    proc = hoist.popen("up", "-d")
    wait_for(lambda: any(c["State"] == "running" for c in hoist.ps()), what="a first container to run")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    # Two `up` at once after the crash: both converge, nothing is duplicated.
    a, b = hoist.popen("up", "-d"), hoist.popen("up", "-d")
    for p in (a, b):
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    states = hoist.states()
    assert sorted(states) == sorted(f"{hoist.project}-s{i}-1" for i in range(6))
    assert set(states.values()) == {"running"}
    hoist("down")
    assert hoist.states() == {}


def test_run_one_off_exit_code_and_cleanup(hoist: Hoist, busybox_image: str) -> None:
    compose(hoist, busybox_image, """
  db:
    <<: *base
  tool:
    <<: *base
    depends_on: [db]
""")
    r = hoist("run", "--rm", "-e", "WHO=you", "tool", "sh", "-c", "echo hello $WHO; exit 5", check=False)
    assert r.rc == 5 and "hello you" in r.out
    states = hoist.states()
    assert states == {f"{hoist.project}-db-1": "running"}  # the dependency started, the one-off removed
    r = hoist("run", "-d", "tool", "sleep", "1000")
    name = r.out.strip()
    assert name.startswith(f"{hoist.project}-tool-run-")
    assert hoist.states()[name] == "running"
    hoist("down")
    assert hoist.states() == {}


def test_run_volume_flag_replaces_the_services_mount_at_the_same_place(hoist: Hoist, busybox_image: str) -> None:
    (hoist.workdir / "here").mkdir()
    (hoist.workdir / "here" / "f").write_text("from -v\n")
    compose(hoist, busybox_image, """
  tool:
    <<: *base
    volumes: [data:/data]
""", extra="volumes:\n  data: {}\n")
    r = hoist("run", "--rm", "-v", "./here:/data", "tool", "cat", "/data/f")
    assert r.out.strip() == "from -v"  # one mount at /data, the flag's


def test_run_cap_add_cap_drop_and_env_from_file(hoist: Hoist, busybox_image: str) -> None:
    compose(hoist, busybox_image, """
  tool:
    <<: *base
    environment: {FROM_SERVICE: s, B: service}
""")
    (hoist.workdir / "extra.env").write_text("A=from-file\nB=${A}-b\nC=from-file\n")
    r = hoist("run", "--rm", "-e", "A=from-flag", "--env-from-file", "extra.env", "tool",
              "sh", "-c", "echo $A $B $C $FROM_SERVICE")
    # -e wins over the file, the file (which sees -e's A) over the service, the service's other keys stay.
    assert r.out.split() == ["from-flag", "from-flag-b", "from-file", "s"]

    def caps(*flags: str) -> int:
        out = hoist("run", "--rm", *flags, "tool", "grep", "CapEff", "/proc/self/status").out
        return int(out.split()[-1], 16)

    net_admin, chown = 1 << 12, 1 << 0
    default = caps()
    assert not default & net_admin and default & chown  # Docker's 14: CHOWN yes, NET_ADMIN no
    assert caps("--cap-add", "NET_ADMIN") == default | net_admin
    assert caps("--cap-drop", "CHOWN") == default & ~chown
    assert hoist.states() == {}  # every one-off removed


def test_run_is_interactive_as_compose_run(hoist: Hoist, busybox_image: str) -> None:
    """A TTY when our stdin is a terminal (whatever the service's `tty:`), stdin forwarded otherwise (-T)."""
    import subprocess

    from tests.support.pty import PtyReader

    compose(hoist, busybox_image, """
  tool:
    <<: *base
""")
    r = hoist("run", "--rm", "-T", "tool", "sh", "-c", "read a; read b; echo got $a $b", input="one\ntwo\n")
    assert r.rc == 0 and r.out.split() == ["got", "one", "two"]
    for _ in range(3):  # exits before the CLI could connect to feed stdin: not an error
        r = hoist("run", "--rm", "tool", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
        assert (r.rc, r.out, r.err.strip().splitlines()[-1]) == (3, "out\n", "err"), r.err
    master, slave = os.openpty()
    proc = subprocess.Popen(hoist.argv("run", "--rm", "tool", "sh"), cwd=hoist.workdir, env={**hoist.env, "TERM": "dumb"},
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = PtyReader(master)
    try:
        out.expect(b"# ")  # the prompt of an interactive shell
        os.write(master, b"tty; echo $((6*7))\r")
        out.expect(b"42")
        assert b"/dev/pts/0" in out.seen
        os.write(master, b"exit 7\r")
        assert proc.wait(timeout=20) == 7
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert hoist.states() == {}  # --rm removed the one-offs


def test_run_of_a_profiled_service_enables_its_profile(hoist: Hoist, busybox_image: str) -> None:
    compose(hoist, busybox_image, """
  app:
    <<: *base
  debug:
    <<: *base
    profiles: [tools]
    command: ["echo", "debugging"]
""")
    r = hoist("run", "--rm", "debug")
    assert r.rc == 0 and r.out.strip() == "debugging"
    assert hoist.states() == {}  # targeting `debug` enabled it alone: `app` was not started
    r = hoist("up", "-d", check=False)
    assert set(hoist.states()) == {f"{hoist.project}-app-1"}  # without targeting, `debug` stays off


def test_host_port_held_by_another_program_is_the_reported_error(hoist: Hoist, busybox_image: str,
                                                                  subnet: object) -> None:
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        hoist.write(f"""services:
  web:
    image: {busybox_image}
    init: true
    command: ["sleep", "1000"]
    ports: ["127.0.0.1:{port}:80"]
networks:
  default:
    ipam:
      config: [{{subnet: "{subnet}"}}]
""")
        r = hoist("up", "-d", check=False)
        assert r.rc == 1
        assert f"web: Bind for 127.0.0.1:{port} failed: port is already allocated" in r.err, r.err
        assert "no such container" not in r.err and "Traceback" not in r.err
        assert hoist.states() == {}
    finally:
        holder.close()


def test_recreate_keeps_anonymous_volumes_unless_renewed(hoist: Hoist, busybox_image: str) -> None:
    """As compose: a config change recreates the container but its anonymous volumes (a database's data)
    carry over; `up -V` starts with fresh ones; `down -v` removes whatever is in use."""
    service = """
  db:
    <<: *base
    volumes: ["/data"]
    environment: {{REV: "{rev}"}}
"""

    def volumes() -> set[str]:
        return set(hoist("volume", "ls", "-q").out.split())  # the test's own root: only this project's

    compose(hoist, busybox_image, service.format(rev=1))
    hoist("up", "-d")
    name = f"{hoist.project}-db-1"
    hoist("exec", "db", "sh", "-c", "echo kept > /data/file")
    compose(hoist, busybox_image, service.format(rev=2))
    r = hoist("up", "-d")
    assert f"Container {name} Recreated" in r.err
    assert hoist("exec", "db", "cat", "/data/file").out == "kept\n"
    assert len(volumes()) == 1  # the same volume, not a second one
    compose(hoist, busybox_image, service.format(rev=3))
    hoist("up", "-d", "-V")
    assert hoist("exec", "db", "sh", "-c", "cat /data/file || echo fresh").out.strip().endswith("fresh")
    assert len(volumes()) == 1  # -V removed the old one
    hoist("down", "-v")
    assert volumes() == set()
