"""``stats`` as docker shows it, for ``hoist stats`` and ``hoist container stats``: CPU % from two samples,
docker's size units, its table/JSON/Go-template output, and the sampling loop (once, or every second).

Imported by the two commands' ``run`` only (stdlib and runtime.api at most): CLI start-up stays light.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING

from compose.cli.gotemplate import format_rows, tabwrite  # noqa: F401 - tabwrite: docker's tables

if TYPE_CHECKING:
    from runtime.api import ContainerStats, EngineAPI

INTERVAL = 1.0  # seconds between samples, as docker's stats stream
DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
HEADERS = {"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
           "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
           "PIDs": "PIDS"}
_DECIMAL = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


# ------------------------------------------------------------------------------------------- numbers


def _scaled(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def bytes_size(size: float) -> str:
    """go-units' BytesSize: binary units, 4 significant digits ("1.5MiB", "23.4GiB", "0B")."""
    value, unit = _scaled(size, 1024.0, _BINARY)
    return f"{value:.4g}{unit}"


def human_size(size: float, precision: int = 3) -> str:
    """go-units' HumanSizeWithPrecision: decimal units ("1.2kB", "0B", "4.1MB")."""
    value, unit = _scaled(size, 1000.0, _DECIMAL)
    return f"{value:.{precision}g}{unit}"


def cpu_percent(previous: ContainerStats | None, current: ContainerStats) -> float:
    """The docker CLI's calculateCPUPercentUnix: the container's share of the host's CPU time between two
    samples, times the online CPUs (one busy CPU of four is 100 %); 0 without a previous sample."""
    if previous is None:
        return 0.0
    cpu_delta = current.cpu_usage - previous.cpu_usage
    system_delta = current.system_cpu_usage - previous.system_cpu_usage
    if cpu_delta <= 0 or system_delta <= 0:
        return 0.0
    return cpu_delta / system_delta * (current.online_cpus or 1) * 100.0


def mem_percent(stats: ContainerStats) -> float:
    return stats.memory_usage / stats.memory_limit * 100.0 if stats.memory_limit else 0.0


# ---------------------------------------------------------------------------------------------- rows


def row(stats: ContainerStats, previous: ContainerStats | None, *, container: str, trunc: bool = True
        ) -> dict[str, str]:
    """One line of ``stats`` with docker's keys (its JSON output's, in its order)."""
    return {
        "BlockIO": f"{human_size(stats.block_read)} / {human_size(stats.block_write)}",
        "CPUPerc": f"{cpu_percent(previous, stats):.2f}%",
        "Container": container,
        "ID": stats.id[:12] if trunc else stats.id,
        "MemPerc": f"{mem_percent(stats):.2f}%",
        "MemUsage": f"{bytes_size(stats.memory_usage)} / {bytes_size(stats.memory_limit)}",
        "Name": stats.name.lstrip("/"),
        "NetIO": f"{human_size(stats.net_rx)} / {human_size(stats.net_tx)}",
        "PIDs": str(stats.pids),
    }


def invalid_row(container: str, container_id: str = "", name: str = "", *, trunc: bool = True) -> dict[str, str]:
    """A container that went away while stats were shown: docker's "--" values."""
    return {"BlockIO": "--", "CPUPerc": "--", "Container": container,
            "ID": container_id[:12] if trunc else container_id, "MemPerc": "--", "MemUsage": "-- / --",
            "Name": name or "--", "NetIO": "--", "PIDs": "--"}


# -------------------------------------------------------------------------------------------- output


def render(rows: Sequence[dict[str, str]], fmt: str | None) -> str:
    """``rows`` as ``--format`` asks: "table" (docker's columns), "json" (one object a line), or a Go
    template (``table `` before it prints the header line too)."""
    return format_rows(rows, fmt or "table", default_table=DEFAULT_TABLE, headers=HEADERS)


# ---------------------------------------------------------------------------------------------- loop

# What to show at each look: (the name docker's "Container" column shows, the reference to sample).
Targets = Callable[[], Sequence[tuple[str, str]]]


def show(engine: EngineAPI, targets: Targets, *, no_stream: bool, fmt: str | None, trunc: bool = True,
         out: IO[str] | None = None, interval: float = INTERVAL, sleep: Callable[[float], None] = time.sleep,
         clear: bool | None = None) -> int:
    """Sample every target, wait ``interval``, sample again and print (CPU % needs the two); with
    ``no_stream`` that is all, else it goes on printing every ``interval`` until ^C (130). On a terminal the
    screen is cleared before each redraw, as docker does; elsewhere each block follows the last."""
    from runtime.errors import NotFound

    out = out or sys.stdout
    if clear is None:
        clear = not no_stream and out.isatty()
    previous: dict[str, ContainerStats] = {}
    for _, ref in targets():  # the first sample; an unknown container fails here, as docker's
        first = engine.container_stats(ref)
        previous[first.id] = first
    try:
        while True:
            sleep(interval)
            rows = []
            current: dict[str, ContainerStats] = {}
            for label, ref in targets():
                try:
                    stats = engine.container_stats(ref)
                except NotFound:
                    rows.append(invalid_row(label, trunc=trunc))
                    continue
                current[stats.id] = stats
                rows.append(row(stats, previous.get(stats.id), container=label, trunc=trunc))
            text = render(rows, fmt)
            out.write(("\033[2J\033[H" if clear else "") + text)
            out.flush()
            if no_stream:
                return 0
            previous = current
    except KeyboardInterrupt:
        return 130
