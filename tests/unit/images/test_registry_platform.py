"""Platform normalisation and picking a manifest out of an index."""

from __future__ import annotations

import pytest

from runtime.errors import RegistryError
from runtime.images import platform as plat
from runtime.images.platform import Platform


def entry(name: str, os: str = "linux", arch: str = "amd64", variant: str | None = None) -> dict:
    p = {"os": os, "architecture": arch}
    if variant:
        p["variant"] = variant
    return {"digest": name, "platform": p}


INDEX = [
    entry("attestation", os="unknown", arch="unknown"),
    entry("arm6", arch="arm", variant="v6"),
    entry("arm64", arch="arm64", variant="v8"),
    entry("amd64", arch="amd64"),
    entry("win", os="windows", arch="amd64"),
]


@pytest.mark.parametrize("want, chosen", [
    (Platform("linux", "amd64"), "amd64"),
    (Platform("linux", "arm64"), "arm64"),  # no variant on the host side means v8
    (Platform("linux", "aarch64", "v8"), "arm64"),
    (Platform("linux", "arm", "v7"), "arm6"),  # v7 runs v6 when no v7 exists
    (Platform("windows", "amd64"), "win"),
])
def test_select(want: Platform, chosen: str) -> None:
    assert plat.select_manifest(INDEX, want)["digest"] == chosen


def test_exact_variant_beats_older_one() -> None:
    index = [entry("v5", arch="arm", variant="v5"), entry("v7", arch="arm", variant="v7"),
             entry("v6", arch="arm", variant="v6")]
    assert plat.select_manifest(index, Platform("linux", "arm", "v7"))["digest"] == "v7"
    assert plat.select_manifest(index, Platform("linux", "arm", "v6"))["digest"] == "v6"


def test_first_of_equals_wins_and_entries_without_platform_are_skipped() -> None:
    index = [{"digest": "noplatform"}, entry("first"), entry("second")]
    assert plat.select_manifest(index, Platform("linux", "amd64"))["digest"] == "first"


def test_no_match_names_available_platforms() -> None:
    with pytest.raises(RegistryError, match="no matching manifest for linux/s390x") as info:
        plat.select_manifest(INDEX, Platform("linux", "s390x"))
    assert "linux/arm64/v8" in str(info.value) and "linux/amd64" in str(info.value)
    assert "unknown" not in str(info.value)  # attestation entries are not platforms


def test_v7_host_does_not_take_v8_arm() -> None:
    with pytest.raises(RegistryError):
        plat.select_manifest([entry("v8", arch="arm", variant="v8")], Platform("linux", "arm", "v7"))


@pytest.mark.parametrize("text, expected", [
    ("linux/amd64", Platform("linux", "amd64")),
    ("linux/arm64", Platform("linux", "arm64", "v8")),
    ("linux/arm/v6", Platform("linux", "arm", "v6")),
    ("arm64", Platform("linux", "arm64", "v8")),
    ("linux/x86_64", Platform("linux", "amd64")),
])
def test_parse_platform(text: str, expected: Platform) -> None:
    assert plat.parse_platform(text) == expected


@pytest.mark.parametrize("text", ["", "linux//amd64", "a/b/c/d"])
def test_parse_platform_rejects(text: str) -> None:
    with pytest.raises(RegistryError, match="invalid platform"):
        plat.parse_platform(text)


@pytest.mark.parametrize("machine, expected", [
    ("x86_64", "linux/amd64"), ("aarch64", "linux/arm64/v8"), ("armv7l", "linux/arm/v7"),
    ("riscv64", "linux/riscv64"),
])
def test_host_platform(monkeypatch, machine: str, expected: str) -> None:
    monkeypatch.setattr(plat, "_machine", lambda: machine)
    assert str(plat.host_platform()) == expected


def test_machine_is_what_the_platform_module_reports() -> None:
    import platform

    assert plat._machine() == platform.machine()
