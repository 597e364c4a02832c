"""Schema validation and semantic checks of a generated 200-service project, in-process.

Run: .venv/bin/python -m benchmarks.bench_schema
Reports medians of repeated runs: our validate_document (schema + format checks), the same document through
the official compose schema with a plain jsonschema Draft7Validator (the reference, same run), their ratio,
check_references, and the one-off cost of importing jsonschema and compiling our validator.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

SERVICES = 200
RUNS = 15
OFFICIAL_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "reference" / "compose-spec.schema.json"


def generated_project(count: int = SERVICES) -> dict[str, Any]:
    """A project where every service uses a realistic mix of keys (ports, volumes, healthcheck, deploy...)."""
    services: dict[str, Any] = {}
    for i in range(count):
        services[f"svc{i}"] = {
            "image": f"registry.example/app{i}:1.{i}",
            "command": ["serve", "--port", str(8000 + i)],
            "environment": {"INDEX": str(i), "MODE": "prod", "URL": f"http://svc{max(i - 1, 0)}:80"},
            "labels": [f"com.example.index={i}", "com.example.tier=web"],
            "ports": [f"{20000 + i}:80", {"target": 443, "published": str(30000 + i), "protocol": "tcp"}],
            "volumes": [f"data{i % 10}:/data", "./conf:/etc/app:ro",
                        {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": "64m"}}],
            "depends_on": {f"svc{i - 1}": {"condition": "service_healthy"}} if i else {},
            "networks": {"front": {"aliases": [f"a{i}"]}, "back": None},
            "healthcheck": {"test": ["CMD", "true"], "interval": "10s", "timeout": "3s", "retries": 3},
            "deploy": {"resources": {"limits": {"cpus": "0.5", "memory": "256m"}},
                       "restart_policy": {"condition": "on-failure", "max_attempts": 3}},
            "restart": "unless-stopped",
            "secrets": ["token"],
            "stop_grace_period": "20s",
        }
    return {
        "name": "bench",
        "services": services,
        "networks": {"front": {}, "back": {"internal": True}},
        "volumes": {f"data{i}": {} for i in range(10)},
        "secrets": {"token": {"file": "./token"}},
    }


def median_ms(action: Any, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from compose.sourcemap import SourceMap

    start = time.perf_counter()
    import jsonschema

    import_ms = (time.perf_counter() - start) * 1000
    from compose import schema
    from compose.semantic import check_references

    document = generated_project()
    sources = SourceMap()
    start = time.perf_counter()
    schema.validate_document(document, sources)  # first call compiles the validator
    first_ms = (time.perf_counter() - start) * 1000
    ours = median_ms(lambda: schema.validate_document(document, sources))
    semantic = median_ms(lambda: check_references(document, sources))
    official = jsonschema.Draft7Validator(json.loads(OFFICIAL_SCHEMA.read_text()))
    reference = median_ms(lambda: official.is_valid(document))
    print(f"project: {SERVICES} services, {RUNS} runs, medians")
    print(f"import jsonschema:                      {import_ms:8.1f} ms (once per process)")
    print(f"first validate_document (compile+run):  {first_ms:8.1f} ms")
    print(f"validate_document:                      {ours:8.1f} ms")
    print(f"official schema, plain Draft7 (ref):    {reference:8.1f} ms")
    print(f"ratio ours / reference:                 {ours / reference:8.2f}")
    print(f"check_references:                       {semantic:8.2f} ms")


if __name__ == "__main__":
    main()
