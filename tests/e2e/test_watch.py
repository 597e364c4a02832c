"""`hoist watch` end to end: a Python HTTP service from the Debian image, every action, re-sync on recreate,
a failing build that keeps the old container, and nothing left behind after Ctrl-C.

One project and one watcher carry all the phases: bringing the service up (a build and a start) is most of
the cost, so the phases share it.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import Hoist, wait_for
from tests.support.watch_project import WatchProcess, free_port, get, session_alive, write_project


def test_watch_actions_end_to_end(hoist_root: Path, debian_image: str, project_name: str, tmp_path: Path) -> None:
    port = free_port()
    write_project(tmp_path, debian_image, port)
    h = Hoist(hoist_root, tmp_path, project_name)
    w = WatchProcess(h.popen("watch"))
    try:
        w.wait_line("Watch enabled", timeout=120)
        status, first = wait_for(lambda: (s := get(port, "/version"))[0] == 200 and s, what="the service")
        assert first.startswith("v1 ")

        # sync+restart: the edit is served by the restarted process.
        (tmp_path / "app" / "version.py").write_text('VERSION = "v2"\n')
        wait_for(lambda: get(port, "/version")[1].startswith("v2 "), what="v2 served after sync+restart")
        assert "web watch[0] sync+restart" in w.wait_line("app/version.py")
        v2 = get(port, "/version")[1]

        # sync: a new file, a new directory and a deletion reach the container, owned as the service's user;
        # no restart (the most specific rule, ./app/static, is a plain sync).
        static = tmp_path / "app" / "static"
        (static / "new.txt").write_text("fresh\n")
        (static / "sub").mkdir()
        (static / "sub" / "deep.txt").write_text("deep\n")
        wait_for(lambda: get(port, "/cat?path=/app/static/sub/deep.txt")[1] == "deep\n", what="new directory")
        assert get(port, "/cat?path=/app/static/new.txt")[1] == "fresh\n"
        assert get(port, "/stat?path=/app/static/new.txt")[1] == "1000:1000"
        (static / "keep.txt").unlink()
        wait_for(lambda: get(port, "/cat?path=/app/static/keep.txt")[0] == 404, what="deletion synced")
        assert get(port, "/version")[1] == v2  # a plain sync restarts nothing

        # Ignored files do nothing: an ignored pattern, an editor swap file; then a real change as a fence.
        mark = w.mark()
        (tmp_path / "app" / "debug.log").write_text("noise\n")
        (static / ".new.txt.swp").write_text("swap\n")
        (static / "fence.txt").write_text("fence\n")
        wait_for(lambda: get(port, "/cat?path=/app/static/fence.txt")[1] == "fence\n", what="the fence file")
        assert get(port, "/cat?path=/app/debug.log")[0] == 404
        assert get(port, "/cat?path=/app/static/.new.txt.swp")[0] == 404
        assert "debug.log" not in "\n".join(w.lines[mark:]) and ".swp" not in "\n".join(w.lines[mark:])
        assert get(port, "/version")[1] == v2

        # sync+exec runs its command (as the service's user) after the sync.
        (tmp_path / "hooks" / "msg").write_text("hello\n")
        wait_for(lambda: get(port, "/cat?path=/tmp/exec-ran")[1] == "hello\n", what="sync+exec command")
        assert "ran `sh -c " in w.wait_line("hooks/msg")

        # A recreated container starts from its image: the watcher pushes the host tree in again.
        h("up", "-d", "--force-recreate", "web")
        w.wait_line("container created: synced")
        wait_for(lambda: get(port, "/cat?path=/app/static/fence.txt")[1] == "fence\n", what="re-sync")
        wait_for(lambda: get(port, "/version")[1].startswith("v2 "), what="v2 after the re-sync")

        # rebuild: the new image has the new requirements, in a recreated container.
        before = get(port, "/version")[1]
        (tmp_path / "requirements.txt").write_text("flask==2\n")
        wait_for(lambda: get(port, "/cat?path=/app/requirements.txt")[1] == "flask==2\n", timeout=90,
                 what="rebuilt image served")
        line = w.wait_line("watch: web: requirements.txt")
        assert "rebuild" in line and "recreated" in line, line

        # A failing build is reported and the running container is kept.
        running = wait_for(lambda: (s := get(port, "/version"))[0] == 200 and s[1], what="service after rebuild")
        assert running != before
        mark = w.mark()
        (tmp_path / "requirements.txt").write_text("broken\n")
        assert "ERROR: build of web failed" in w.wait_line("ERROR", timeout=90, after=mark)
        assert get(port, "/version")[1] == running

        # Ctrl-C: the watcher stops promptly, leaving no process of its own behind.
        pgid = w.proc.pid
        assert w.interrupt() == 0
        assert not session_alive(pgid)
        assert get(port, "/version")[0] == 200  # stopping the watch does not stop the service
    finally:
        w.kill()
        h("down", "-t", "1", "--rmi", "local", check=False)


def test_up_watch_syncs_and_ctrl_c_stops_the_attached_services(hoist_root: Path, busybox_image: str,
                                                                project_name: str, tmp_path: Path) -> None:
    from runtime.engine import open_engine

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("one\n")
    h = Hoist(hoist_root, tmp_path, project_name)
    h.write(f"""services:
  app:
    image: {busybox_image}
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    develop:
      watch:
        - {{path: ./src, action: sync, target: /data, initial_sync: true}}
""")
    w = WatchProcess(h.popen("up", "--watch"))
    try:
        w.wait_line("Watch enabled", timeout=60)
        assert "initial sync: synced 1" in w.wait_line("initial sync")
        engine = open_engine(hoist_root)
        name = f"{project_name}-app-1"

        def in_container(rel: str) -> str | None:
            try:
                return Path(f"/proc/{engine.container_inspect(name).pid}/root/data/{rel}").read_text()
            except OSError:
                return None

        assert in_container("a.txt") == "one\n"
        (tmp_path / "src" / "b.txt").write_text("two\n")
        wait_for(lambda: in_container("b.txt") == "two\n", what="b.txt synced")
        assert w.interrupt() == 130  # as an attached `up` ended by Ctrl-C
        assert engine.container_inspect(name).status == "exited"  # attached `up` stops what it started
    finally:
        w.kill()
        h("down", "-t", "1", check=False)
