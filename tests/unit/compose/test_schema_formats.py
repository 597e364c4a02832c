"""Value formats checked by validation: durations, port specs, exposed ports, byte sizes."""

from __future__ import annotations

import pytest

from compose import formats
from compose.suggest import closest, did_you_mean


@pytest.mark.parametrize("value,ok", [
    ("30s", True), ("1m30s", True), ("500ms", True), ("1.5h", True), ("0", True), ("-1s", True),
    ("2us", True), ("3µs", True), ("${T}", True), ("10", False), ("10x", False), ("1h30", False),
    ("5 s", False), ("", False), ("s", False),
])
def test_duration(value: str, ok: bool) -> None:
    assert formats.is_duration(value) is ok


@pytest.mark.parametrize("value,ok", [
    (80, True), ("80", True), ("8080:80", True), ("127.0.0.1:8080:80", True), ("127.0.0.1::80", True),
    ("[::1]:8080:80", True), ("::1:8080:80", True), ("8080:80/udp", True), ("9000-9010:9000-9010", True),
    ("8000-8010:80", True), ("0:80", True), ("${P}:80", True),
    (0, False), (70000, False), (True, False), ("abc", False), ("80:80:80:80", False), ("8080:80/icmp", False),
    ("1.2.3.999:80:80", False), ("90-80:90-80", False), ("8080:", False), ("9000-9002:80-81", False),
])
def test_port_spec(value: object, ok: bool) -> None:
    assert formats.is_port_spec(value) is ok


@pytest.mark.parametrize("value,ok", [
    ("80", True), (80, True), ("80/udp", True), ("8000-8010", True), ("http", False), ("80:80", False),
])
def test_expose(value: object, ok: bool) -> None:
    assert formats.is_expose_spec(value) is ok


@pytest.mark.parametrize("value,ok", [
    ("512m", True), ("1g", True), ("1GB", True), ("2.5 MiB", True), ("100", True), (1024, True), (-1, True),
    ("lots", False), ("1x", False), ("-5m", False), (True, False),
])
def test_byte_size(value: object, ok: bool) -> None:
    assert formats.is_byte_size(value) is ok


@pytest.mark.parametrize("value,ok", [
    ("data:/var/lib/data", True), ("./src:/src:ro", True), ("/anonymous", True), ("C:\\x:/y:ro", True),
    ("ab", True), ("${SRC}:/x", True), ("x:/y:unknown-option", True), ("a:b:c:d", True),  # `a:` reads as a drive
    ("", False), ("data:", False), ("ab::/x", False), ("src:/dst:ro:extra", False), (":/x", False),
])
def test_volume_spec(value: str, ok: bool) -> None:
    assert formats.is_volume_spec(value) is ok


@pytest.mark.parametrize("check,value,ok", [
    (formats.is_boolean_text, "yes", True), (formats.is_boolean_text, "OFF", True),
    (formats.is_boolean_text, "${FLAG}", True), (formats.is_boolean_text, True, True),
    (formats.is_boolean_text, "maybe", False), (formats.is_boolean_text, "1", False),
    (formats.is_integer_text, "42", True), (formats.is_integer_text, "-1", True), (formats.is_integer_text, 3, True),
    (formats.is_integer_text, "4.5", False), (formats.is_integer_text, "three", False),
    (formats.is_number_text, "0.5", True), (formats.is_number_text, "2", True), (formats.is_number_text, "1e3", True),
    (formats.is_number_text, "half", False), (formats.is_number_text, "", False),
])
def test_scalar_text(check: object, value: object, ok: bool) -> None:
    assert check(value) is ok  # type: ignore[operator]


def test_suggestions() -> None:
    assert did_you_mean("imgae", ["image", "build"]) == "did you mean `image`?"
    assert closest("ENVIRONMENT", ["environment", "entrypoint"]) == "environment"
    assert did_you_mean("zzz", ["image"]) is None
    service_keys = ["image", "environment", "build", "deploy", "mem_limit", "container_name", "cap_add", "cpus"]
    assert did_you_mean("env", service_keys) == "did you mean `environment`?"
    assert did_you_mean("caps", service_keys) == "did you mean `cap_add`?"  # not `cpus`
    assert did_you_mean("name", service_keys) == "did you mean `container_name`?"
    assert did_you_mean("dockerfile", service_keys) == "`dockerfile` belongs under `build:`"
    assert did_you_mean("replicas", service_keys) == "`replicas` belongs under `deploy:`"
    assert did_you_mean("dockerfile", ["context", "dockerfile_inline"]) == "did you mean `dockerfile_inline`?"
