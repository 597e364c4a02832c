"""What `ps`, `ls` and `port` show of containers: docker's status strings and compose's ContainerSummary
fields (the ones clients like testcontainers and python-on-whales read)."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from typing import Any

from compose import labels as L
from runtime.api import ContainerState, EngineAPI, ImageConfig


def _parse_time(text: str) -> datetime | None:
    if not text or text.startswith("0001-"):
        return None
    text = text.replace("Z", "+00:00")
    # Python < 3.11 rejects nanoseconds; trim the fraction to microseconds.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(digits):]
        text = f"{head}.{digits[:6]}{tz}"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """docker's go-units HumanDuration."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(s / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def _since(text: str, now: datetime) -> str:
    dt = _parse_time(text)
    return human_duration((now - dt).total_seconds()) if dt else "Less than a second"


def status_text(c: ContainerState, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    if c.status in ("running", "paused"):
        text = f"Up {_since(c.started_at, now)}"
        if c.status == "paused":
            return text + " (Paused)"
        if c.health:
            text += f" ({'health: starting' if c.health == 'starting' else c.health})"
        return text
    if c.status == "restarting":
        return f"Restarting ({c.exit_code}) {_since(c.finished_at, now)} ago"
    if c.status == "exited":
        return f"Exited ({c.exit_code}) {_since(c.finished_at, now)} ago"
    return c.status.capitalize()


def command_text(c: ContainerState, image: ImageConfig | None = None) -> str:
    """What the container runs, as docker shows it: the spec's entrypoint and command combined with the
    image's (``image``, when known) by Docker's rules."""
    from runtime.containers.defaults import combine_command

    argv: list[str] = []
    if c.spec is not None:
        argv = combine_command(image.entrypoint if image else None, image.cmd if image else None,
                               c.spec.entrypoint, c.spec.command)
    return '"' + shlex.join(argv) + '"' if argv else '""'


def image_configs(engine: EngineAPI, containers: list[ContainerState]) -> dict[str, ImageConfig]:
    """Image id -> config for the containers' images that are still in the store (one look-up each)."""
    out: dict[str, ImageConfig] = {}
    for image_id in {c.image_id for c in containers if c.image_id}:
        try:
            out[image_id] = engine.image_inspect(image_id).config
        except Exception:  # noqa: BLE001 - removed since: the command shows without the image's part
            continue
    return out


def ports_text(c: ContainerState) -> str:
    parts = []
    for p in c.ports:
        if p.host_port:
            parts.append(f"{p.host_ip or '0.0.0.0'}:{p.host_port}->{p.container_port}/{p.protocol}")
        else:
            parts.append(f"{p.container_port}/{p.protocol}")
    return ", ".join(parts)


def publishers(c: ContainerState) -> list[dict[str, Any]]:
    out = [{"URL": p.host_ip or "0.0.0.0", "TargetPort": p.container_port, "PublishedPort": p.host_port,
            "Protocol": p.protocol} for p in c.ports]
    published = {(p.container_port, p.protocol) for p in c.ports}
    for exposed in (c.spec.expose if c.spec else []):
        port, _, proto = str(exposed).partition("/")
        if port.isdigit() and (int(port), proto or "tcp") not in published:
            out.append({"URL": "", "TargetPort": int(port), "PublishedPort": 0, "Protocol": proto or "tcp"})
    return sorted(out, key=lambda p: (p["TargetPort"], p["Protocol"], p["URL"]))


def summary(c: ContainerState, now: datetime | None = None, image: ImageConfig | None = None) -> dict[str, Any]:
    created = _parse_time(c.created)
    now = now or datetime.now(UTC)
    mounts = [m.source if m.type == "volume" else m.target for m in (c.spec.mounts if c.spec else [])]
    local_volumes = sum(1 for m in (c.spec.mounts if c.spec else []) if m.type == "volume")
    return {
        "ID": c.id,
        "Name": c.name,
        "Names": [c.name],
        "Image": c.image,
        "Command": command_text(c, image).strip('"'),
        "Project": c.labels.get(L.PROJECT, ""),
        "Service": c.labels.get(L.SERVICE, ""),
        "Created": int(created.timestamp()) if created else 0,
        "RunningFor": _since(c.created, now) + " ago",
        "State": c.status,
        "Status": status_text(c, now),
        "Health": c.health or "",
        "ExitCode": c.exit_code,
        "Publishers": publishers(c),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(c.labels.items())),
        "LocalVolumes": str(local_volumes),
        "Mounts": ",".join(mounts),
        "Networks": ",".join(e.network for e in c.endpoints) if c.endpoints else
        ",".join(e.network for e in (c.spec.networks if c.spec else [])),
        "Size": "0B",
    }
