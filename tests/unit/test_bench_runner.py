"""`make bench` runs `python -m benchmarks`: every bench_*.py is reachable by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_unknown_name_lists_every_benchmark() -> None:
    r = subprocess.run([sys.executable, "-m", "benchmarks", "no-such"], cwd=PROJECT, capture_output=True, text=True)
    assert r.returncode == 2
    listed = r.stderr.split("available: ")[1].strip().split(", ")
    assert listed == sorted(p.stem[len("bench_"):] for p in (PROJECT / "benchmarks").glob("bench_*.py"))
    assert {"runtime", "orchestration", "registry", "cli"} <= set(listed)
