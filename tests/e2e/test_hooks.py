"""post_start / pre_stop hooks on the real runtime: they run inside the container (its user, working directory
and environment), post_start before `up` reports it Started, pre_stop before the stop signal; a failing hook
is an error naming the service, with its output."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import Hoist


def test_hooks_run_in_the_container_around_start_and_stop(hoist_root: Path, busybox_image: str, project_name: str,
                                                          tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out").chmod(0o777)  # the post_start hook writes as uid 1000
    h = Hoist(hoist_root, tmp_path, project_name)
    h.write(f"""services:
  web:
    image: {busybox_image}
    network_mode: none
    init: true
    command: ["sh", "-c", "trap 'echo stopped-by-signal >> /out/log; exit 0' TERM; while :; do sleep 0.1; done"]
    volumes: ["./out:/out"]
    post_start:
      - command: ["sh", "-c", "echo post_start $$HOOK_VAR $$(id -u) $$(pwd) >> /out/log"]
        environment: {{HOOK_VAR: hello}}
        user: "1000"
        working_dir: /tmp
    pre_stop:
      - command: ["sh", "-c", "echo pre_stop >> /out/log"]
""")
    try:
        h("up", "-d")
        assert (tmp_path / "out" / "log").read_text().splitlines() == ["post_start hello 1000 /tmp"]
        h("stop")
        assert (tmp_path / "out" / "log").read_text().splitlines() == [
            "post_start hello 1000 /tmp", "pre_stop", "stopped-by-signal"]
    finally:
        h("down", "-t", "0", check=False)


def test_a_failing_hook_is_the_services_error_with_its_output(hoist_root: Path, busybox_image: str,
                                                              project_name: str, tmp_path: Path) -> None:
    h = Hoist(hoist_root, tmp_path, project_name)
    h.write(f"""services:
  web:
    image: {busybox_image}
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    post_start:
      - command: ["sh", "-c", "echo could not warm the cache >&2; exit 3"]
    pre_stop:
      - command: ["false"]
""")
    try:
        r = h("up", "-d", check=False)
        assert r.rc != 0
        assert "web hook exited with status 3" in r.err and "could not warm the cache" in r.err, r.err
        assert h.states()[f"{project_name}-web-1"] == "running"  # as compose: a failed hook does not stop it
        r = h("stop", check=False)
        assert r.rc != 0 and "web hook exited with status 1" in r.err, r.err
        assert h.states()[f"{project_name}-web-1"] == "running"  # the stop was aborted
    finally:
        h("down", "-t", "0", check=False)


def test_run_one_offs_get_the_post_start_hooks_too(hoist_root: Path, busybox_image: str, project_name: str,
                                                   tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    h = Hoist(hoist_root, tmp_path, project_name)
    h.write(f"""services:
  tool:
    image: {busybox_image}
    network_mode: none
    volumes: ["./out:/out"]
    post_start:
      - command: ["sh", "-c", "echo hooked > /out/mark"]
""")
    try:
        h("run", "-d", "tool", "sleep", "1000")
        assert (tmp_path / "out" / "mark").read_text() == "hooked\n"  # -d: done before run returns
        (tmp_path / "out" / "mark").unlink()
        # Attached: the hook runs beside the run; the command waits for its mark.
        r = h("run", "--rm", "-T", "tool", "sh", "-c",
              "for i in $(seq 100); do [ -e /out/mark ] && break; sleep 0.05; done; cat /out/mark")
        assert r.out.strip() == "hooked", r
    finally:
        h("down", "-t", "0", "--remove-orphans", check=False)
