"""`hoist volumes` and `hoist attach` on the real runtime: the project's volumes and a service filter; attach
streams a non-TTY service's output live and exits with its exit code, forwards ^C (sig-proxy), refuses a
stopped container; on a TTY service, the user's terminal (a pty here) drives its shell and the detach keys
leave it running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.support.cli import Hoist, wait_for
from tests.support.pty import PtyReader


def _compose(h: Hoist, busybox_image: str, services: str, tail: str = "") -> None:
    h.write(f"""x-base: &base
  image: {busybox_image}
  network_mode: none
  init: true
services:
{services}
{tail}""")


def test_volumes_of_the_project_and_of_a_service(hoist_root: Path, busybox_image: str, project_name: str,
                                                 tmp_path: Path) -> None:
    h = Hoist(hoist_root, tmp_path, project_name)
    _compose(h, busybox_image, """  a:
    <<: *base
    command: ["sleep", "1000"]
    volumes: ["one:/one"]
  b:
    <<: *base
    command: ["sleep", "1000"]
    volumes: ["two:/two", "./:/host"]
""", "volumes:\n  one: {}\n  two: {}\n")
    try:
        h("up", "-d", timeout=120)
        h("volume", "create", "unrelated")  # not the project's: never listed
        one, two = f"{project_name}_one", f"{project_name}_two"
        lines = h("volumes").out.splitlines()
        assert lines[0] == "DRIVER    VOLUME NAME"
        assert sorted(lines[1:]) == [f"local     {one}", f"local     {two}"]
        assert h("volumes", "a").out.splitlines()[1:] == [f"local     {one}"]
        assert h("volumes", "-q", "b").out.split() == [two]
        assert sorted(h("volumes", "-q", "a", "b").out.split()) == [one, two]
        rows = [json.loads(line) for line in h("volumes", "--format", "json", "a").out.splitlines()]
        assert [(r["Name"], r["Driver"]) for r in rows] == [(one, "local")]
        assert rows[0]["Mountpoint"].endswith(f"/volumes/{one}/_data")
        assert h("volumes", "--format", "{{.Name}}", "b").out == f"{two}\n"
        r = h("volumes", "nope", check=False)
        assert r.rc == 1 and "no such service: nope" in r.err
    finally:
        h("down", "-v", "-t", "0", check=False)
        h("volume", "rm", "unrelated", check=False)


def test_attach_streams_a_services_output_and_exits_with_its_code(hoist_root: Path, busybox_image: str,
                                                                  project_name: str, tmp_path: Path) -> None:
    h = Hoist(hoist_root, tmp_path, project_name)
    _compose(h, busybox_image, """  counter:
    <<: *base
    command: ["sh", "-c", "sleep 1.5; i=0; while [ $$i -lt 12 ]; do i=$$((i+1)); echo line $$i; echo err $$i >&2; sleep 0.2; done; exit 3"]
  once:
    <<: *base
    command: ["true"]
""")
    try:
        h("up", "-d", timeout=120)
        r = h("attach", "counter", timeout=30, check=False)
        assert r.rc == 3, r
        out = r.out.splitlines()
        assert out and out[-1] == "line 12", r
        first = int(out[0].split()[1])
        assert out == [f"line {i}" for i in range(first, 13)]  # live from when it attached, in order
        assert "err 12" in r.err
        wait_for(lambda: h.states().get(f"{project_name}-once-1") == "exited", what="once to exit")
        r = h("attach", "once", check=False)
        assert r.rc == 1 and "You cannot attach to a stopped container, start it first" in r.err, r
        r = h("container", "attach", f"{project_name}-once-1", check=False)
        assert r.rc == 1 and "You cannot attach to a stopped container, start it first" in r.err, r
    finally:
        h("down", "-v", "-t", "0", check=False)


def test_attach_forwards_stdin_to_a_stdin_open_service(hoist_root: Path, busybox_image: str, project_name: str,
                                                       tmp_path: Path) -> None:
    h = Hoist(hoist_root, tmp_path, project_name)
    _compose(h, busybox_image, """  reader:
    <<: *base
    stdin_open: true
    command: ["sh", "-c", "read a; echo got $$a; read b; echo got $$b >&2; exit 6"]
""")
    try:
        h("up", "-d", timeout=120)
        r = h("attach", "reader", input="one\ntwo\n", timeout=30, check=False)
        assert (r.rc, r.out, r.err) == (6, "got one\n", "got two\n"), r
    finally:
        h("down", "-v", "-t", "0", check=False)


def test_a_services_stdin_outlives_an_attach(hoist_root: Path, busybox_image: str, project_name: str,
                                            tmp_path: Path) -> None:
    """docker's attach leaves a service's stdin open when the attach's input ends (StdinOnce is off for
    services): a second attach feeds the same process."""
    h = Hoist(hoist_root, tmp_path, project_name)
    _compose(h, busybox_image, """  echo:
    <<: *base
    stdin_open: true
    command: ["sh", "-c", "while read line; do echo got $$line; done; echo stdin closed; sleep 1000"]
""")
    name = f"{project_name}-echo-1"

    def attach_and_leave(text: str) -> None:
        proc = subprocess.Popen(h.argv("attach", "--sig-proxy=false", "echo"), cwd=h.workdir, env=h.env,
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            assert proc.stdin is not None
            proc.stdin.write(f"{text}\n".encode())
            proc.stdin.close()  # our input ends here
            wait_for(lambda: f"got {text}" in h("logs", "echo").out, what=f"{text!r} read by the service")
        finally:
            proc.send_signal(signal.SIGINT)  # without sig-proxy, ^C detaches
            proc.wait(timeout=15)

    try:
        h("up", "-d", timeout=120)
        attach_and_leave("one")
        attach_and_leave("two")
        assert "stdin closed" not in h("logs", "echo").out
        assert h.states()[name] == "running"
        inspect = json.loads(h("container", "inspect", name).out)[0]
        assert (inspect["Config"]["OpenStdin"], inspect["Config"]["StdinOnce"]) == (True, False)
    finally:
        h("down", "-v", "-t", "0", check=False)


def test_attach_forwards_interrupt_with_sig_proxy(hoist_root: Path, busybox_image: str, project_name: str,
                                                  tmp_path: Path) -> None:
    h = Hoist(hoist_root, tmp_path, project_name)
    _compose(h, busybox_image, """  trapper:
    <<: *base
    command: ["sh", "-c", "trap 'echo got INT; exit 7' INT; echo ready; while true; do sleep 0.1; done"]
""")
    try:
        h("up", "-d", timeout=120)
        wait_for(lambda: "ready" in h("logs", "trapper").out, what="the trap to be set")
        proc = h.popen("attach", "--sig-proxy=false", "trapper")
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)  # without sig-proxy: ^C detaches, the container goes on
        proc.communicate(timeout=15)
        assert proc.returncode == 130
        assert h.states()[f"{project_name}-trapper-1"] == "running"
        proc = h.popen("attach", "trapper")
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 7, (out, err)
        assert "got INT" in out
    finally:
        h("down", "-v", "-t", "0", check=False)


def test_attach_to_a_tty_service_and_detach_with_the_keys(hoist_root: Path, busybox_image: str,
                                                          project_name: str, tmp_path: Path) -> None:
    h = Hoist(hoist_root, tmp_path, project_name)
    _compose(h, busybox_image, """  shell:
    <<: *base
    tty: true
    stdin_open: true
    command: ["sh"]
""")
    name = f"{project_name}-shell-1"

    def attach(*flags: str) -> tuple[subprocess.Popen[bytes], int, PtyReader]:
        master, slave = os.openpty()
        proc = subprocess.Popen(h.argv("attach", *flags, "shell"), cwd=h.workdir, env={**h.env, "TERM": "dumb"},
                                stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        return proc, master, PtyReader(master)

    try:
        h("up", "-d", timeout=120)
        proc, master, out = attach()
        try:
            time.sleep(0.5)
            os.write(master, b"echo $((6*7))\r")
            out.expect(b"42")
            os.write(master, b"\x10\x11")  # ctrl-p ctrl-q: docker's default detach keys
            assert proc.wait(timeout=15) == 0
            out.expect(b"read escape sequence")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
        assert h.states()[name] == "running"
        proc, master, out = attach("--detach-keys", "ctrl-a,b")
        try:
            time.sleep(0.5)
            os.write(master, b"echo $((7*8))\r")
            out.expect(b"56")
            os.write(master, b"exit 5\r")
            assert proc.wait(timeout=15) == 5
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
        assert h.states()[name] == "exited"
    finally:
        h("down", "-v", "-t", "0", check=False)
