"""What a hoist CLI process costs before and around its work, on the busybox test image (root).

Run: .venv/bin/python -m benchmarks.bench_cli [--runs N] [--instructions]
Reports medians of:
- `hoist --version` as a process (the interpreter's floor), next to `python -c pass` (the same venv python);
- `hoist container run --rm --network none busybox true` as a process, alternating with `runc run` of the
  same rootfs (issue 4's target: <= 1.5x), three ways: warm (the root's run server is up: the thin client of
  compose.cli.fastrun), cold (no server when the run starts: it takes the full path and starts a server in
  the background, as a first run does), and the full path alone (HOIST_FASTRUN=0, the figure before the
  server existed); plus the server's share of a warm run (a client in the benchmark's own process) and the
  client's (its process against a stand-in server that answers at once, next to `python -c pass`);
- the CPU time of that command's phases, measured inside one process (start-up to main, imports and parser,
  the engine's import, create, start until exit, remove) and the interpreter's exit;
- `hoist ps` on a running 10-service project (issue 6's target: < 120 ms);
- with --instructions (needs valgrind): the instructions the CLI process itself executes for `container run`
  and `ps`. Unlike times, these do not move with the machine's load: compare them across changes.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._measure import alternate as _alternate
from benchmarks._measure import oci_bundle as _oci_bundle
from benchmarks._measure import on_busybox_root, venv_bin
from benchmarks._measure import row as _row
from benchmarks._measure import time_call as _time

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = venv_bin("python")

HOIST = venv_bin("hoist")
RUN_ARGS = ["container", "run", "--rm", "--network", "none", "busybox:latest", "true"]

# Runs in a fresh process: the phases of `container run --rm` as main() goes through them, CPU seconds each.
PHASES = r"""
import json, os, sys, time
clock = time.process_time
marks = [("interpreter and site", clock())]
from compose.cli import main as cli
sys.argv = ["hoist", *ARGS]
import gc
gc.disable()
from compose.cli import codecache
codecache.install()
args = cli.build_parser(only=cli.invoked_command(ARGS)).parse_args(ARGS)
marks.append(("imports and parser", clock()))
gc.freeze(); gc.enable()
from compose.cli.commands import container
from runtime.engine import open_engine, read_exit
engine = open_engine()
marks.append(("engine import and open", clock()))
state = engine.container_create(container.spec_from_args(args))
marks.append(("create (with its imports)", clock()))
conn = engine.container_start_attached(state.id)
container._stream_until_exit(engine, state.id, conn)
read_exit(conn)
conn.close()
marks.append(("start until exit", clock()))
engine.container_remove(state.id, force=True, volumes=True)
marks.append(("remove", clock()))
times = [t for _, t in marks]
print(json.dumps([(name, t - before) for (name, t), before in zip(marks, [0.0, *times])]))
"""


def _env(root: Path) -> dict[str, str]:
    # A run server tag of the benchmark's own: sources edited meanwhile (other work in the tree) must not send
    # the warm runs to a new server halfway (compose.cli.fastrun.current_tag).
    env = {**os.environ, "HOIST_ROOT": str(root), "HOIST_RUNSERVER_TAG": f"bench{os.getpid()}"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with cached bytecode, as users run it
    return env










def _instructions(cmd: list[str], env: dict[str, str], cwd: Path) -> int | None:
    """Instructions executed by the process ``cmd`` itself (callgrind; children are not followed)."""
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                          env={**env, "PYTHONHASHSEED": "0"}, cwd=cwd, capture_output=True, text=True)
    counts = [int(line.split()[-1]) for line in proc.stderr.splitlines() if "Collected :" in line]
    return counts[-1] if proc.returncode == 0 and counts else None  # the last to finish: the CLI itself


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    args = parser.parse_args()
    return on_busybox_root("bench_cli", "hoist-bench-cli-", functools.partial(_bench, args))


def _bench(args: argparse.Namespace, rootfs: Path, work: Path, root: Path) -> int:
    from tests.support.image_store import cached_store, link_into

    link_into(cached_store(rootfs, "busybox:latest"), root)
    env = _env(root)
    bundle = _oci_bundle(rootfs, work)
    counter = iter(range(10**6))
    print(f"{args.runs} runs each; medians (wall times move with the machine's load: compare within a run)\n")

    def hoist(*argv: str, cwd: Path = work) -> None:
        subprocess.run([HOIST, *argv], check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL)

    def runc_run() -> None:
        subprocess.run(["runc", "run", "--bundle", str(bundle), f"hcli{os.getpid()}-{next(counter)}"],
                       check=True, stdout=subprocess.DEVNULL)

    ours, ref = _alternate(lambda: hoist("--version"), lambda: subprocess.run([PYTHON, "-c", "pass"], env=env),
                           args.runs)
    _row("`hoist --version` process", ours, ref, "python -c pass")
    _run_rows(args.runs, env, work, runc_run)

    phases: dict[str, list[float]] = {}
    code = PHASES.replace("ARGS", repr(RUN_ARGS))
    for _ in range(args.runs):
        out = subprocess.run([PYTHON, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
        for name, seconds in json.loads(out):
            phases.setdefault(name, []).append(seconds)
    print("  CPU time of its phases, in one process:")
    for name, values in phases.items():
        print(f"    {name:<40} {statistics.median(values) * 1000:7.1f} ms")

    project = work / "p10"
    project.mkdir()
    (project / "compose.yaml").write_text("services:\n" + "".join(
        f"  s{i}:\n    image: busybox:latest\n    command: [\"sleep\", \"100000\"]\n    init: true\n"
        for i in range(10)))
    hoist("--progress", "quiet", "up", "-d", cwd=project)
    try:
        ps = statistics.median(_time(lambda: hoist("ps", cwd=project)) for _ in range(args.runs))
        print(f"\n{'`hoist ps`, 10 running services':<44} hoist {ps * 1000:7.1f} ms   (target < 120 ms)")
        if args.instructions:
            _count_instructions(env, work, project)
    finally:
        hoist("--progress", "quiet", "down", "-t", "0", cwd=project)
    return 0


def _run_rows(runs: int, env: dict[str, str], work: Path, runc_run: Callable[[], None]) -> None:
    """`container run --rm true` warm, cold and by the full path, each alternating with `runc run`."""
    from compose.cli import fastrun

    root = env["HOIST_ROOT"]
    os.environ[fastrun.TAG_ENV] = env[fastrun.TAG_ENV]  # for the in-process client below and server_paths
    sock_path, lock_path = fastrun.server_paths(root)

    def run(extra: dict[str, str]) -> None:
        subprocess.run([HOIST, *RUN_ARGS], check=True, env={**env, **extra}, cwd=work, stdout=subprocess.DEVNULL)

    def server_up() -> bool:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(sock_path)
            return True
        except OSError:
            return False
        finally:
            conn.close()  # a connection that sends nothing is dropped by the server

    def no_server() -> bool:
        try:
            fd = os.open(lock_path, os.O_RDWR)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by a server while it lives (or starts)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    # Warm: the server is up before the first timed run and stays up (idle exit 60 s) through all of them.
    warm = {"HOIST_RUNSERVER_IDLE": "60"}
    run(warm)
    _poll(server_up, "the run server to serve")
    ours, ref = _alternate(lambda: run(warm), runc_run, runs)
    _row("`hoist container run --rm true`, warm", ours, ref, "runc run", "(target <= 1.50)")
    in_process = statistics.median(_time(lambda: fastrun.try_run(["--root", root, *RUN_ARGS]))
                                   for _ in range(runs))
    print(f"  of which the server's share (create, start, exit, remove; a client in this process): "
          f"{in_process * 1000:.1f} ms")
    client, python = _client_alone(runs, env, work)
    print(f"  and the client's (its process against a server that answers at once): {client * 1000:.1f} ms; "
          f"python -c pass {python * 1000:.1f} ms")
    _stop_server(sock_path)
    _poll(no_server, "the warm run server to exit")

    # Cold: no server when each run starts. The run goes the full path and, at its end, starts a server
    # (with an idle exit of 0 it leaves at once, untimed). In the same loop as the full path alone
    # (HOIST_FASTRUN=0: no server looked for or started) and runc, so the three compare under one load.
    cold = {"HOIST_RUNSERVER_IDLE": "0"}
    times: dict[str, list[float]] = {"cold": [], "full": [], "runc": []}
    for _ in range(runs + 1):
        _poll(no_server, "the run server to exit")
        times["cold"].append(_time(lambda: run(cold)))
        _poll(no_server, "the run server to exit")
        times["full"].append(_time(lambda: run({"HOIST_FASTRUN": "0"})))
        times["runc"].append(_time(runc_run))
    _poll(no_server, "the run server to exit")
    cold_s, full_s, runc_s = (statistics.median(times[k][1:]) for k in ("cold", "full", "runc"))  # 1st: warm-up
    _row("`hoist container run --rm true`, cold", cold_s, runc_s, "runc run",
         f"(no server yet: {cold_s / full_s:.2f}x the full path)")
    _row("`hoist container run --rm true`, full path", full_s, runc_s, "runc run", "(HOIST_FASTRUN=0)")


def _client_alone(runs: int, env: dict[str, str], work: Path) -> tuple[float, float]:
    """The thin client's process on its own: `container run` against a stand-in server (a thread here) that
    answers "accepted, exit 0" at once, alternating with `python -c pass`."""
    import threading

    from compose.cli import fastrun

    root = str(work / "client-only-root")
    sock_path, _ = fastrun.server_paths(root)
    os.makedirs(os.path.dirname(sock_path), exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(8)

    def answer() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed: the measurement is over
            with conn:
                size = int.from_bytes(conn.recv(4), "big")
                while size > 0:
                    size -= len(conn.recv(size))
                conn.sendall(b"a\0\0\0\0" + b"x\0\0\0\x010")

    threading.Thread(target=answer, daemon=True).start()
    client_env = {**env, "HOIST_ROOT": root}
    try:
        return _alternate(
            lambda: subprocess.run([HOIST, *RUN_ARGS], check=True, env=client_env, cwd=work),
            lambda: subprocess.run([PYTHON, "-c", "pass"], check=True, env=client_env, cwd=work), runs)
    finally:
        listener.close()
        shutil.rmtree(os.path.dirname(sock_path), ignore_errors=True)


def _poll(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _stop_server(sock_path: str) -> None:
    """SIGTERM the server listening on ``sock_path`` (its pid: the peer of a connection to it)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(sock_path)
        pid, _, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    except OSError:
        return
    finally:
        conn.close()
    os.kill(pid, signal.SIGTERM)


def _count_instructions(env: dict[str, str], work: Path, project: Path) -> None:
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed; skipped")
        return
    print("\ninstructions executed by the CLI process (millions; valgrind, PYTHONHASHSEED=0):")
    for name, cmd, cwd in (("python -c pass", [PYTHON, "-c", "pass"], work),
                           ("hoist --version", [HOIST, "--version"], work),
                           ("hoist container run --rm true (full path)", [HOIST, *RUN_ARGS], work),
                           ("hoist ps (10 services)", [HOIST, "ps"], project)):
        count = _instructions(cmd, {**env, "HOIST_FASTRUN": "0"}, cwd)  # no run server: stable counts
        print(f"  {name:<42} {'failed' if count is None else f'{count / 1e6:7.0f} M'}")


if __name__ == "__main__":
    raise SystemExit(main())
