"""Watch mode latency, file save -> change visible, on the real runtime (root), with `hoist watch` running as
a process on the Python HTTP service of tests/support/watch_app (Debian test image).

Run: .venv/bin/python -m benchmarks.bench_watch [--edits N] [--rebuild-edits N] [--reference-runs N]
Reports p50 and p95 over N edits each of:
- sync: save -> the new content readable in the container (read through /proc/<pid>/root, as the app would
  see it; target p95 < 150 ms);
- sync+restart: save -> the restarted service answering with the new code over HTTP (target p95 < 600 ms);
- rebuild: save -> the recreated service answering with what the new image holds.
The reference, in the same run, is the manual loop a developer would type instead of watching:
`hoist cp` (sync), `hoist cp` + `hoist restart` (sync+restart), `hoist up -d --build` (rebuild).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._teardown import bench_dir

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from benchmarks._measure import venv_bin  # noqa: E402
from tests.support.watch_project import WatchProcess, free_port, get, write_project  # noqa: E402

HOIST = [venv_bin("hoist")]
POLL = 0.001


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(POLL)


class Bench:
    def __init__(self, root: Path, workdir: Path, project: str, port: int) -> None:
        self.root, self.workdir, self.project, self.port = root, workdir, project, port
        self.env = {**os.environ, "HOIST_ROOT": str(root)}

    def hoist(self, *args: str) -> None:
        proc = subprocess.run(HOIST + ["-p", self.project, "--progress", "quiet", *args], cwd=self.workdir,
                              env=self.env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"hoist {' '.join(args)} failed:\n{proc.stderr}")

    def pid(self) -> int:
        from runtime.engine import open_engine

        return open_engine(self.root).container_inspect(f"{self.project}-web-1").pid

    def in_container(self, path: str) -> str | None:
        try:
            return Path(f"/proc/{self.pid()}/root{path}").read_text()
        except OSError:
            return None

    def serves(self, path: str, expect: str) -> bool:
        status, body = get(self.port, path, timeout=1.0)
        return status == 200 and body.startswith(expect)


def measure(bench: Bench, w: WatchProcess | None, edits: int, save: Callable[[int], None],
            visible: Callable[[int], bool], settle: Callable[[], None] | None = None,
            timeout: float = 30.0) -> list[float]:
    out = []
    for i in range(edits):
        mark = w.mark() if w else 0
        start = time.perf_counter()
        save(i)
        until(lambda i=i: visible(i), timeout, f"edit {i}")
        out.append(time.perf_counter() - start)
        if w is not None:  # let the watcher finish the batch (e.g. its restart) before the next edit
            w.wait_line("watch: web:", timeout=timeout, after=mark)
        if settle:
            settle()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--rebuild-edits", type=int, default=20)
    parser.add_argument("--reference-runs", type=int, default=5)
    opts = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_watch needs root (it starts containers)", file=sys.stderr)
        return 1
    from tests.support.image_store import cached_store, link_into
    from tests.support.images import ensure_debian_rootfs

    base = Path(tempfile.mkdtemp(prefix="hoist-bench-watch-", dir=bench_dir()))  # not /tmp: benchmarks/_teardown.py
    root, workdir = base / "root", base / "proj"
    root.mkdir()
    workdir.mkdir()
    link_into(cached_store(ensure_debian_rootfs(), "debian:bookworm-slim"), root)
    port = free_port()
    write_project(workdir, "debian:bookworm-slim", port)
    bench = Bench(root, workdir, "benchwatch", port)
    static, version, reqs = workdir / "app/static/f.txt", workdir / "app/version.py", workdir / "requirements.txt"
    results: list[tuple[str, list[float], list[float], str]] = []
    w = None
    try:
        bench.hoist("up", "-d")
        until(lambda: bench.serves("/version", "v1"), 30, "the service")
        # References first: the manual loops, without a watcher running.
        ref_sync = measure(bench, None, opts.reference_runs,
                           lambda i: (static.write_text(f"ref{i}\n"), bench.hoist("cp", str(static), "web:/app/static/f.txt")),
                           lambda i: bench.in_container("/app/static/f.txt") == f"ref{i}\n")
        ref_restart = measure(bench, None, opts.reference_runs,
                              lambda i: (version.write_text(f'VERSION = "r{i}"\n'),
                                         bench.hoist("cp", str(version), "web:/app/version.py"),
                                         bench.hoist("restart", "web")),
                              lambda i: bench.serves("/version", f"r{i} "))
        ref_rebuild = measure(bench, None, max(1, opts.reference_runs // 2),
                              lambda i: (reqs.write_text(f"ref=={i}\n"), bench.hoist("up", "-d", "--build", "web")),
                              lambda i: bench.serves("/cat?path=/app/requirements.txt", f"ref=={i}\n"), timeout=120)
        w = WatchProcess(subprocess.Popen(HOIST + ["-p", bench.project, "--progress", "quiet", "watch", "--no-up",
                                                   "--quiet"], cwd=workdir, env=bench.env, stdout=subprocess.PIPE,
                                                  stderr=subprocess.PIPE, text=True, start_new_session=True))
        w.wait_line("Watch enabled", timeout=60)
        sync = measure(bench, w, opts.edits, lambda i: static.write_text(f"edit{i}\n"),
                       lambda i: bench.in_container("/app/static/f.txt") == f"edit{i}\n")
        results.append(("sync: save -> file in container", sync, ref_sync, "target p95 < 150 ms"))
        restart = measure(bench, w, opts.edits, lambda i: version.write_text(f'VERSION = "w{i}"\n'),
                          lambda i: bench.serves("/version", f"w{i} "))
        results.append(("sync+restart: save -> new code answering", restart, ref_restart, "target p95 < 600 ms"))
        rebuild = measure(bench, w, opts.rebuild_edits, lambda i: reqs.write_text(f"w=={i}\n"),
                          lambda i: bench.serves("/cat?path=/app/requirements.txt", f"w=={i}\n"), timeout=120)
        results.append(("rebuild: save -> rebuilt service answering", rebuild, ref_rebuild, ""))
    finally:
        if w is not None:
            w.interrupt()
        subprocess.run(HOIST + ["-p", bench.project, "down", "-t", "0", "--rmi", "local"], cwd=workdir,
                       env=bench.env, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
    print(f"hoist watch benchmark ({opts.edits} edits, {opts.rebuild_edits} rebuilds; reference: the manual "
          f"CLI loop, median of {opts.reference_runs})")
    for label, values, ref, note in results:
        p50, p95 = percentile(values, 50), percentile(values, 95)
        ref_med = sorted(ref)[len(ref) // 2]
        print(f"  {label:<44} p50 {p50 * 1000:7.0f} ms  p95 {p95 * 1000:7.0f} ms  "
              f"(manual loop {ref_med * 1000:.0f} ms: {ref_med / p50:.1f}x the p50)  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
