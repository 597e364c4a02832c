"""`hoist up --watch` streams the services' logs, as docker compose does: prefixed lines interleaved with the
watch events, the output of containers a watch action restarts or replaces included, each line once; Ctrl-C
ends watching and following, then stops the services.

Each container run prints a token of its own (a random UUID), so a line printed twice, or a run whose lines
never showed, is visible.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.support.cli import Hoist, wait_for
from tests.support.watch_project import WatchProcess, session_alive

# One line per run: what /data/v.txt (synced) or /msg (built in) says, and the run's own token.
RUN_LINE = re.compile(r"^(?P<prefix>\S+ +\| )(?P<what>\w+ \S+) run=(?P<run>[0-9a-f-]{36})$")


def _runs(w: WatchProcess, prefix: str) -> list[str]:
    """The ``what`` of every run line with ``prefix`` (``app-1  | ``), failing on a run printed twice."""
    seen: dict[str, str] = {}
    for line in w.text().splitlines():
        m = RUN_LINE.match(line)
        if m and m["prefix"] == prefix:
            assert m["run"] not in seen, f"a line printed twice: {line}\n{w.text()}"
            seen[m["run"]] = m["what"]
    return list(seen.values())


def test_up_watch_streams_logs_across_a_restart_and_ctrl_c_stops(hoist_root: Path, busybox_image: str,
                                                                   project_name: str, tmp_path: Path) -> None:
    from runtime.engine import open_engine

    (tmp_path / "src").mkdir()
    h = Hoist(hoist_root, tmp_path, project_name)
    h.write(f"""services:
  app:
    image: {busybox_image}
    network_mode: none
    init: true
    stop_grace_period: 1s
    command: ["sh", "-c", "echo \\"says $$(cat /data/v.txt 2>/dev/null || echo none) run=$$(cat /proc/sys/kernel/random/uuid)\\"; exec sleep 1000"]
    develop:
      watch:
        - {{path: ./src, action: sync+restart, target: /data}}
  side:
    image: {busybox_image}
    network_mode: none
    init: true
    command: ["sh", "-c", "echo side is up; exec sleep 1000"]
  quiet:
    image: {busybox_image}
    network_mode: none
    init: true
    command: ["sh", "-c", "echo quiet is up; exec sleep 1000"]
""")
    w = WatchProcess(h.popen("up", "--watch", "--no-attach", "quiet"))
    try:
        w.wait_line("Watch enabled", timeout=60)
        # Every attached service, watched or not, with compose's prefix padded to the widest name.
        assert w.wait_line("Attaching to") == "Attaching to app-1, side-1"
        w.wait_line("side-1 | side is up")
        w.wait_line("app-1  | says none run=")
        assert _runs(w, "app-1  | ") == ["says none"]

        # sync+restart: the restarted run's first line shows.
        mark = w.mark()
        (tmp_path / "src" / "v.txt").write_text("two\n")
        w.wait_line("app-1  | says two run=", after=mark)
        assert "sync+restart" in w.wait_line("watch: app: src/v.txt", after=mark)
        assert _runs(w, "app-1  | ") == ["says none", "says two"]

        # A container replaced from outside (a new id, the same name) is followed from its first line.
        engine = open_engine(hoist_root)
        old_id = engine.container_inspect(f"{project_name}-app-1").id
        h("up", "-d", "--force-recreate", "--no-deps", "app")
        assert engine.container_inspect(f"{project_name}-app-1").id != old_id
        # The recreated container starts from its image, then watch re-syncs v.txt and restarts it.
        try:
            wait_for(lambda: len(_runs(w, "app-1  | ")) >= 4, what="the recreated container's runs")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{w.text()}") from None

        code = w.interrupt()
        assert code == 130, w.text()  # as an attached `up` ended by Ctrl-C
        runs = _runs(w, "app-1  | ")
        assert len(runs) == 4 and runs[-1] == "says two", w.text()
        assert "quiet is up" not in w.text()  # --no-attach
        assert {c["Service"]: c["State"] for c in h.ps()} == {"app": "exited", "side": "exited",
                                                              "quiet": "exited"}
        assert "side-1 exited with code" in w.text()
        assert not session_alive(w.proc.pid)
    finally:
        w.kill()
        h("down", "-t", "1", check=False)


def test_up_watch_follows_the_container_a_rebuild_recreates(hoist_root: Path, busybox_image: str,
                                                           project_name: str, tmp_path: Path) -> None:
    (tmp_path / "msg").write_text("build one\n")
    (tmp_path / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY msg /msg\n")
    h = Hoist(hoist_root, tmp_path, project_name)
    h.write("""services:
  web:
    build: .
    network_mode: none
    init: true
    stop_grace_period: 1s
    command: ["sh", "-c", "echo \\"$$(cat /msg) run=$$(cat /proc/sys/kernel/random/uuid)\\"; exec sleep 1000"]
    develop:
      watch:
        - {path: ./msg, action: rebuild}
""")
    w = WatchProcess(h.popen("up", "--watch", "--no-color", "--timestamps"))
    try:
        w.wait_line("Watch enabled", timeout=60)
        first = w.wait_line("web-1 | ")
        # --timestamps: the line's time right after the prefix, as `up --timestamps`.
        assert re.match(r"web-1 \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z build one run=", first), first

        mark = w.mark()
        (tmp_path / "msg").write_text("build two\n")
        line = w.wait_line("build two run=", timeout=60, after=mark)
        assert line.startswith("web-1 | ")
        assert "recreated" in w.wait_line("watch: web: msg", timeout=30, after=mark)

        assert w.interrupt() == 130, w.text()
        lines = [x for x in w.text().splitlines() if " run=" in x]
        assert [x.split(" ", 3)[3].split(" run=")[0] for x in lines] == ["build one", "build two"], w.text()
        assert len({x.split(" run=")[1] for x in lines}) == 2
        assert [c["State"] for c in h.ps()] == ["exited"]
    finally:
        w.kill()
        h("down", "-t", "1", "--rmi", "local", check=False)


def test_up_watch_second_ctrl_c_kills_what_the_first_is_stopping(hoist_root: Path, busybox_image: str,
                                                                 project_name: str, tmp_path: Path) -> None:
    """As an attached `up`: the Ctrl-C that ends watching stops the services with their grace period, and a
    second one kills them (the stubborn service would otherwise hold the stop for 60 s)."""
    import signal

    (tmp_path / "src").mkdir()
    h = Hoist(hoist_root, tmp_path, project_name)
    h.write(f"""services:
  stubborn:
    image: {busybox_image}
    network_mode: none
    stop_grace_period: 60s
    command: ["sh", "-c", "trap '' TERM; echo ignoring TERM; while :; do sleep 0.1; done"]
    develop:
      watch:
        - {{path: ./src, action: sync, target: /data}}
""")
    w = WatchProcess(h.popen("up", "--watch"))
    try:
        w.wait_line("Watch enabled", timeout=60)
        w.wait_line("stubborn-1 | ignoring TERM")
        w.proc.send_signal(signal.SIGINT)  # ends watching; the stop begins
        w.wait_line("Watch disabled")
        assert w.proc.poll() is None  # held by the stubborn service's grace period
        assert h.ps()[0]["State"] == "running"
        started = time.monotonic()
        w.proc.send_signal(signal.SIGINT)
        assert w.proc.wait(timeout=20) == 130, w.text()
        assert time.monotonic() - started < 15
        assert {c["Service"]: c["State"] for c in h.ps()} == {"stubborn": "exited"}
    finally:
        w.kill()
        h("down", "-t", "0", check=False)
