"""Loading compose projects: in-process pipeline on a generated 200-service project, and `hoist config -q`
as a whole process on an awesome-compose file.

Run: .venv/bin/python -m benchmarks.bench_load [--runs N]
Reports medians, each next to a reference measured in the same run, alternating with it:

- load + validate + normalize (no cache) of a 200-service project (targets: < 150 ms), against parsing the
  same YAML text with PyYAML's C loader alone (the floor of any loader built on it);
- the same load through the load cache (what `up`/`ps` pay for an unchanged project);
- `hoist config -q` as a process, cold (cache disabled) and warm (target: < 250 ms), against
  `python -c pass` (interpreter start-up) in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CORPUS_FILE = PROJECT_DIR.parent / "shared" / "corpus" / "awesome-compose" / "nginx-flask-mysql" / "compose.yaml"


def generate_project(services: int = 200) -> str:
    """A project that exercises the whole pipeline: ports, volumes, depends_on, healthchecks, env, build."""
    lines = ["name: bench", "x-common: &common", "  restart: unless-stopped", "  labels: [tier=bench]", "services:"]
    for i in range(services):
        lines += [
            f"  svc{i}:",
            "    <<: *common",
            f"    image: registry.example.com/team/app{i}:${{TAG:-1.{i}}}",
            f"    command: ['serve', '--port', '{8000 + i}']",
            f"    ports: ['{20000 + i}:{8000 + i}', '{9000 + i}/udp']",
            "    environment:",
            f"      INDEX: '{i}'",
            "      MODE: production",
            "      DEBUG:",
            f"    volumes: ['data{i % 10}:/data', './conf/{i}:/etc/app:ro', '/tmp']",
            "    healthcheck:",
            "      test: curl -f http://localhost/health",
            "      interval: 30s",
            "      timeout: 5s",
            "      retries: 3",
            "    deploy: {resources: {limits: {cpus: '0.5', memory: 256M}}}",
            "    networks: [front, back]",
        ]
        if i:
            lines += ["    depends_on:", f"      svc{i - 1}: {{condition: service_started}}"]
        if i % 20 == 0:
            lines += ["    build: {context: ./app, args: [A=1]}"]
    lines += ["networks:", "  front: {}", "  back: {internal: true}", "volumes:"]
    lines += [f"  data{j}: {{}}" for j in range(10)]
    return "\n".join(lines) + "\n"


def _median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _alternate(a: Callable[[], object], b: Callable[[], object], runs: int) -> tuple[float, float]:
    ta, tb = [], []
    for _ in range(runs):
        ta.append(_median(a, 1))
        tb.append(_median(b, 1))
    return statistics.median(ta), statistics.median(tb)


def _pair(name: str, ours: float, ref: float, ref_name: str, target: float | None = None) -> None:
    verdict = "" if target is None else ("  OK" if ours < target else f"  OVER TARGET {target * 1000:.0f} ms")
    print(f"{name:<44} hoist {ours * 1000:7.1f} ms   {ref_name:<24} {ref * 1000:7.1f} ms   "
          f"ratio {ours / ref:5.2f}{verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    import yaml

    from compose.project import LoadOptions, load_document, load_project

    with tempfile.TemporaryDirectory() as tmp:
        project_dir = Path(tmp) / "bench"
        project_dir.mkdir()
        text = generate_project()
        (project_dir / "compose.yaml").write_text(text)
        environ = {"HOME": tmp}
        options = LoadOptions(cwd=str(project_dir), environ=environ, use_cache=False)
        load_document(options)  # warm imports (jsonschema, validator compilation) out of the measurement

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        ours, ref = _alternate(lambda: load_document(options), lambda: yaml.load(text, Loader=loader), args.runs)
        _pair("200 services: load+validate+normalize", ours, ref, "yaml.load (C) only", 0.150)

        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        cached = LoadOptions(cwd=str(project_dir), environ=environ)
        load_project(cached)
        ours, _ = _alternate(lambda: load_project(cached), lambda: None, args.runs)
        _pair("200 services: load through the cache", ours, ref, "yaml.load (C) only")

        from benchmarks._measure import venv_bin

        hoist = [venv_bin("hoist"), "-f", str(CORPUS_FILE), "config", "-q"]
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        python = [sys.executable, "-c", "pass"]

        def run(cmd: list[str], extra: dict[str, str] | None = None) -> None:
            subprocess.run(cmd, check=True, env={**env, **(extra or {})}, stdout=subprocess.DEVNULL)

        runs = max(5, args.runs // 2)
        cold, ref = _alternate(lambda: run(hoist, {"HOIST_NO_LOAD_CACHE": "1"}), lambda: run(python), runs)
        _pair(f"`hoist config -q` {CORPUS_FILE.parent.name}, no cache", cold, ref, "python -c pass")
        run(hoist)
        warm, ref = _alternate(lambda: run(hoist), lambda: run(python), runs)
        _pair(f"`hoist config -q` {CORPUS_FILE.parent.name}, cached", warm, ref, "python -c pass", 0.250)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
