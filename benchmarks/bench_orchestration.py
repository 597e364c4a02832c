"""Orchestration as whole CLI processes, on the real runtime with the busybox test image (root).

Run: .venv/bin/python -m benchmarks.bench_orchestration [--runs N] [--network none|bridge] [--only ROW ...]
Reports medians of:
- `up -d` of 10 and of 50 busybox services, and `down` of them (targets: 10 up < 0.35 s, 50 up < 1.5 s);
- the two phases of `up` for 10 services as separate processes: `up -d --no-start` (networks and containers
  created) and `start` (the created containers started);
- `down -t 1` of 10 services whose PID 1 ignores SIGTERM (target < 1.2 s: one grace period, in parallel),
  and its phases from separate runs with `--progress json` (seen from outside, by when each event line
  arrives): start to the first `Stopping` (the stop signals go out right after), the grace period, the end
  of the grace period to the last container `Removed`, then to the network `Removed`, then to the exit;
- `ps` on a running 10-service project (target < 120 ms);
- `up -d` of a chain of 5 `service_healthy` dependencies with a 1 s interval, against the time the
  healthcheck timings imply (4 waits of one interval; target within 10 %), and where the rest goes (from
  the containers' recorded times): to the first start, and per link the timer's lateness, the probe, and
  from healthy recorded to the next container's start.
The reference in the same run is `hoist version` as a process: the floor any CLI command pays.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._measure import venv_bin
from benchmarks._teardown import bench_root

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOIST = [venv_bin("hoist")]


def _image_root(root: Path) -> str:
    sys.path.insert(0, str(PROJECT_DIR))
    from tests.support.image_store import cached_store, link_into
    from tests.support.images import ensure_busybox_rootfs

    link_into(cached_store(ensure_busybox_rootfs(), "busybox:latest"), root)
    return "busybox:latest"


def _compose(count: int, image: str, network: str, *, init: bool = True, chain_healthy: float = 0.0) -> str:
    lines = ["services:"]
    for i in range(count):
        lines += [f"  s{i}:", f"    image: {image}", '    command: ["sleep", "100000"]']
        if network == "none":
            lines.append("    network_mode: none")
        if init:
            lines.append("    init: true")
        if chain_healthy:
            lines.append(f'    healthcheck: {{test: ["CMD-SHELL", "true"], interval: {chain_healthy}s}}')
            if i:
                lines.append(f"    depends_on: {{s{i - 1}: {{condition: service_healthy}}}}")
    return "\n".join(lines) + "\n"


class Runner:
    def __init__(self, root: Path, workdir: Path) -> None:
        self.root, self.workdir = root, workdir
        self.env = {**os.environ, "HOIST_ROOT": str(root)}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with cached bytecode, as users run it

    def time(self, *args: str) -> float:
        start = time.perf_counter()
        proc = subprocess.run(HOIST + ["--progress", "quiet", *args], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"hoist {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return elapsed


def _project(runner: Runner, name: str, text: str) -> Runner:
    d = runner.workdir / name  # inside the benchmark's temp dir: the teardown below finds (and removes) it
    d.mkdir(exist_ok=True)
    (d / "compose.yaml").write_text(text)
    return Runner(runner.root, d)


def median(values: list[float]) -> float:
    return statistics.median(values)


def down_phases(runner: Runner, grace: float) -> dict[str, float]:
    """One `down -t GRACE --progress json`: seconds from the process start to the first container
    `Stopping`, from the end of the grace period after it to the last container `Removed`, from there to
    the network `Removed`, and from there to the exit."""
    start = time.perf_counter()
    proc = subprocess.Popen(HOIST + ["--progress", "json", "down", "-t", f"{grace:g}"], cwd=runner.workdir,
                            env=runner.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    stopping = removed = network = None
    for line in proc.stderr:
        now = time.perf_counter() - start
        try:
            event = json.loads(line)
        except ValueError:
            continue
        rid, text = event.get("id", ""), event.get("text") or event.get("status")
        if rid.startswith("Container") and text == "Stopping" and stopping is None:
            stopping = now
        elif rid.startswith("Container") and text == "Removed":
            removed = now
        elif rid.startswith("Network") and text == "Removed":
            network = now
    if proc.wait() != 0 or stopping is None or removed is None or network is None:
        raise SystemExit(f"hoist down -t {grace:g} failed ({proc.returncode}) or reported no teardown")
    end = time.perf_counter() - start
    return {"stopping": stopping, "removed": removed - stopping - grace, "network": network - removed,
            "exit": end - network}


ROWS = ("up", "phases", "stubborn", "ps", "chain")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--network", choices=("none", "bridge"), default=None,
                        help="network mode of the services (default: bridge when hoist has networking)")
    parser.add_argument("--only", nargs="+", choices=ROWS, default=list(ROWS),
                        help="measure only these rows (up: up/down of 10 and 50; stubborn: down -t 1)")
    opts = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_orchestration needs root (it starts containers)", file=sys.stderr)
        return 1
    network = opts.network
    if network is None:
        network = "bridge" if (PROJECT_DIR / "runtime" / "network" / "manager.py").exists() else "none"
    with bench_root("hoist-bench-orch-") as (base, root):  # torn down whatever happens, SIGTERM included
        return _bench(opts, network, base, root)


def _bench(opts: argparse.Namespace, network: str, base: Path, root: Path) -> int:
    image = _image_root(root)
    runner = Runner(root, base)
    results: list[tuple[str, float, str]] = []
    try:
        ref = median([runner.time("version") for _ in range(opts.runs)])
        results.append(("reference: hoist version (process floor)", ref, ""))
        for count, target in ((10, 0.35), (50, 1.5)) if "up" in opts.only else ():
            p = _project(runner, f"p{count}", _compose(count, image, network))
            ups, downs = [], []
            for _ in range(opts.runs if count == 10 else max(2, opts.runs // 2)):
                ups.append(p.time("up", "-d"))
                downs.append(p.time("down"))
            results.append((f"up -d, {count} services", median(ups), f"target < {target} s"))
            results.append((f"down, {count} services", median(downs), ""))
        # Per phase, as whole processes: `up` creates every container first, then starts them (as compose).
        p = _project(runner, "phases", _compose(10, image, network))
        creates, starts = [], []
        for _ in range(opts.runs if "phases" in opts.only else 0):
            creates.append(p.time("up", "-d", "--no-start"))
            starts.append(p.time("start"))
            p.time("down")
        if creates:
            results.append(("  phase: create (up --no-start), 10 services", median(creates),
                            "networks + containers"))
            results.append(("  phase: start, 10 created services", median(starts), ""))
        if "stubborn" in opts.only:
            results += _stubborn(runner, image, network, opts.runs)
        if "ps" in opts.only:
            results.append(_ps(runner, image, network, opts.runs))
        if "chain" in opts.only:
            results += _chain(runner, image, network, opts.runs)
    finally:
        for d in base.iterdir():  # bench_root then sweeps whatever `down` could not remove
            if (d / "compose.yaml").exists():
                subprocess.run(HOIST + ["down", "-t", "0"], cwd=d, env=runner.env, capture_output=True)
    print(f"hoist orchestration benchmark (network: {network}, median of {opts.runs} runs)")
    for label, value, note in results:
        ratio = f"  ({value / ref:.1f}x reference)" if not label.startswith("reference") else ""
        print(f"  {label:<52} {value * 1000:8.0f} ms{ratio}  {note}")
    return 0


def _stubborn(runner: Runner, image: str, network: str, runs: int) -> list[tuple[str, float, str]]:
    p = _project(runner, "stubborn", _compose(10, image, network, init=False))
    downs = []
    for _ in range(runs):
        p.time("up", "-d")
        downs.append(p.time("down", "-t", "1"))
    phases = []
    for _ in range(runs):
        p.time("up", "-d")
        phases.append(down_phases(p, 1.0))
    return [("down -t 1, 10 services ignoring SIGTERM", median(downs), "target < 1.2 s"),
            ("  phase: start to first Stopping", median([x["stopping"] for x in phases]), "--progress json runs"),
            ("  phase: grace end to last container Removed", median([x["removed"] for x in phases]),
             "SIGKILL, exits recorded, removals"),
            ("  phase: last container Removed to network Removed", median([x["network"] for x in phases]),
             "the bridge's deletion"),
            ("  phase: network Removed to exit", median([x["exit"] for x in phases]), "")]


def _ps(runner: Runner, image: str, network: str, runs: int) -> tuple[str, float, str]:
    p = _project(runner, "ps10", _compose(10, image, network))
    p.time("up", "-d")
    p.time("ps")  # warm caches
    ps = median([p.time("ps") for _ in range(runs * 2)])
    p.time("down")
    return ("ps, 10 running services", ps, "target < 0.12 s")


def _chain(runner: Runner, image: str, network: str, runs: int) -> list[tuple[str, float, str]]:
    interval = 1.0
    p = _project(runner, "chain", _compose(5, image, network, chain_healthy=interval))
    implied = 4 * interval
    chain, phases = [], []
    for _ in range(max(2, runs // 2)):
        begun = time.time()  # wall clock, as the containers' recorded times
        chain.append(p.time("up", "-d"))
        phases.append(chain_phases(runner.root, "chain", begun, interval))
        p.time("down")
    c = median(chain)
    return [("up -d, chain of 5 service_healthy (1 s interval)", c,
             f"implied {implied:.1f} s, ratio {c / implied:.2f} (target <= 1.10)"),
            ("  phase: process start to the first container's start", median([x["first"] for x in phases]),
             "CLI, load, network, 5 creates, 1 start"),
            ("  phase: per link, start to probe beyond the interval", median([x["slack"] for x in phases]),
             "the supervisor's timer"),
            ("  phase: per link, the probe (exec to health recorded)", median([x["probe"] for x in phases]), ""),
            ("  phase: per link, healthy recorded to the next start", median([x["next"] for x in phases]),
             "the CLI's wake-up, its start request, the spawn")]


def chain_phases(root: Path, project: str, begun: float, interval: float) -> dict[str, float]:
    """Where one `up -d` of the chain spent its time beyond the implied intervals, from the containers'
    recorded times (StartedAt, each first probe's Start and End): seconds from ``begun`` to the first start,
    and per link (medians over the links) how late the first probe ran, how long it took, and from its
    recorded end to the next container's start."""
    from datetime import UTC, datetime

    from compose import labels as L
    from runtime.engine import open_engine

    def seconds(rfc3339: str) -> float:
        whole, _, frac = rfc3339.rstrip("Z").partition(".")
        return datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp() + float("0." + (frac or "0"))

    states = sorted(open_engine(root).container_list(labels={L.PROJECT: project}),
                    key=lambda c: seconds(c.started_at))
    starts = [seconds(c.started_at) for c in states]
    slack, probe, after = [], [], []
    for c, start, next_start in zip(states, starts, starts[1:], strict=False):
        first = c.health_log[0]
        slack.append(seconds(first.start) - start - interval)
        probe.append(seconds(first.end) - seconds(first.start))
        after.append(next_start - seconds(first.end))
    return {"first": starts[0] - begun, "slack": median(slack), "probe": median(probe), "next": median(after)}


if __name__ == "__main__":
    raise SystemExit(main())
