"""hoist stats' arithmetic and output (compose/cli/statsview.py): docker's CPU %, units, table, JSON, templates."""

from __future__ import annotations

import io
import json

import pytest

from compose.cli import statsview
from compose.errors import UsageError
from runtime.api import ContainerSpec, ContainerStats
from runtime.errors import NotFound
from tests.support.fake_engine import FakeEngine

ID = "0123456789ab" + "c" * 52


def _stats(**counters: int) -> ContainerStats:
    return ContainerStats(id=ID, name="web-1", running=True, **counters)


def test_bytes_size_is_binary_with_four_digits():
    assert statsview.bytes_size(0) == "0B"
    assert statsview.bytes_size(1023) == "1023B"
    assert statsview.bytes_size(1536 * 1024) == "1.5MiB"
    assert statsview.bytes_size(int(23.4 * 1024**3)) == "23.4GiB"
    assert statsview.bytes_size(1203044) == "1.147MiB"
    assert statsview.bytes_size(64 << 20) == "64MiB"


def test_human_size_is_decimal_with_three_digits():
    assert statsview.human_size(0) == "0B"
    assert statsview.human_size(999) == "999B"
    assert statsview.human_size(1234) == "1.23kB"
    assert statsview.human_size(1200) == "1.2kB"
    assert statsview.human_size(4_100_000) == "4.1MB"
    assert statsview.human_size(12_345_678_901) == "12.3GB"


def test_cpu_percent_is_the_share_of_the_host_times_the_cpus():
    before = _stats(cpu_usage=1_000_000_000, system_cpu_usage=100_000_000_000, online_cpus=4)
    # 0.5 s of the container's CPU over 4 s of the host's (1 s of wall time on 4 CPUs): 50 % of one CPU.
    after = _stats(cpu_usage=1_500_000_000, system_cpu_usage=104_000_000_000, online_cpus=4)
    assert statsview.cpu_percent(before, after) == pytest.approx(50.0)
    assert statsview.cpu_percent(None, after) == 0.0  # one sample: no rate yet
    assert statsview.cpu_percent(after, after) == 0.0
    assert statsview.cpu_percent(after, before) == 0.0  # a restart resets the counter: never negative
    stopped = ContainerStats(id=ID, name="web-1")
    assert statsview.cpu_percent(stopped, stopped) == 0.0


def test_mem_percent():
    assert statsview.mem_percent(_stats(memory_usage=16 << 20, memory_limit=64 << 20)) == 25.0
    assert statsview.mem_percent(ContainerStats(id=ID, name="x")) == 0.0


def test_row_has_dockers_keys_and_values():
    before = _stats(cpu_usage=0, system_cpu_usage=1_000_000_000, online_cpus=2)
    after = _stats(cpu_usage=125_000_000, system_cpu_usage=2_000_000_000, online_cpus=2, memory_usage=1536 * 1024,
                   memory_limit=64 << 20, pids=3, net_rx=1200, net_tx=0, block_read=4_100_000, block_write=0)
    r = statsview.row(after, before, container="web")
    assert r == {"BlockIO": "4.1MB / 0B", "CPUPerc": "25.00%", "Container": "web", "ID": ID[:12],
                 "MemPerc": "2.34%", "MemUsage": "1.5MiB / 64MiB", "Name": "web-1", "NetIO": "1.2kB / 0B",
                 "PIDs": "3"}
    assert list(r) == sorted(r)  # docker's JSON keys come sorted
    assert statsview.row(after, before, container="web", trunc=False)["ID"] == ID
    stopped = statsview.row(ContainerStats(id=ID, name="/old"), None, container=ID)
    assert (stopped["CPUPerc"], stopped["MemUsage"], stopped["MemPerc"], stopped["NetIO"], stopped["BlockIO"],
            stopped["PIDs"], stopped["Name"]) == ("0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0", "old")
    gone = statsview.invalid_row("web")
    assert (gone["CPUPerc"], gone["MemUsage"], gone["PIDs"]) == ("--", "-- / --", "--")


def test_tabwrite_pads_like_dockers_tabwriter():
    assert statsview.tabwrite(["A\tNAME\tX", "0123456789ab\tn\ty"]) == (
        "A              NAME      X\n"
        "0123456789ab   n         y\n")


def test_render_table_json_and_templates():
    rows = [statsview.row(_stats(memory_limit=1 << 30, pids=1), None, container="web")]
    table = statsview.render(rows, None).splitlines()
    assert table[0] == ("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS")
    assert table[1] == ("0123456789ab   web-1     0.00%     0B / 1GiB           0.00%     0B / 0B   0B / 0B     1")
    assert statsview.render(rows, "table") == statsview.render(rows, None)
    line = statsview.render(rows, "json")
    assert json.loads(line) == rows[0] and line.count("\n") == 1
    assert statsview.render(rows, "{{.Name}}: {{.PIDs}}") == "web-1: 1\n"
    assert statsview.render(rows, "{{json .}}") == json.dumps(rows[0], separators=(",", ":")) + "\n"
    assert statsview.render(rows, "table {{.Container}}\t{{.CPUPerc}}") == (
        "CONTAINER   CPU %\nweb         0.00%\n")
    with pytest.raises(UsageError):
        statsview.render(rows, "yaml")
    with pytest.raises(UsageError):
        statsview.render(rows, "{{index .Name 1}}")


def _engine_with(*names: str, status: str = "running") -> FakeEngine:
    engine = FakeEngine()
    engine.add_image("busybox")
    for name in names:
        engine.container_create(ContainerSpec(name=name, image="busybox"))
        if status == "running":
            engine.container_start(name)
    return engine


def test_show_no_stream_samples_twice_one_interval_apart_and_prints_once():
    engine = _engine_with("web-1")
    samples = iter([_stats(cpu_usage=0, system_cpu_usage=10**9, online_cpus=1),
                    _stats(cpu_usage=5 * 10**8, system_cpu_usage=2 * 10**9, online_cpus=1)])
    engine.container_stats = lambda ref: next(samples)  # type: ignore[method-assign]
    slept: list[float] = []
    out = io.StringIO()
    code = statsview.show(engine, lambda: [("web-1", "web-1")], no_stream=True, fmt="{{.Name}} {{.CPUPerc}}",
                          out=out, sleep=slept.append)
    assert code == 0 and slept == [1.0]
    assert out.getvalue() == "web-1 50.00%\n"


def test_show_streams_until_interrupted_and_marks_containers_that_went_away():
    engine = _engine_with("web-1")
    ticks = []

    def sleep(seconds: float) -> None:
        ticks.append(seconds)
        if len(ticks) == 2:
            engine.containers.clear()  # removed while shown
        if len(ticks) == 3:
            raise KeyboardInterrupt

    out = io.StringIO()
    code = statsview.show(engine, lambda: [("web-1", "web-1")], no_stream=False, fmt="{{.Name}} {{.PIDs}}",
                          out=out, sleep=sleep, clear=True)
    assert code == 130
    assert out.getvalue() == "\033[2J\033[Hweb-1 1\n\033[2J\033[H-- --\n"


def test_show_fails_at_once_for_an_unknown_container():
    engine = _engine_with()
    with pytest.raises(NotFound):
        statsview.show(engine, lambda: [("nope", "nope")], no_stream=True, fmt=None, out=io.StringIO(),
                       sleep=lambda s: None)


def test_show_of_stopped_containers_prints_zeros():
    engine = _engine_with("old-1", status="created")
    out = io.StringIO()
    statsview.show(engine, lambda: [("old-1", "old-1")], no_stream=True, fmt="json", out=out, sleep=lambda s: None)
    row = json.loads(out.getvalue())
    assert (row["Name"], row["CPUPerc"], row["MemUsage"], row["PIDs"]) == ("old-1", "0.00%", "0B / 0B", "0")
