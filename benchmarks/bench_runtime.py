"""The container runtime against runc (and crun where it works), on the busybox test rootfs (root).

Run: .venv/bin/python -m benchmarks.bench_runtime [--runs N] [--idle N]
Reports medians, each next to a reference measured in the same run, alternating with it:

- create+start+exit of `true` through the engine API in-process, vs `runc run` of the same rootfs
  (target <= 0.6x);
- the same as a whole `hoist container run --rm --network none` process, vs `runc run` (target <= 1.5x);
- `crun run` is tried once: crun 1.8 refuses this host's hybrid cgroup layout, and that is reported;
- PSS and USS of the supervisors of N idle containers (target PSS <= 2.6 MiB each), plus the launcher;
- exec of `true` into a running container (API in-process, and `hoist container exec` as a process) vs
  `nsenter -a -t PID true`.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

from benchmarks._measure import alternate as _alternate
from benchmarks._measure import conditions, on_busybox_root, venv_bin
from benchmarks._measure import oci_bundle as _oci_bundle
from benchmarks._measure import row as _row
from benchmarks._measure import time_call as _time

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Between timed runs: a container's supervisor cleans up after reporting its exit, and the launcher forks
# its next spare supervisor 25 ms after a start; neither may land in runc's timing (nor runc's in ours).
SETTLE = 0.06

HOIST = venv_bin("hoist")










def _smaps(pid: int) -> tuple[int, int]:
    """(PSS, USS) in KiB from /proc/<pid>/smaps_rollup."""
    pss = uss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "Pss":
            pss = int(value.split()[0])
        elif key in ("Private_Clean", "Private_Dirty"):
            uss += int(value.split()[0])
    return pss, uss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--idle", type=int, default=50, help="idle containers for the memory figure")
    args = parser.parse_args()
    return on_busybox_root("bench_runtime", "hoist-bench-", functools.partial(_bench, args))


def _bench(args: argparse.Namespace, rootfs: Path, work: Path, root: Path) -> int:
    from runtime.api import ContainerSpec, ExecSpec
    from runtime.engine import open_engine
    from tests.support.image_store import cached_store, link_into

    os.environ["HOIST_ROOT"] = str(root)
    link_into(cached_store(rootfs, "busybox:latest"), root)
    engine = open_engine(root)
    bundle = _oci_bundle(rootfs, work)
    counter = iter(range(10**6))
    print(f"busybox rootfs {rootfs}; {args.runs} runs each; medians")
    print(conditions(root) + "\n")

    def runc_run() -> None:
        subprocess.run(["runc", "run", "--bundle", str(bundle), f"hb{os.getpid()}-{next(counter)}"],
                       check=True, stdout=subprocess.DEVNULL)

    def api_run() -> None:
        t0 = time.perf_counter()
        state = engine.container_create(ContainerSpec(name=f"b{next(counter)}", image="busybox:latest",
                                                      command=["true"], network_mode="none"))
        t1 = time.perf_counter()
        engine.container_start(state.id)
        t2 = time.perf_counter()
        engine.container_wait(state.id)
        phases.append((t1 - t0, t2 - t1, time.perf_counter() - t2))
        api_ids.append(state.id)

    api_ids: list[str] = []
    phases: list[tuple[float, float, float]] = []
    ours, ref = _alternate(api_run, runc_run, args.runs, settle=SETTLE)
    _row("create+start+exit `true`, API in-process", ours, ref, "runc run", "(target <= 0.60)")
    measured = phases[1:]  # the first run warmed the caches
    print(f"{'  (phases: create / start / wait, medians)':<44} "
          + " / ".join(f"{statistics.median(p[k] for p in measured) * 1000:.1f}" for k in range(3)) + " ms")
    removal = statistics.median(_time(lambda i=i: engine.container_remove(i)) for i in api_ids)
    print(f"{'  (then container_remove, not counted above)':<44} {removal * 1000:7.1f} ms")

    def cli_run() -> None:
        subprocess.run([HOIST, "container", "run", "--rm", "--network", "none", "busybox:latest", "true"],
                       check=True)

    ours, ref = _alternate(cli_run, runc_run, args.runs, settle=SETTLE)
    _row("`hoist container run --rm true` process", ours, ref, "runc run", "(target <= 1.50)")
    version = statistics.median(_time(lambda: subprocess.run([HOIST, "--version"], capture_output=True))
                                for _ in range(10))
    print(f"{'  (for scale: `hoist --version` process)':<44} {version * 1000:7.1f} ms")

    crun = subprocess.run(["crun", "run", "--bundle", str(bundle), f"hc{os.getpid()}"], capture_output=True,
                          text=True)
    crun_note = "works" if crun.returncode == 0 else f"refused: {crun.stderr.strip()[:100]}"
    print(f"{'crun run (same bundle)':<44} {crun_note}")

    # ------------------------------------------------------------------------------ idle supervisors
    ids = []
    for i in range(args.idle):
        state = engine.container_create(ContainerSpec(name=f"idle{i}", image="busybox:latest",
                                                      command=["sleep", "100000"], network_mode="none"))
        engine.container_start(state.id)
        ids.append(state.id)
    time.sleep(1.0)  # let them settle to their idle footprint
    sups = [json.loads((engine.container_dir(i) / "status.json").read_text())["supervisor_pid"] for i in ids]
    figures = [_smaps(p) for p in sups]
    pss = sum(f[0] for f in figures) / len(figures) / 1024
    uss = sum(f[1] for f in figures) / len(figures) / 1024
    print(f"\nsupervisors of {args.idle} idle containers: PSS {pss:.2f} MiB, USS {uss:.2f} MiB each "
          f"(target PSS <= 2.6 MiB: containerd-shim's figure here; conmon 0.36 MiB)")
    # The launcher's command line (the supervisors it forked share it; the run server of
    # compose.cli.runserver has a serve() of its own).
    launcher = subprocess.run(["pgrep", "-f", f"runtime.launcher import serve; serve\\({str(root)!r}"],
                              capture_output=True, text=True).stdout.split()
    if launcher:
        lp, lu = _smaps(int(launcher[0]))
        print(f"the shared launcher (one per root): PSS {lp / 1024:.2f} MiB, USS {lu / 1024:.2f} MiB "
              f"(+{lp / 1024 / args.idle:.2f} MiB per container at {args.idle})")

    # ----------------------------------------------------------------------------------------- exec
    target = ids[0]
    pid = engine.container_inspect(target).pid
    null = os.open("/dev/null", os.O_RDWR)

    def api_exec() -> None:
        assert engine.container_exec(target, ExecSpec(command=["true"]), stdio=(null, null, null)) == 0

    def nsenter() -> None:
        subprocess.run(["nsenter", "-a", "-t", str(pid), "true"], check=True)

    def cli_exec() -> None:
        subprocess.run([HOIST, "container", "exec", target, "true"], check=True)

    print()
    ours, ref = _alternate(api_exec, nsenter, args.runs)
    _row("exec `true`, API in-process", ours, ref, "nsenter -a")
    ours, ref = _alternate(cli_exec, nsenter, max(10, args.runs // 3))
    _row("`hoist container exec` process", ours, ref, "nsenter -a")
    os.close(null)

    started = time.perf_counter()
    for i in ids:
        engine.container_remove(i, force=True)
    print(f"\nforce-remove of {len(ids)} running containers: {(time.perf_counter() - started) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
