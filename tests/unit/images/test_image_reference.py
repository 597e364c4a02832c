"""Reference parsing and normalisation, table-driven against Docker's documented behaviour."""

from __future__ import annotations

import pytest

from runtime.errors import InvalidSpec
from runtime.images import reference

DIGEST = "sha256:" + "a" * 64

NORMALISED = [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"),
    ("me/app", "docker.io/me/app:latest", "me/app:latest"),
    ("me/app/sub:v1.0-rc_1", "docker.io/me/app/sub:v1.0-rc_1", "me/app/sub:v1.0-rc_1"),
    ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
    ("localhost:5000/x:tag", "localhost:5000/x:tag", "localhost:5000/x:tag"),
    ("registry.example.com/team/app:2", "registry.example.com/team/app:2", "registry.example.com/team/app:2"),
    ("127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest", "127.0.0.1:5000/a/b:latest"),
    ("[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"),
    ("Host/app", "Host/app:latest", "Host/app:latest"),  # uppercase first component: a registry host
    (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}", f"busybox@{DIGEST}"),
    (f"busybox:1@{DIGEST}", f"docker.io/library/busybox:1@{DIGEST}", f"busybox:1@{DIGEST}"),
    ("a.b-c__d---e", "docker.io/library/a.b-c__d---e:latest", "a.b-c__d---e:latest"),
]


@pytest.mark.parametrize(("ref", "full", "short"), NORMALISED)
def test_normalise_and_familiar(ref: str, full: str, short: str) -> None:
    assert reference.normalize(ref) == full
    assert reference.familiar(full) == short
    assert reference.normalize(short) == full  # the familiar form parses back to the same reference


@pytest.mark.parametrize("ref", [
    "", "UPPER", "me/App", "busybox:", "busybox:-bad", ":tag", "a//b", "a/", "-a", "a-", "a..b",
    "busybox@sha256:abc", "busybox@sha256:" + "A" * 64, "x:" + "t" * 129, "a" * 64,
    "host:port:5000/x", "a b",
])
def test_invalid_references_are_refused(ref: str) -> None:
    with pytest.raises(InvalidSpec) as err:
        reference.parse(ref)
    assert "invalid reference format" in str(err.value)
    assert err.value.hint


def test_parts() -> None:
    ref = reference.parse("localhost:5000/team/app:v2")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ("localhost:5000", "team/app", "v2", None)
    assert ref.repository == "localhost:5000/team/app"
    assert ref.familiar_name() == "localhost:5000/team/app"
    pinned = reference.parse(f"alpine@{DIGEST}")
    assert pinned.tag is None and pinned.digest == DIGEST
    assert reference.parse("alpine", default_tag=False).tag is None
    assert str(reference.parse("me/app").with_tag("9")) == "docker.io/me/app:9"


def test_name_length_limit() -> None:
    reference.parse("a" * 200)
    with pytest.raises(InvalidSpec):
        reference.parse("x/" + "a" * 250)


@pytest.mark.parametrize(("text", "is_id", "prefix"), [
    ("a" * 64, True, True),
    ("sha256:" + "0" * 64, True, True),
    ("abc123", False, True),
    ("sha256:abc", False, True),
    ("busybox", False, False),
    ("", False, False),
])
def test_id_forms(text: str, is_id: bool, prefix: bool) -> None:
    assert reference.is_image_id(text) is is_id
    assert reference.looks_like_id_prefix(text) is prefix
