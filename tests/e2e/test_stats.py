"""hoist stats / hoist container stats end to end: docker's JSON keys, table columns, -a for stopped ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import Hoist

COMPOSE = """
services:
  busy:
    image: {image}
    network_mode: none
    init: true
    command: ["sh", "-c", "while :; do :; done"]
    mem_limit: 32m
  idle:
    image: {image}
    network_mode: none
    init: true
    command: ["sleep", "1000"]
  once:
    image: {image}
    network_mode: none
    command: ["true"]
"""


@pytest.fixture
def hoist(hoist_root: Path, busybox_image: str, project_name: str, tmp_path: Path) -> Hoist:
    h = Hoist(hoist_root, tmp_path, project_name)
    yield h
    h("down", "-v", "--remove-orphans", "-t", "1", check=False)


def _json_lines(text: str) -> dict[str, dict[str, str]]:
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return {r["Name"]: r for r in rows}


def test_stats_no_stream_json_table_and_all(hoist: Hoist, busybox_image: str) -> None:
    hoist.write(COMPOSE.format(image=busybox_image))
    hoist("up", "-d")
    hoist("wait", "once", check=False)
    name = hoist.project
    rows = _json_lines(hoist("stats", "--no-stream", "--format", "json").out)
    assert set(rows) == {f"{name}-busy-1", f"{name}-idle-1"}  # running ones only
    busy = rows[f"{name}-busy-1"]
    assert sorted(busy) == ["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"]
    assert len(busy["ID"]) == 12 and busy["Container"].startswith(busy["ID"])
    assert float(busy["CPUPerc"].rstrip("%")) > 20
    usage, limit = busy["MemUsage"].split(" / ")
    assert limit == "32MiB" and usage != "0B"
    assert 0 < float(busy["MemPerc"].rstrip("%")) < 100
    assert int(busy["PIDs"]) >= 2  # the init and the shell
    assert busy["NetIO"] == "0B / 0B"

    rows = _json_lines(hoist("stats", "--no-stream", "-a", "--format", "json", "once").out)
    assert rows == {f"{name}-once-1": {**rows[f"{name}-once-1"], "CPUPerc": "0.00%", "MemUsage": "0B / 0B",
                                      "MemPerc": "0.00%", "NetIO": "0B / 0B", "BlockIO": "0B / 0B",
                                      "PIDs": "0"}}

    table = hoist("stats", "--no-stream", "idle").out.splitlines()
    assert table[0].split("   ")[0] == "CONTAINER ID"
    for column in ("NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"):
        assert column in table[0]
    assert len(table) == 2 and f"{name}-idle-1" in table[1]

    out = hoist("container", "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", f"{name}-idle-1").out
    assert out == f"{name}-idle-1 2\n"
    missing = hoist("container", "stats", "--no-stream", f"{name}-nothere", check=False)
    assert missing.rc == 1 and "no such container" in missing.err.lower()
