"""`make bench` / `python -m benchmarks [NAME ...]`: every benchmark (or the named ones) in turn, each in its own
process with its default settings, so one failing benchmark does not hide the others' figures.

Names are the module names without the ``bench_`` prefix: cli, runtime, orchestration, registry, network,
images, build, watch, load, schema. Most need root (they start containers).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Cheap, unprivileged ones first; the container-starting ones after.
ORDER = ("schema", "load", "cli", "runtime", "network", "orchestration", "images", "registry", "build", "watch")


def main(argv: list[str]) -> int:
    available = sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    names = argv or [n for n in ORDER if n in available] + [n for n in available if n not in ORDER]
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"\n=== bench_{name} ===", flush=True)
        started = time.monotonic()
        code = subprocess.run([sys.executable, "-m", f"benchmarks.bench_{name}"], cwd=HERE.parent).returncode
        print(f"=== bench_{name}: {'ok' if code == 0 else f'exit {code}'} in {time.monotonic() - started:.0f} s",
              flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
