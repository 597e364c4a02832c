"""One sample of a running container's resource usage, as docker's stats API reports it (raw counters).

Read from the container's cgroups (``ContainerCgroups.dirs()``: v1 controller directories or the cgroup2
one) and from ``/proc/<pid 1>/net/dev`` (which shows the network namespace of that process). The numbers
are docker's: CPU in nanoseconds (the container's, and the whole system's from /proc/stat, as moby's
``getSystemCPUUsage``), memory usage without the inactive page cache (the docker CLI's "usage"), the limit
capped at the host's MemTotal, network bytes over every interface but ``lo``, block I/O bytes read and
written. Files that are missing (a controller not mounted or not delegated) count as 0. Stdlib only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from runtime.api import ContainerStats
from runtime.containers.files import read_bytes

PROC = Path("/proc")
NANOS = 1_000_000_000


def _read(path: Path) -> str:
    try:
        return read_bytes(str(path)).decode(errors="replace")
    except OSError:
        return ""


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return 0


def _flat_keyed(text: str) -> dict[str, int]:
    """``key value`` lines (memory.stat, cpu.stat) as a dict; lines that do not parse are left out."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value)
        except ValueError:
            continue
    return out


def _controller(dirs: Mapping[str, Path], name: str) -> Path | None:
    """The directory holding ``name``'s files: the cgroup2 one, or that controller's v1 one."""
    return dirs.get("unified") or dirs.get(name)


# ------------------------------------------------------------------------------------------------ CPU


def cpu_usage(dirs: Mapping[str, Path]) -> int:
    """Nanoseconds of CPU the container used: v1 cpuacct.usage, v2 cpu.stat usage_usec."""
    if "unified" in dirs:
        return _flat_keyed(_read(dirs["unified"] / "cpu.stat")).get("usage_usec", 0) * 1000
    path = dirs.get("cpuacct")
    return _int(_read(path / "cpuacct.usage")) if path is not None else 0


def system_cpu(proc_stat: str, clock_ticks: int) -> tuple[int, int]:
    """(nanoseconds of CPU time of the whole system, online CPUs) from /proc/stat, as moby computes them:
    the first seven fields of the ``cpu`` line (user to softirq) and the number of ``cpuN`` lines."""
    total = 0
    cpus = 0
    for line in proc_stat.splitlines():
        if not line.startswith("cpu"):
            continue
        parts = line.split()
        if parts[0] == "cpu":
            if len(parts) >= 8:
                total = sum(int(v) for v in parts[1:8]) * NANOS // max(clock_ticks, 1)
        else:
            cpus += 1
    return total, cpus


# --------------------------------------------------------------------------------------------- memory


def host_memory(meminfo: str) -> int:
    """MemTotal of /proc/meminfo, in bytes."""
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            return int(parts[1]) * (1024 if parts[-1] == "kB" else 1)
    return 0


def memory(dirs: Mapping[str, Path], mem_total: int) -> tuple[int, int]:
    """(usage without the inactive page cache, limit capped at ``mem_total``), as the docker CLI shows them."""
    if "unified" in dirs:
        path = dirs["unified"]
        usage = _int(_read(path / "memory.current"))
        inactive = _flat_keyed(_read(path / "memory.stat")).get("inactive_file", 0)
        raw_limit = _read(path / "memory.max").strip()
        limit = mem_total if raw_limit in ("", "max") else _int(raw_limit)
    else:
        mem = dirs.get("memory")
        if mem is None:
            return 0, mem_total
        usage = _int(_read(mem / "memory.usage_in_bytes"))
        inactive = _flat_keyed(_read(mem / "memory.stat")).get("total_inactive_file", 0)
        limit = _int(_read(mem / "memory.limit_in_bytes"))
    if inactive < usage:
        usage -= inactive
    if mem_total and (limit <= 0 or limit > mem_total):
        limit = mem_total
    return usage, limit


# ------------------------------------------------------------------------------------- pids, I/O, net


def pids_current(dirs: Mapping[str, Path]) -> int:
    path = _controller(dirs, "pids")
    if path is None:
        return 0
    text = _read(path / "pids.current")
    if text:
        return _int(text)
    return len(_read(path / "cgroup.procs").split())  # v2 without the pids controller delegated


def blkio_v1(text: str) -> tuple[int, int]:
    """(read, write) bytes from blkio.throttle.io_service_bytes[_recursive]: ``MAJ:MIN Op bytes`` lines."""
    read = write = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue  # "Total N"
        op = parts[1].lower()
        if op == "read":
            read += _int(parts[2])
        elif op == "write":
            write += _int(parts[2])
    return read, write


def io_stat_v2(text: str) -> tuple[int, int]:
    """(read, write) bytes from io.stat: ``MAJ:MIN rbytes=N wbytes=N rios=N ...`` lines."""
    read = write = 0
    for line in text.splitlines():
        for item in line.split()[1:]:
            key, _, value = item.partition("=")
            if key == "rbytes":
                read += _int(value)
            elif key == "wbytes":
                write += _int(value)
    return read, write


def block_io(dirs: Mapping[str, Path]) -> tuple[int, int]:
    if "unified" in dirs:
        return io_stat_v2(_read(dirs["unified"] / "io.stat"))
    path = dirs.get("blkio")
    if path is None:
        return 0, 0
    text = _read(path / "blkio.throttle.io_service_bytes_recursive") or _read(
        path / "blkio.throttle.io_service_bytes")
    return blkio_v1(text)


def net_dev(text: str) -> tuple[int, int]:
    """(received, transmitted) bytes over every interface of a /proc/<pid>/net/dev but ``lo``."""
    rx = tx = 0
    for line in text.splitlines():
        name, sep, counters = line.partition(":")
        if not sep or name.strip() in ("lo", ""):
            continue
        fields = counters.split()
        if len(fields) >= 9:
            rx += _int(fields[0])
            tx += _int(fields[8])
    return rx, tx


# ----------------------------------------------------------------------------------------------- all


def sample(container_id: str, name: str, dirs: Mapping[str, Path], pid: int, *,
           network: bool = True) -> ContainerStats:
    """Every counter of the running container whose cgroup directories are ``dirs`` and whose PID 1 is
    ``pid`` (a host pid). ``network`` False (host network) leaves the network counters at 0, as docker does."""
    usage = cpu_usage(dirs)
    system, cpus = system_cpu(_read(PROC / "stat"), os.sysconf("SC_CLK_TCK"))
    mem_usage, mem_limit = memory(dirs, host_memory(_read(PROC / "meminfo")))
    rx, tx = net_dev(_read(PROC / str(pid) / "net" / "dev")) if network and pid > 0 else (0, 0)
    read, write = block_io(dirs)
    return ContainerStats(id=container_id, name=name, running=True, cpu_usage=usage, system_cpu_usage=system,
                          online_cpus=cpus, memory_usage=mem_usage, memory_limit=mem_limit,
                          pids=pids_current(dirs), net_rx=rx, net_tx=tx, block_read=read, block_write=write)
