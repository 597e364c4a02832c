"""What the cgroup v2 device filter adds to a container start, against what v1's device rules cost.

Run (root): .venv/bin/python -m benchmarks.bench_devicefilter [--runs N]
Alternating in one run, each on a fresh cgroup directory: Docker's default rules (plus one spec device)
written to a v1 devices cgroup (``devices.deny`` "a" and one ``devices.allow`` per rule: the reference, what
a v1/hybrid host pays) and the same rules compiled, loaded and attached as a BPF program on the cgroup2
mount (what a v2 host pays), plus the compilation alone. Prints medians in milliseconds; the machine is shared,
so read them as rough figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from runtime.containers.cgroups import DEFAULT_DEVICE_RULES
from runtime.containers.devicefilter import apply_device_filter, compile_rules

V1_DEVICES = Path("/sys/fs/cgroup/devices")
CGROUP2 = next((p for p in (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
                if (p / "cgroup.procs").exists() and not (p / "devices").is_dir()), None)
RULES = DEFAULT_DEVICE_RULES + ("c 10:229 rwm",)


def _v1(path: Path) -> None:
    (path / "devices.deny").write_text("a")
    for rule in RULES:
        (path / "devices.allow").write_text(rule)


def _v2(path: Path) -> None:
    apply_device_filter(str(path), RULES)


def _timed(action: Callable[[Path], None], base: Path | None, name: str) -> float | None:
    if base is None or not base.is_dir():
        return None
    path = base / name
    path.mkdir()
    try:
        start = time.perf_counter()
        action(path)
        return (time.perf_counter() - start) * 1000
    finally:
        path.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    tag = f"bench-devfilter-{os.getpid()}"
    rows: dict[str, list[float]] = {"v1 devices.allow (reference)": [], "v2 BPF compile+load+attach": [],
                                    "compile only": []}
    for _ in range(runs):
        for label, value in (("v1 devices.allow (reference)", _timed(_v1, V1_DEVICES, tag)),
                             ("v2 BPF compile+load+attach", _timed(_v2, CGROUP2, tag))):
            if value is not None:
                rows[label].append(value)
        start = time.perf_counter()
        compile_rules(RULES)
        rows["compile only"].append((time.perf_counter() - start) * 1000)
    for label, values in rows.items():
        shown = f"{statistics.median(values):8.3f} ms (median of {len(values)})" if values else "n/a on this host"
        print(f"{label:32s} {shown}")


if __name__ == "__main__":
    main()
