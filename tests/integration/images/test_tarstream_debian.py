"""TarStream (with its fast header path) reads a real Debian layer exactly as tarfile does, member by member."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from runtime.images import tarstream
from runtime.images.store import ImageStore
from tests.support.image_store import cached_store
from tests.unit.images.test_tarstream import fields


def test_every_member_of_the_debian_layer_matches_tarfile(debian_rootfs: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cached = ImageStore(cached_store(debian_rootfs, "debian:bookworm-slim"))
    image = cached.resolve("debian:bookworm-slim")
    data = cached.blobs.path(cached.manifest_json(image.id)["layers"][0]["digest"]).read_bytes()
    fast = 0
    plain_header = tarstream._plain_header

    def counting(*args):  # type: ignore[no-untyped-def]
        nonlocal fast
        info = plain_header(*args)
        fast += info is not None
        return info

    monkeypatch.setattr(tarstream, "_plain_header", counting)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|", errors="surrogateescape") as tar:
        expected = [fields(i) for i in tar]
    assert [fields(i) for i in tarstream.TarStream(io.BytesIO(data))] == expected  # type: ignore[arg-type]
    assert len(expected) > 5000 and fast > len(expected) // 2  # the fast path did most of the work
