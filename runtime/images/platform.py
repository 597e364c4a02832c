"""Platforms (os/architecture/variant) and picking one manifest out of an image index or manifest list.

Names follow the OCI image spec / Go's GOOS and GOARCH (``linux/amd64``, ``linux/arm64/v8``,
``linux/arm/v7``), as containerd normalises them: ``aarch64`` is ``arm64``, an arm64 without variant is
``v8``, and a host that runs arm v7 can run v6 and v5 images when no v7 one exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from runtime.errors import RegistryError

_MACHINE_TO_ARCH = {
    "x86_64": ("amd64", ""), "amd64": ("amd64", ""),
    "aarch64": ("arm64", "v8"), "arm64": ("arm64", "v8"),
    "armv8l": ("arm", "v8"), "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"), "armv5tel": ("arm", "v5"),
    "i386": ("386", ""), "i686": ("386", ""),
    "ppc64le": ("ppc64le", ""), "s390x": ("s390x", ""), "riscv64": ("riscv64", ""),
    "mips64": ("mips64", ""),
}
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386", "armhf": "arm",
                 "armel": "arm"}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def normalized(self) -> Platform:
        arch = _ARCH_ALIASES.get(self.architecture.lower(), self.architecture.lower())
        variant = self.variant.lower()
        if arch == "arm64" and variant in ("", "8"):
            variant = "v8"
        elif arch == "arm" and variant in ("5", "6", "7", "8"):
            variant = "v" + variant
        elif arch == "arm" and not variant:
            variant = "v7"
        return Platform(self.os.lower(), arch, variant)


def _machine() -> str:
    """What ``platform.machine()`` returns on Linux, without importing that module (~1.5 ms per pull)."""
    return os.uname().machine


def host_platform() -> Platform:
    """The platform this machine runs natively."""
    machine = _machine().lower()
    arch, variant = _MACHINE_TO_ARCH.get(machine, (machine, ""))
    return Platform("linux", arch, variant)


def parse_platform(text: str) -> Platform:
    """``linux/arm64/v8``, ``linux/amd64`` or a bare ``arm64`` (os linux), as ``docker pull --platform``."""
    parts = [p for p in text.strip().split("/")]
    if not text.strip() or any(not p for p in parts) or len(parts) > 3:
        raise RegistryError(f"invalid platform {text!r}",
                            hint="write it as os/arch[/variant], for example linux/amd64 or linux/arm64/v8")
    if len(parts) == 1:
        return Platform("linux", parts[0]).normalized()
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else "").normalized()


def platform_of(descriptor: dict) -> Platform | None:
    """The platform of an index entry, None for entries without one (attestations, foreign artifacts)."""
    plat = descriptor.get("platform")
    if not isinstance(plat, dict) or not plat.get("os") or not plat.get("architecture"):
        return None
    return Platform(str(plat["os"]), str(plat["architecture"]), str(plat.get("variant") or "")).normalized()


def _rank(candidate: Platform, want: Platform) -> int | None:
    """Lower is better; None when ``candidate`` cannot run on ``want``."""
    if candidate.os != want.os or candidate.architecture != want.architecture:
        return None
    if candidate.variant == want.variant:
        return 0
    if want.architecture == "arm" and candidate.variant.startswith("v") and want.variant.startswith("v"):
        # An armv7 host runs v6 and v5 binaries; prefer the closest older variant.
        try:
            have, need = int(candidate.variant[1:]), int(want.variant[1:])
        except ValueError:
            return None
        return need - have if have < need else None
    if not want.variant:
        return 1
    return None


def select_manifest(manifests: list[dict], want: Platform) -> dict:
    """The entry of an index's ``manifests`` that best matches ``want`` (first wins among equals)."""
    want = want.normalized()
    best: tuple[int, int] | None = None
    chosen: dict | None = None
    for index, entry in enumerate(manifests):
        plat = platform_of(entry)
        if plat is None:
            continue
        rank = _rank(plat, want)
        if rank is not None and (best is None or (rank, index) < best):
            best, chosen = (rank, index), entry
    if chosen is None:
        # "unknown/unknown" entries are build attestations, not images one could ask for.
        available = sorted({str(p) for p in (platform_of(m) for m in manifests)
                            if p is not None and p.os != "unknown"})
        raise RegistryError(
            f"no matching manifest for {want} in the manifest list entries",
            hint=("the image is published for: " + ", ".join(available)) if available
            else "the image index lists no platforms")
    return chosen
