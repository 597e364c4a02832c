"""What a hoist CLI process costs before and around its work, on the busybox test image (root).

Run: .venv/bin/python -m benchmarks.bench_cli [--runs N] [--instructions]
Reports medians of:
- `hoist --version` as a process (the interpreter's floor), next to `python -c pass` (the same venv python);
- `hoist container run --rm --network none busybox true` as a process, alternating with `runc run` of the
  same rootfs (issue 4's target: <= 1.5x);
- the CPU time of that command's phases, measured inside one process (start-up to main, imports and parser,
  the engine's import, create, start until exit, remove) and the interpreter's exit;
- `hoist ps` on a running 10-service project (issue 6's target: < 120 ms);
- with --instructions (needs valgrind): the instructions the CLI process itself executes for `container run`
  and `ps`. Unlike times, these do not move with the machine's load: compare them across changes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks._measure import alternate as _alternate
from benchmarks._measure import oci_bundle as _oci_bundle
from benchmarks._measure import row as _row
from benchmarks._measure import time_call as _time

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = str(PROJECT_DIR / ".venv" / "bin" / "python")

HOIST = str(PROJECT_DIR / ".venv" / "bin" / "hoist")
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
_, conn = engine.container_start_attached(state.id)
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
    env = {**os.environ, "HOIST_ROOT": str(root)}
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
    if os.geteuid() != 0:
        print("bench_cli needs root", file=sys.stderr)
        return 1
    sys.path.insert(0, str(PROJECT_DIR))
    from benchmarks._teardown import bench_root
    from tests.support.images import ensure_busybox_rootfs

    rootfs = ensure_busybox_rootfs()
    with bench_root("hoist-bench-cli-") as (work, root):
        return _bench(args, rootfs, work, root)


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
    ours, ref = _alternate(lambda: hoist(*RUN_ARGS), runc_run, args.runs)
    _row("`hoist container run --rm true` process", ours, ref, "runc run", "(target <= 1.50)")

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


def _count_instructions(env: dict[str, str], work: Path, project: Path) -> None:
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed; skipped")
        return
    print("\ninstructions executed by the CLI process (millions; valgrind, PYTHONHASHSEED=0):")
    for name, cmd, cwd in (("python -c pass", [PYTHON, "-c", "pass"], work),
                           ("hoist --version", [HOIST, "--version"], work),
                           ("hoist container run --rm true", [HOIST, *RUN_ARGS], work),
                           ("hoist ps (10 services)", [HOIST, "ps"], project)):
        count = _instructions(cmd, env, cwd)
        print(f"  {name:<42} {'failed' if count is None else f'{count / 1e6:7.0f} M'}")


if __name__ == "__main__":
    raise SystemExit(main())
