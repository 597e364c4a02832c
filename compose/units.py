"""Durations and byte sizes as compose writes them (``1m30s``, ``50M``) and as compose-go prints them."""

from __future__ import annotations

import re

from compose.errors import ConfigError

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_BYTES_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$", re.IGNORECASE)
_BYTE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def parse_duration(text: str | int | float) -> float:
    """Seconds in a Go duration string (``1m30s``, ``1.5s``, ``-2h``). A bare number counts as seconds."""
    if isinstance(text, bool):
        raise ConfigError(f"invalid duration {text!r}")
    if isinstance(text, (int, float)):
        return float(text)
    s = text.strip()
    sign = 1.0
    if s[:1] in "+-":
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    pos = 0
    total = 0.0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m:
            raise ConfigError(f'invalid duration "{text}"',
                              hint='write a number with a unit, e.g. "10s", "1m30s", "500ms"')
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if not s:
        raise ConfigError(f'invalid duration "{text}"')
    return sign * total


def format_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()``: ``1m0s``, ``1.5s``, ``500ms``, ``2h0m0s``, ``0s``."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _trim(ns, size) + unit
    hours, rem = divmod(ns, 3600 * 10**9)
    minutes, rem = divmod(rem, 60 * 10**9)
    text = _trim(rem, 10**9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _trim(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{frac:0{digits}d}".rstrip("0")


def parse_bytes(value: str | int | float) -> int:
    """Bytes in a size (``50M``, ``1gb``, ``1024k``, ``512``); units are powers of 1024 like docker's."""
    if isinstance(value, bool):
        raise ConfigError(f"invalid size {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    m = _BYTES_RE.match(value)
    if not m:
        raise ConfigError(f'invalid size "{value}"', hint='write bytes or a number with a unit, e.g. "64m", "1g"')
    return int(float(m.group(1)) * _BYTE_UNITS[m.group(2).lower()])
