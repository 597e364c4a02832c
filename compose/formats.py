"""Checks for the value formats the schema names: durations, port specs, exposed ports, byte sizes.

Each check answers "would docker compose be able to read this value?" and returns True for values it does not
apply to (other types) and for values still holding an unresolved ``${VAR}`` (validation may run before
interpolation). They follow the parsers compose uses: Go's time.ParseDuration, docker's port-spec split
(``[ip:][published:]target[/protocol]``, ranges allowed), compose's volume short syntax and go-units
RAMInBytes, and the string-to-boolean/integer/number conversions compose applies to interpolated values.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

_DURATION_RE = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_PORT_RANGE_RE = re.compile(r"(\d+)(?:-(\d+))?")
_BYTES_RE = re.compile(r"\d+(?:\.\d+)*\s?[kmgtp]?i?b?", re.IGNORECASE)
_PROTOCOLS = {"tcp", "udp", "sctp"}
MAX_PORT = 65535


def _unresolved(value: str) -> bool:
    return "$" in value


def is_duration(value: object) -> bool:
    if not isinstance(value, str) or _unresolved(value):
        return True
    return value == "0" or _DURATION_RE.fullmatch(value) is not None


def port_range(text: str, *, allow_zero: bool = False) -> tuple[int, int] | None:
    """``"8000-8010"`` -> (8000, 8010); None when not a valid port or range."""
    match = _PORT_RANGE_RE.fullmatch(text)
    if not match:
        return None
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) is not None else low
    if high < low or high > MAX_PORT or (low == 0 and not allow_zero):
        return None
    return low, high


def _split_protocol(spec: str) -> tuple[str, str] | None:
    if "/" not in spec:
        return spec, "tcp"
    body, protocol = spec.rsplit("/", 1)
    return (body, protocol.lower()) if protocol.lower() in _PROTOCOLS else None


def is_port_spec(value: object) -> bool:
    """A ``ports:`` short-syntax entry."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 < value <= MAX_PORT
    if isinstance(value, float):
        return value.is_integer() and 0 < value <= MAX_PORT
    if not isinstance(value, str) or _unresolved(value):
        return True
    split = _split_protocol(value)
    if split is None:
        return False
    parts = split[0].split(":")
    target = parts[-1]
    published = parts[-2] if len(parts) >= 2 else ""
    host_ip = ":".join(parts[:-2]) if len(parts) >= 3 else ""
    target_range = port_range(target)
    if target_range is None:
        return False
    if published:
        published_range = port_range(published, allow_zero=True)
        if published_range is None:
            return False
        # A range maps onto a range of the same size, or onto a single container port.
        span = published_range[1] - published_range[0]
        if target_range[1] != target_range[0] and span != target_range[1] - target_range[0]:
            return False
    if host_ip:
        address = host_ip[1:-1] if host_ip.startswith("[") and host_ip.endswith("]") else host_ip
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return False
    return True


def is_expose_spec(value: object) -> bool:
    """An ``expose:`` entry: a port or range, optionally with a protocol."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return is_port_spec(value)
    if not isinstance(value, str) or _unresolved(value):
        return True
    split = _split_protocol(value)
    return split is not None and port_range(split[0]) is not None


def volume_sections(spec: str) -> list[str]:
    """``SOURCE:TARGET:MODE`` split on colons, keeping a Windows drive (``C:``) with its path."""
    sections: list[str] = []
    current = ""
    for char in spec:
        if char == ":" and not (len(current) == 1 and current.isalpha()):
            sections.append(current)
            current = ""
        else:
            current += char
    sections.append(current)
    return sections


def is_volume_spec(value: object) -> bool:
    """A ``volumes:`` short-syntax entry: ``[SOURCE:]TARGET[:MODE]`` with no empty section.

    Unknown mode options are ignored, as compose does.
    """
    if not isinstance(value, str) or _unresolved(value):
        return True
    if len(value) <= 2:
        return value != ""
    sections = volume_sections(value)
    return len(sections) <= 3 and all(sections)


# The strings compose converts to booleans (case-insensitive) when a boolean is expected.
BOOLEAN_WORDS = frozenset({"y", "yes", "true", "on", "n", "no", "false", "off"})
_INTEGER_RE = re.compile(r"[-+]?\d+")


def is_boolean_text(value: object) -> bool:
    if not isinstance(value, str) or _unresolved(value):
        return True
    return value.strip().lower() in BOOLEAN_WORDS


def is_integer_text(value: object) -> bool:
    if not isinstance(value, str) or _unresolved(value):
        return True
    return _INTEGER_RE.fullmatch(value.strip()) is not None


def is_number_text(value: object) -> bool:
    if not isinstance(value, str) or _unresolved(value):
        return True
    try:
        float(value.strip())
    except ValueError:
        return False
    return True


def is_byte_size(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if not isinstance(value, str) or _unresolved(value):
        return True  # numbers are byte counts; -1 means "unlimited" for memswap_limit
    return _BYTES_RE.fullmatch(value.strip()) is not None


CHECKS: dict[str, Callable[[object], bool]] = {
    "duration": is_duration,
    "ports": is_port_spec,
    "expose": is_expose_spec,
    "bytes": is_byte_size,
    "volume": is_volume_spec,
    "boolean": is_boolean_text,
    "integer": is_integer_text,
    "number": is_number_text,
}
