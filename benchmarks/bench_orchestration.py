"""Orchestration as whole CLI processes, on the real runtime with the busybox test image (root).

Run: .venv/bin/python -m benchmarks.bench_orchestration [--runs N] [--network none|bridge]
Reports medians of:
- `up -d` of 10 and of 50 busybox services, and `down` of them (targets: 10 up < 0.35 s, 50 up < 1.5 s);
- the two phases of `up` for 10 services as separate processes: `up -d --no-start` (networks and containers
  created) and `start` (the created containers started);
- `down -t 1` of 10 services whose PID 1 ignores SIGTERM (target < 1.2 s: one grace period, in parallel);
- `ps` on a running 10-service project (target < 120 ms);
- `up -d` of a chain of 5 `service_healthy` dependencies with a 1 s interval, against the time the
  healthcheck timings imply (4 waits of one interval; target within 10 %).
The reference in the same run is `hoist version` as a process: the floor any CLI command pays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._teardown import bench_root

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOIST = [str(PROJECT_DIR / ".venv" / "bin" / "hoist")]


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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--network", choices=("none", "bridge"), default=None,
                        help="network mode of the services (default: bridge when hoist has networking)")
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
        for count, target in ((10, 0.35), (50, 1.5)):
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
        for _ in range(opts.runs):
            creates.append(p.time("up", "-d", "--no-start"))
            starts.append(p.time("start"))
            p.time("down")
        results.append(("  phase: create (up --no-start), 10 services", median(creates), "networks + containers"))
        results.append(("  phase: start, 10 created services", median(starts), ""))
        p = _project(runner, "stubborn", _compose(10, image, network, init=False))
        downs = []
        for _ in range(opts.runs):
            p.time("up", "-d")
            downs.append(p.time("down", "-t", "1"))
        results.append(("down -t 1, 10 services ignoring SIGTERM", median(downs), "target < 1.2 s"))
        p = _project(runner, "ps10", _compose(10, image, network))
        p.time("up", "-d")
        p.time("ps")  # warm caches
        results.append(("ps, 10 running services", median([p.time("ps") for _ in range(opts.runs * 2)]),
                        "target < 0.12 s"))
        p.time("down")
        interval = 1.0
        p = _project(runner, "chain", _compose(5, image, network, chain_healthy=interval))
        implied = 4 * interval
        chain = []
        for _ in range(max(2, opts.runs // 2)):
            chain.append(p.time("up", "-d"))
            p.time("down")
        c = median(chain)
        results.append(("up -d, chain of 5 service_healthy (1 s interval)", c,
                        f"implied {implied:.1f} s, ratio {c / implied:.2f} (target <= 1.10)"))
    finally:
        for d in base.iterdir():  # bench_root then sweeps whatever `down` could not remove
            if (d / "compose.yaml").exists():
                subprocess.run(HOIST + ["down", "-t", "0"], cwd=d, env=runner.env, capture_output=True)
    print(f"hoist orchestration benchmark (network: {network}, median of {opts.runs} runs)")
    for label, value, note in results:
        ratio = f"  ({value / ref:.1f}x reference)" if not label.startswith("reference") else ""
        print(f"  {label:<52} {value * 1000:8.0f} ms{ratio}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
