"""Helpers the benchmarks share: timing a call, alternating it with its reference, printing a row, and the
OCI bundle `runc run` takes as the reference container."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def venv_bin(name: str) -> str:
    """``name`` (hoist, python) of the environment running this benchmark, so that the processes it times
    use the same interpreter as its in-process rows; the project's .venv when that has none."""
    beside = Path(sys.executable).parent / name
    return str(beside if beside.exists() else PROJECT_DIR / ".venv" / "bin" / name)


def time_call(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(ours: Callable[[], object], ref: Callable[[], object], runs: int,
              settle: float = 0.0) -> tuple[float, float]:
    """Medians of ``runs`` timings of each, taken in turn (so load changes hit both alike), after one
    untimed call of each to warm caches (page cache, bytecode, the launcher).

    ``settle``: seconds of pause after each timed call, so that what one side leaves running in the
    background (a supervisor's cleanup, the launcher forking its next spare) is over before the other side
    is timed, instead of slowing it down."""
    ours()
    ref()
    a, b = [], []
    for _ in range(runs):
        a.append(time_call(ours))
        time.sleep(settle)
        b.append(time_call(ref))
        time.sleep(settle)
    return statistics.median(a), statistics.median(b)


def row(name: str, ours: float, ref: float, ref_name: str, target: str = "") -> None:
    print(f"{name:<44} hoist {ours * 1000:7.1f} ms   {ref_name:<18} {ref * 1000:7.1f} ms   "
          f"ratio {ours / ref:5.2f}  {target}")


def conditions(directory: Path) -> str:
    """What, besides the code, moves the container figures on the development VMs: the time a new file
    takes in ``directory`` (scripts/bench-fs.sh says why it can be 15x the usual), and the memory cgroups
    the kernel still keeps (every container start, runc's too, gets slower as removed ones pile up as
    "dying" cgroups while page cache is charged to them; ``sync; echo 3 > /proc/sys/vm/drop_caches``
    frees them)."""
    import os

    times = []
    for i in range(30):
        path = directory / f".calibration-{i}"
        start = time.perf_counter()
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        times.append(time.perf_counter() - start)
    for i in range(30):
        (directory / f".calibration-{i}").unlink()
    memcgs = "?"
    try:
        for line in Path("/proc/cgroups").read_text().splitlines():
            if line.startswith("memory\t"):
                memcgs = line.split()[2]
    except OSError:
        pass
    return (f"conditions: a new file in {directory} takes {statistics.median(times) * 1e6:.0f} us (median of 30); "
            f"memory cgroups on the host, dying ones included: {memcgs}")


def oci_bundle(rootfs: Path, workdir: Path) -> Path:
    """A runc bundle running /bin/true on ``rootfs`` (read-only, no terminal)."""
    bundle = workdir / "bundle"
    bundle.mkdir()
    subprocess.run(["runc", "spec", "--bundle", str(bundle)], check=True)
    config = json.loads((bundle / "config.json").read_text())
    config["root"] = {"path": str(rootfs), "readonly": True}
    config["process"]["args"] = ["/bin/true"]
    config["process"]["terminal"] = False
    (bundle / "config.json").write_text(json.dumps(config))
    return bundle


def on_busybox_root(name: str, prefix: str, body: Callable[[Path, Path, Path], int]) -> int:
    """``body(rootfs, work, root)`` as root, with the cached busybox rootfs and a fresh state root whose
    containers and kernel objects are swept when it returns (or fails): the frame of the container benchmarks."""
    import os
    import sys

    if os.geteuid() != 0:
        print(f"{name} needs root", file=sys.stderr)
        return 1
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks._teardown import bench_root
    from tests.support.images import ensure_busybox_rootfs

    rootfs = ensure_busybox_rootfs()
    with bench_root(prefix) as (work, root):  # containers of a failed run must not outlive it
        return body(rootfs, work, root)
