"""pull_image unpacks layers while they download: same results, and bad blobs refused for what they are."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

import runtime.images.pull as pull_module
from runtime.errors import ImageError, RegistryError
from runtime.images.registry import OCI_MANIFEST
from runtime.images.store import ImageStore
from tests.support.tarbuild import Entry, make_tar
from tests.unit.images.test_registry_pull_retry import StaticRegistry

BIG = os.urandom(3 << 20)  # a member bigger than any single read of the pipeline


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def serve(reg: StaticRegistry, tars: list[bytes], blobs: list[bytes], diff_ids: list[str] | None = None) -> None:
    """Make ``reg`` serve an image of these layer blobs (diff ids: those of ``tars`` unless given)."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers",
                                    "diff_ids": diff_ids or [_digest(t) for t in tars]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _digest(b),
                    "size": len(b)} for b in blobs]}).encode()
    reg.content = {"manifest": manifest, _digest(config): config, **{_digest(b): b for b in blobs}}
    reg.layer_digest = _digest(blobs[-1])


@pytest.fixture
def reg(monkeypatch: pytest.MonkeyPatch) -> Iterator[StaticRegistry]:
    monkeypatch.setattr(pull_module, "RETRY_PAUSE", 0.01)
    registry = StaticRegistry()
    yield registry
    registry.stop()


def assert_store_untouched(root: Path) -> None:
    assert not (root / "images" / "images.json").exists()
    assert not any((root / "images" / "tmp").glob("*"))
    assert not (root / "images" / "layers").exists() or not any((root / "images" / "layers").iterdir())


def test_gzip_zstd_and_plain_layers_unpack_while_streaming(tmp_path: Path, reg: StaticRegistry) -> None:
    tars = [make_tar([Entry("etc", "dir"), Entry("etc/big", data=BIG)]),
            make_tar([Entry("etc/big", data=b"replaced"), Entry("z", data=b"zstd layer")]),
            make_tar([Entry("plain", data=b"uncompressed layer")])]
    blobs = [gzip.compress(tars[0]), zstandard.ZstdCompressor().compress(tars[1]), tars[2]]
    serve(reg, tars, blobs)
    store = ImageStore(tmp_path)
    info = pull_module.pull_image(store, f"{reg.host}/x/y:1")
    first, second, third = store.rootfs_layers(info.id)
    assert (first / "etc/big").read_bytes() == BIG
    assert (second / "etc/big").read_bytes() == b"replaced" and (second / "z").read_bytes() == b"zstd layer"
    assert (third / "plain").read_bytes() == b"uncompressed layer"
    for blob in blobs:  # the registry's bytes are stored as they came
        assert store.blobs.read_bytes(_digest(blob)) == blob
    assert not any((tmp_path / "images" / "tmp").glob("*"))


def test_a_tampered_blob_that_breaks_decompression_early_is_a_digest_error(tmp_path: Path,
                                                                           reg: StaticRegistry) -> None:
    tar = make_tar([Entry("big", data=BIG)])
    blob = gzip.compress(tar)
    serve(reg, [tar], [blob])
    damaged = bytearray(blob)
    damaged[12] ^= 0xFF  # inside the first deflate block: inflate fails long before the end
    reg.content[reg.layer_digest] = bytes(damaged)
    with pytest.raises(RegistryError, match=f"blob {reg.layer_digest} .*failed digest verification"):
        pull_module.pull_image(ImageStore(tmp_path), f"{reg.host}/x/y:1")
    assert reg.layer_requests == 1  # not retried: the registry's copy is wrong
    assert_store_untouched(tmp_path)


def test_a_tampered_blob_with_a_path_escape_is_a_digest_error(tmp_path: Path, reg: StaticRegistry) -> None:
    tar = make_tar([Entry("fine", data=b"x" * 1000)])
    serve(reg, [tar], [tar])
    # The attacker's blob: a layer writing outside, of the same size, served under the good one's digest.
    evil = make_tar([Entry("../../escaped", data=b"p" * 1000)])
    assert len(evil) == len(tar)
    reg.content[reg.layer_digest] = evil
    with pytest.raises(RegistryError, match="failed digest verification"):
        pull_module.pull_image(ImageStore(tmp_path / "root"), f"{reg.host}/x/y:1")
    assert not list(tmp_path.rglob("escaped"))
    assert_store_untouched(tmp_path / "root")


def test_a_corrupt_blob_the_manifest_really_names_is_corrupt_data(tmp_path: Path, reg: StaticRegistry) -> None:
    tar = make_tar([Entry("big", data=BIG)])
    blob = bytearray(gzip.compress(tar))
    blob[12] ^= 0xFF
    serve(reg, [tar], [bytes(blob)])  # the digest matches: the image itself is broken
    with pytest.raises(ImageError, match="corrupt or truncated"):
        pull_module.pull_image(ImageStore(tmp_path), f"{reg.host}/x/y:1")
    assert reg.layer_requests == 1
    assert_store_untouched(tmp_path)


def test_a_wrong_diff_id_is_refused(tmp_path: Path, reg: StaticRegistry) -> None:
    tar = make_tar([Entry("f", data=b"content")])
    serve(reg, [tar], [gzip.compress(tar)], diff_ids=[_digest(b"something else")])
    with pytest.raises(ImageError, match="uncompressed content hashes to"):
        pull_module.pull_image(ImageStore(tmp_path), f"{reg.host}/x/y:1")
    assert_store_untouched(tmp_path)


def test_more_bytes_than_the_manifest_declares_are_refused(tmp_path: Path, reg: StaticRegistry) -> None:
    tar = make_tar([Entry("f", data=b"content")])
    blob = gzip.compress(tar)
    serve(reg, [tar], [blob])
    reg.content[reg.layer_digest] = blob + b"\0" * 4096  # gzip itself would accept the zero padding
    with pytest.raises(RegistryError, match="instead of"):
        pull_module.pull_image(ImageStore(tmp_path), f"{reg.host}/x/y:1")
    assert_store_untouched(tmp_path)


def test_one_bad_layer_among_many_fails_the_pull_with_its_own_error(tmp_path: Path, reg: StaticRegistry) -> None:
    tars = [make_tar([Entry(f"f{n}", data=os.urandom(200_000))]) for n in range(5)]
    blobs = [gzip.compress(t) for t in tars]
    serve(reg, tars, blobs)
    victim = _digest(blobs[1])
    damaged = bytearray(blobs[1])
    damaged[len(damaged) // 2] ^= 0xFF
    reg.content[victim] = bytes(damaged)
    # The other downloads are cancelled or finish; the error raised is the victim's, never a cancellation.
    with pytest.raises(RegistryError, match=f"blob {victim} .*failed digest verification"):
        pull_module.pull_image(ImageStore(tmp_path), f"{reg.host}/x/y:1")
    assert_store_untouched(tmp_path)


def test_the_layer_readers_a_pull_will_need_are_imported_up_front() -> None:
    """import_layer_readers imports what unpacking these compressions imports (checked in a fresh
    interpreter: this one has everything imported already)."""
    import subprocess
    import sys

    code = ("import json, sys; from runtime.images import compression; "
            "names = ('tarfile', 'runtime.images.tarstream', 'zstandard'); "
            "loaded = lambda: sorted(m for m in names if m in sys.modules); "
            "before = loaded(); compression.import_layer_readers({'gzip', 'zstd'}); "
            "print(json.dumps([before, loaded()]))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[3]).stdout
    before, after = json.loads(out)
    assert "zstandard" not in before
    assert after == ["runtime.images.tarstream", "tarfile", "zstandard"]


def test_the_compressions_a_manifest_declares() -> None:
    descriptors = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd"},
                   {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"},
                   {"mediaType": "application/vnd.oci.image.layer.v1.tar"}, {"mediaType": "odd"}, "not a dict"]
    assert pull_module._compressions(descriptors) == {"zstd", "gzip", "none"}
