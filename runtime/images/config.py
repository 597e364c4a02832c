"""OCI image config JSON <-> :class:`runtime.api.ImageConfig`, and fresh configs for imported images."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from runtime.api import Healthcheck, ImageConfig

_NS = 1e9
_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x",
            "i686": "386", "riscv64": "riscv64"}


def host_architecture() -> str:
    """The host's architecture in OCI/Go spelling (amd64, arm64, ...)."""
    machine = os.uname().machine  # platform.machine() is this, behind a module of ~3 ms to import
    return _GO_ARCH.get(machine, machine)


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(obj: Any) -> bytes:
    """The bytes we hash for configs and manifests we write (stable key order, no spaces)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def new_image_config(*, diff_ids: list[str], config: dict[str, Any] | None = None, comment: str = "",
                     created_by: str = "", created: str | None = None) -> dict[str, Any]:
    created = created or now_rfc3339()
    history: dict[str, Any] = {"created": created}
    if created_by:
        history["created_by"] = created_by
    if comment:
        history["comment"] = comment
    return {
        "architecture": host_architecture(),
        "os": "linux",
        "created": created,
        "config": config or {},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [history],
    }


def _seconds(value: Any, default: float) -> float:
    return value / _NS if isinstance(value, int | float) and value else default


def _healthcheck(raw: Any) -> Healthcheck | None:
    if not isinstance(raw, dict) or not raw.get("Test"):
        return None
    return Healthcheck(
        test=list(raw["Test"]),
        interval=_seconds(raw.get("Interval"), 30.0),
        timeout=_seconds(raw.get("Timeout"), 30.0),
        start_period=_seconds(raw.get("StartPeriod"), 0.0),
        start_interval=_seconds(raw.get("StartInterval"), 5.0),
        retries=int(raw.get("Retries") or 3),
    )


def image_config_from_json(image_config: dict[str, Any]) -> ImageConfig:
    """The container-relevant part of a full image config document."""
    c = image_config.get("config") or {}
    return ImageConfig(
        entrypoint=list(c["Entrypoint"]) if c.get("Entrypoint") else None,
        cmd=list(c["Cmd"]) if c.get("Cmd") else None,
        env=list(c.get("Env") or []),
        working_dir=c.get("WorkingDir") or "",
        user=c.get("User") or "",
        exposed_ports=sorted((c.get("ExposedPorts") or {}).keys()),
        volumes=sorted((c.get("Volumes") or {}).keys()),
        labels=dict(c.get("Labels") or {}),
        stop_signal=c.get("StopSignal") or None,
        healthcheck=_healthcheck(c.get("Healthcheck")),
        shell=list(c["Shell"]) if c.get("Shell") else None,
        onbuild=list(c.get("OnBuild") or []),
    )
