"""`hoist up --watch` log streaming (compose/watch/logs.py), on the real runtime (root), busybox services.

Run: .venv/bin/python -m benchmarks.bench_watch_logs [--lines N] [--restarts N] [--recreates N] [--idle S]

Reports, p50 and p95:
- steady lines: a line's time in the log (stamped by the supervisor as it reads it) -> the line out of
  `up --watch --timestamps`; reference in the same run: the same under a plain attached `hoist up`
  (compose/attach.py), the path these followers must not be slower than;
- restart: file save -> the restarted run's first line out (sync+restart), and that line's own lag;
- recreate from outside (`up -d --force-recreate` in another process): the new container's first line lag
  (found when its directory appears under the state root: runtime/containerwatch.py);
- idle CPU of the `up --watch` process following 5 quiet containers, against `up -d --watch` (watching
  only) and a plain attached `up` (following only) on the same containers, alternating runs, medians.
Timings on a shared 2-vCPU machine are noisy: repeat before believing a difference.
"""

from __future__ import annotations

import argparse
import calendar
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

HOIST = [sys.executable, "-m", "compose.cli.main"]
IDLE_SERVICES = 5

COMPOSE = """services:
  app:
    image: busybox:latest
    network_mode: none
    init: true
    stop_grace_period: 1s
    command: ["sh", "-c", "echo \\"says $$(cat /data/v.txt 2>/dev/null || echo none)\\"; exec sleep 100000"]
    develop:
      watch:
        - {path: ./src, action: sync+restart, target: /data}
  ticker:
    image: busybox:latest
    network_mode: none
    init: true
    stop_grace_period: 1s
    # Random gaps: a fixed period would keep one phase against the followers' 50 ms polls for a whole run.
    command: ["sh", "-c", "while true; do echo tick; usleep $$(( (RANDOM % 90 + 10) * 1000 )); done"]
"""

IDLE = """services:
""" + "".join(f"""  s{i}:
    image: busybox:latest
    network_mode: none
    init: true
    stop_grace_period: 1s
    command: ["sleep", "100000"]
    develop:
      watch:
        - {{path: ./src, action: sync, target: /data}}
""" for i in range(IDLE_SERVICES))


def wall(stamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 nano UTC time (``2026-11-28T01:02:03.123456789Z``)."""
    head, frac = stamp.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S")) + int(frac) / 1e9


class Output:
    """A hoist process's stdout lines with their arrival (wall clock) times."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.err = threading.Thread(target=lambda: proc.stderr.read(), daemon=True)  # type: ignore[union-attr]
        self.err.start()

    def _read(self) -> None:
        for line in iter(self.proc.stdout.readline, ""):  # type: ignore[union-attr]
            with self.lock:
                self.lines.append((time.time(), line.rstrip("\n")))

    def wait(self, match: Callable[[str], bool], after: int = 0, timeout: float = 60) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for at, line in self.lines[after:]:
                    if match(line):
                        return at, line
            if self.proc.poll() is not None:
                break
            time.sleep(0.002)
        raise SystemExit(f"no matching line within {timeout}s; output:\n" + "\n".join(x for _, x in self.lines))

    def mark(self) -> int:
        with self.lock:
            return len(self.lines)

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def log_time(line: str) -> float | None:
    """The log time of a ``--timestamps`` line (``name | <time> text``), epoch seconds; None for other lines."""
    _, sep, rest = line.partition(" | ")
    if not sep or not rest[:4].isdigit():
        return None
    return wall(rest.split(" ", 1)[0])


def line_of(prefix: str, ending: str = "", containing: str = "") -> Callable[[str], bool]:
    def match(line: str) -> bool:
        return line.startswith(prefix) and line.endswith(ending) and containing in line

    return match


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, root: Path, workdir: Path, project: str) -> None:
        self.root, self.workdir, self.project = root, workdir, project
        self.env = {**os.environ, "HOIST_ROOT": str(root), "PYTHONPATH": str(PROJECT_DIR)}

    def argv(self, *args: str) -> list[str]:
        return [*HOIST, "-p", self.project, "--progress", "quiet", *args]

    def run(self, *args: str) -> None:
        proc = subprocess.run(self.argv(*args), cwd=self.workdir, env=self.env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"hoist {' '.join(args)} failed:\n{proc.stderr}")

    def start(self, *args: str) -> Output:
        return Output(subprocess.Popen(self.argv(*args), cwd=self.workdir, env=self.env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, start_new_session=True))


def steady_lags(out: Output, count: int) -> list[float]:
    start = out.mark()
    out.wait(lambda x: "ticker-1 | " in x, after=start)
    deadline = time.monotonic() + count * 0.5 + 30
    while time.monotonic() < deadline:
        with out.lock:
            lags = [at - t for at, x in out.lines[start:] if "ticker-1 | " in x and (t := log_time(x)) is not None]
        if len(lags) >= count:
            return lags[:count]
        time.sleep(0.05)
    raise SystemExit("the ticker's lines did not arrive")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--restarts", type=int, default=20)
    parser.add_argument("--recreates", type=int, default=10)
    parser.add_argument("--idle", type=float, default=8.0, help="seconds per idle CPU sample")
    parser.add_argument("--idle-runs", type=int, default=3)
    opts = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_watch_logs needs root (it starts containers)", file=sys.stderr)
        return 1
    from benchmarks._teardown import bench_root
    from tests.support.image_store import cached_store, link_into
    from tests.support.images import ensure_busybox_rootfs

    report: list[str] = []
    with bench_root("hoist-bench-watch-logs-") as (base, root):
        link_into(cached_store(ensure_busybox_rootfs(), "busybox:latest"), root)
        work = base / "proj"
        (work / "src").mkdir(parents=True)
        (work / "compose.yaml").write_text(COMPOSE)
        bench = Bench(root, work, "benchwl")

        # Reference: a plain attached `up` on the same services.
        ref = bench.start("up", "--timestamps", "--no-color")
        ref_lags = steady_lags(ref, opts.lines)
        ref.stop()

        out = bench.start("up", "--watch", "--timestamps", "--no-color")
        try:
            out.wait(line_of("Watch enabled"))
            lags = steady_lags(out, opts.lines)
            restart, restart_lag = [], []
            for i in range(opts.restarts):
                mark = out.mark()
                saved = time.time()
                (work / "src" / "v.txt").write_text(f"r{i}\n")
                at, line = out.wait(line_of("app-1 ", f"says r{i}"), after=mark)
                restart.append(at - saved)
                restart_lag.append(at - (log_time(line) or at))
            recreate_lag = []
            for _ in range(opts.recreates):
                mark = out.mark()
                bench.run("up", "-d", "--force-recreate", "--no-deps", "app")
                # The new container's first run prints "says none" (its image has no v.txt; the re-sync
                # that follows restarts it with the file).
                at, line = out.wait(line_of("app-1 ", "says none"), after=mark)
                recreate_lag.append(at - (log_time(line) or at))
        finally:
            out.stop()
        bench.run("down", "-t", "0")

        # Idle CPU: the process following quiet containers vs only watching them.
        (work / "compose.yaml").write_text(IDLE)
        modes = (("up --watch (logs)", ("up", "--watch"), "Watch enabled"),
                 ("up -d --watch (no logs)", ("up", "-d", "--watch"), "Watch enabled"),
                 ("attached up (reference)", ("up",), f"s{IDLE_SERVICES - 1}-1"))
        idle: dict[str, list[float]] = {label: [] for label, _, _ in modes}
        for _ in range(opts.idle_runs):
            for label, args, ready in modes:
                proc = bench.start(*args)
                proc.wait(line_of("", containing=ready))
                time.sleep(0.5)  # past the start-up work
                before = cpu_seconds(proc.proc.pid)
                time.sleep(opts.idle)
                idle[label].append((cpu_seconds(proc.proc.pid) - before) / opts.idle)
                proc.stop()
                bench.run("down", "-t", "0")

    def row(label: str, values: list[float]) -> str:
        return (f"  {label:<56} p50 {percentile(values, 50) * 1000:6.0f} ms  "
                f"p95 {percentile(values, 95) * 1000:6.0f} ms  (n={len(values)})")

    report.append(f"up --watch log streaming (busybox; {opts.lines} lines, {opts.restarts} restarts, "
                  f"{opts.recreates} recreates)")
    report.append(row("steady line: log time -> out of `up --watch`", lags))
    report.append(row("steady line: log time -> out of attached `up` (reference)", ref_lags))
    report.append(row("sync+restart: save -> the new run's first line out", restart))
    report.append(row("sync+restart: the new run's first line, log time -> out", restart_lag))
    report.append(row("recreated from outside: first line, log time -> out", recreate_lag))
    for label, values in idle.items():
        med = sorted(values)[len(values) // 2]
        report.append(f"  idle CPU, {IDLE_SERVICES} quiet containers, {label:<26} median {med * 100:5.2f} % of a core "
                      f"(runs: {', '.join(f'{v * 100:.2f}' for v in values)})")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
