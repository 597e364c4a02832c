"""runtime/containers/stats.py on fake cgroup directories and a fake /proc: docker's numbers from each file."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.api import ContainerStats
from runtime.containers import stats

GiB = 1024**3
PROC_STAT = """cpu  100 2 30 400 5 6 7 8 0 0
cpu0 50 1 15 200 2 3 3 4 0 0
cpu1 50 1 15 200 3 3 4 4 0 0
intr 12345
ctxt 999
"""
MEMINFO = "MemTotal:        2048000 kB\nMemFree:          100000 kB\n"
NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    5000      50    0    0    0     0          0         0     5000      50    0    0    0     0       0          0
  eth0:    1200      10    0    0    0     0          0         0      800       8    0    0    0     0       0          0
  eth1:      34       1    0    0    0     0          0         0       66       1    0    0    0     0       0          0
"""


def _files(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def _fake_proc(tmp_path: Path, monkeypatch, pid: int = 4242) -> None:
    proc = _files(tmp_path / "proc", {"stat": PROC_STAT, "meminfo": MEMINFO})
    _files(proc / str(pid) / "net", {"dev": NET_DEV})
    monkeypatch.setattr(stats, "PROC", proc)


def test_system_cpu_is_the_first_seven_fields_of_the_cpu_line_and_the_cpuN_lines():
    total, cpus = stats.system_cpu(PROC_STAT, 100)
    assert total == (100 + 2 + 30 + 400 + 5 + 6 + 7) * 10_000_000  # steal (8) and guests are left out
    assert cpus == 2
    assert stats.system_cpu("", 100) == (0, 0)


def test_net_dev_sums_every_interface_but_lo():
    assert stats.net_dev(NET_DEV) == (1234, 866)
    assert stats.net_dev(NET_DEV.split("  eth0")[0]) == (0, 0)  # only lo: network_mode none
    assert stats.net_dev("") == (0, 0)


def test_blkio_and_io_stat_sum_reads_and_writes():
    v1 = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\n8:0 Async 2\n8:0 Total 12288\n8:16 Read 4\nTotal 12292\n"
    assert stats.blkio_v1(v1) == (4100, 8192)
    v2 = "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n253:0 rbytes=1 wbytes=2 rios=1 wios=1\n"
    assert stats.io_stat_v2(v2) == (101, 202)
    assert stats.blkio_v1("") == stats.io_stat_v2("") == (0, 0)


def test_host_memory_reads_memtotal():
    assert stats.host_memory(MEMINFO) == 2048000 * 1024
    assert stats.host_memory("") == 0


def test_v1_usage_leaves_the_inactive_file_cache_out_and_caps_the_limit(tmp_path):
    mem = _files(tmp_path / "memory", {
        "memory.usage_in_bytes": "10485760\n", "memory.limit_in_bytes": "9223372036854771712\n",
        "memory.stat": "cache 1\ninactive_file 7\ntotal_inactive_file 4194304\ntotal_rss 5\n"})
    assert stats.memory({"memory": mem}, 2 * GiB) == (10485760 - 4194304, 2 * GiB)
    (mem / "memory.limit_in_bytes").write_text("67108864\n")
    assert stats.memory({"memory": mem}, 2 * GiB) == (6291456, 64 << 20)
    # More inactive cache than usage (stale counters): the usage is left as it is, as the docker CLI does.
    (mem / "memory.stat").write_text("total_inactive_file 20000000\n")
    assert stats.memory({"memory": mem}, 2 * GiB) == (10485760, 64 << 20)
    assert stats.memory({}, 2 * GiB) == (0, 2 * GiB)


def test_v2_memory_current_minus_inactive_file_and_max(tmp_path):
    d = _files(tmp_path / "c", {"memory.current": "3000000\n", "memory.max": "max\n",
                                "memory.stat": "anon 1\nfile 2\ninactive_file 1000000\nactive_file 3\n"})
    assert stats.memory({"unified": d}, GiB) == (2000000, GiB)
    (d / "memory.max").write_text("33554432\n")
    assert stats.memory({"unified": d}, GiB) == (2000000, 32 << 20)
    (d / "memory.max").write_text(f"{4 * GiB}\n")
    assert stats.memory({"unified": d}, GiB) == (2000000, GiB)  # above the host's memory: the host's


def test_cpu_and_pids_on_each_version(tmp_path):
    v1 = {"cpuacct": _files(tmp_path / "cpuacct", {"cpuacct.usage": "123456789\n"}),
          "pids": _files(tmp_path / "pids", {"pids.current": "3\n"})}
    assert stats.cpu_usage(v1) == 123456789
    assert stats.pids_current(v1) == 3
    v2 = {"unified": _files(tmp_path / "v2", {"cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n",
                                              "pids.current": "7\n"})}
    assert stats.cpu_usage(v2) == 1_500_000
    assert stats.pids_current(v2) == 7
    (v2["unified"] / "pids.current").unlink()
    (v2["unified"] / "cgroup.procs").write_text("10\n11\n")
    assert stats.pids_current(v2) == 2  # pids controller not delegated: the processes listed
    assert stats.cpu_usage({}) == stats.pids_current({}) == 0


def test_sample_v1(tmp_path, monkeypatch):
    _fake_proc(tmp_path, monkeypatch)
    dirs = {
        "memory": _files(tmp_path / "memory", {"memory.usage_in_bytes": "5000000\n",
                                               "memory.limit_in_bytes": "67108864\n",
                                               "memory.stat": "total_inactive_file 1000000\n"}),
        "cpuacct": _files(tmp_path / "cpuacct", {"cpuacct.usage": "999\n"}),
        "pids": _files(tmp_path / "pids", {"pids.current": "2\n"}),
        "blkio": _files(tmp_path / "blkio", {"blkio.throttle.io_service_bytes": "8:0 Read 10\n8:0 Write 20\n"}),
        "cpu": tmp_path / "cpu-missing",
    }
    system, cpus = stats.system_cpu(PROC_STAT, os.sysconf("SC_CLK_TCK"))
    assert stats.sample("abc", "web", dirs, 4242) == ContainerStats(
        id="abc", name="web", running=True, cpu_usage=999, system_cpu_usage=system, online_cpus=cpus,
        memory_usage=4000000, memory_limit=64 << 20, pids=2, net_rx=1234, net_tx=866, block_read=10,
        block_write=20)
    host = stats.sample("abc", "web", dirs, 4242, network=False)
    assert (host.net_rx, host.net_tx) == (0, 0)


def test_sample_v2_without_io_stat_counts_no_block_io(tmp_path, monkeypatch):
    _fake_proc(tmp_path, monkeypatch)
    d = _files(tmp_path / "v2", {"cpu.stat": "usage_usec 10\n", "memory.current": "100\n", "memory.max": "max\n",
                                 "memory.stat": "inactive_file 0\n", "pids.current": "1\n"})
    s = stats.sample("abc", "web", {"unified": d}, 4242)
    assert (s.cpu_usage, s.memory_usage, s.memory_limit, s.pids) == (10_000, 100, 2048000 * 1024, 1)
    assert (s.block_read, s.block_write) == (0, 0)
    assert (s.net_rx, s.net_tx) == (1234, 866)
    gone = stats.sample("abc", "web", {"unified": d}, 999999)  # the process exited meanwhile: no net/dev
    assert (gone.net_rx, gone.net_tx) == (0, 0)
