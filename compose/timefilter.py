"""`--since` / `--until` values as docker takes them (a Go duration like ``42m`` before now, a Unix timestamp,
or an RFC 3339 date/time), turned into the engine's log time format for comparison."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from compose.errors import UsageError

_UNIX = re.compile(r"^\d+(\.\d+)?$")


def engine_time(epoch: float) -> str:
    """The engine's form: ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`` (sortable as text)."""
    secs = int(epoch)
    frac = int(round((epoch - secs) * 1e9))
    if frac >= 1_000_000_000:
        secs, frac = secs + 1, frac - 1_000_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def parse_time_filter(value: str | None, *, now: float | None = None) -> str | None:
    if value is None or value == "":
        return None
    now = time.time() if now is None else now
    if _UNIX.match(value):
        return engine_time(float(value))
    if value[-1:].isalpha() and value[0].isdigit() and "T" not in value and "-" not in value:
        from compose.units import parse_duration

        try:
            return engine_time(now - parse_duration(value))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"invalid duration {value!r}", hint="e.g. 42m, 1h30m, 10s") from exc
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"invalid time {value!r}",
                         hint="use a duration (42m), a Unix timestamp or an RFC 3339 time") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return engine_time(dt.timestamp())
