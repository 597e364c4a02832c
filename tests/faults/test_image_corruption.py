"""Corrupt, truncated and malicious archives and blobs: rejected with ImageError, the store left as it was."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from runtime.errors import ImageError
from runtime.images.store import ImageStore
from tests.support.tarbuild import Entry, docker_archive, make_tar

PROJECT_DIR = Path(__file__).resolve().parents[2]
LAYER = make_tar([Entry("etc/data", data=os.urandom(300_000)), Entry("bin/x", data=b"x", mode=0o755)])


def snapshot(store: ImageStore) -> dict[str, str]:
    """Every path under the store (staging excluded) with its type and content hash: 'exactly as it was'."""
    state: dict[str, str] = {}
    if not store.dir.exists():
        return state
    for dirpath, dirnames, filenames in os.walk(store.dir):
        rel = os.path.relpath(dirpath, store.dir)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d != "tmp"]
        for name in dirnames:
            state[os.path.join(rel, name)] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                state[os.path.join(rel, name)] = "special"
            else:
                with open(path, "rb") as f:
                    state[os.path.join(rel, name)] = hashlib.sha256(f.read()).hexdigest()
    return state


def staging_empty(store: ImageStore) -> bool:
    tmp = store.dir / "tmp"
    return not tmp.exists() or not any(tmp.iterdir())


@pytest.fixture
def store(hoist_root: Path, busybox_image: str) -> ImageStore:
    """A store that already holds an image, so 'unchanged' is checked against real content."""
    return ImageStore(hoist_root)


def rewrite_member(archive: bytes, name: str, transform: object) -> bytes:
    src = tarfile.open(fileobj=io.BytesIO(archive))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as dst:
        for info in src.getmembers():
            data = src.extractfile(info).read() if info.isreg() else b""  # type: ignore[union-attr]
            if info.name == name:
                data = transform(data)  # type: ignore[operator]
                info.size = len(data)
            dst.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


def flip_byte(data: bytes, at: int | None = None) -> bytes:
    i = len(data) // 2 if at is None else at
    return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]


def assert_rejected(store: ImageStore, tmp_path: Path, archive: bytes, match: str | None = None) -> ImageError:
    before = snapshot(store)
    path = tmp_path / "bad.tar"
    path.write_bytes(archive)
    with pytest.raises(ImageError, match=match) as err:
        store.load(path)
    assert snapshot(store) == before
    assert staging_empty(store)
    assert err.value.hint
    return err.value


def test_truncated_docker_archive(store: ImageStore, tmp_path: Path) -> None:
    archive, _ = docker_archive([LAYER], ["victim:1"])
    last = tarfile.open(fileobj=io.BytesIO(archive)).getmembers()[-1]
    # In a header, in the layer's data, and inside the last member (manifest.json) itself.
    for cut in (100, len(archive) // 3, len(archive) // 2, last.offset_data + 5):
        assert_rejected(store, tmp_path, archive[:cut])


def test_truncated_gzip_archive(store: ImageStore, tmp_path: Path) -> None:
    archive, _ = docker_archive([LAYER], ["victim:1"])
    compressed = gzip.compress(archive)
    assert_rejected(store, tmp_path, compressed[: len(compressed) // 2], "corrupt or truncated")


def test_corrupt_layer_content(store: ImageStore, tmp_path: Path) -> None:
    archive, image_id = docker_archive([LAYER], ["victim:1"])
    layer_name = next(n for n in tarfile.open(fileobj=io.BytesIO(archive)).getnames() if n.endswith("layer.tar"))
    # Flip a byte inside a file's content: still a valid tar, but not the diff id the config promises.
    bad = rewrite_member(archive, layer_name, lambda d: flip_byte(d, 2048))
    assert "uncompressed content hashes to" in str(assert_rejected(store, tmp_path, bad))


def test_corrupt_gzip_layer(store: ImageStore, tmp_path: Path) -> None:
    archive, _ = docker_archive([LAYER], ["victim:1"], gzip_layers=True)
    layer_name = next(n for n in tarfile.open(fileobj=io.BytesIO(archive)).getnames() if n.endswith("layer.tar"))
    assert_rejected(store, tmp_path, rewrite_member(archive, layer_name, flip_byte))


def test_config_not_matching_its_digest_name(store: ImageStore, tmp_path: Path) -> None:
    archive, image_id = docker_archive([LAYER], ["victim:1"])
    bad = rewrite_member(archive, f"{image_id[7:]}.json", lambda d: d.replace(b'"sh"', b'"xx"'))
    assert_rejected(store, tmp_path, bad, "corrupt")


def test_second_image_bad_means_nothing_loaded(store: ImageStore, tmp_path: Path) -> None:
    good, _ = docker_archive([LAYER], ["good:1"])
    bad_layer = make_tar([Entry("../../escape", data=b"x")])
    bad, _ = docker_archive([bad_layer], ["bad:1"])
    good_t, bad_t = tarfile.open(fileobj=io.BytesIO(good)), tarfile.open(fileobj=io.BytesIO(bad))
    manifest = json.loads(good_t.extractfile("manifest.json").read()) + json.loads(  # type: ignore[union-attr]
        bad_t.extractfile("manifest.json").read())  # type: ignore[union-attr]
    entries = [Entry(m.name, data=t.extractfile(m).read())  # type: ignore[union-attr]
               for t in (good_t, bad_t) for m in t.getmembers() if m.isreg() and m.name != "manifest.json"]
    entries.append(Entry("manifest.json", data=json.dumps(manifest).encode()))
    assert_rejected(store, tmp_path, make_tar(entries), "path traversal")
    assert not store.exists("good:1")


@pytest.mark.parametrize("members", [
    [Entry("../outside", data=b"x")],
    [Entry("/../../outside", data=b"x")],
    [Entry("link", "symlink", link="/tmp"), Entry("link/outside", data=b"x")],
    [Entry("hl", "hardlink", link="../../../etc/passwd")],
])
def test_malicious_layers(store: ImageStore, tmp_path: Path, members: list[Entry]) -> None:
    archive, _ = docker_archive([make_tar(members)], ["evil:1"])
    assert_rejected(store, tmp_path, archive)
    assert not Path("/tmp/outside").exists()


def oci_archive_of(store: ImageStore, tmp_path: Path, ref: str) -> bytes:
    store.save([ref], tmp_path / "good-oci.tar", "oci")
    return (tmp_path / "good-oci.tar").read_bytes()


def test_corrupt_oci_blobs(store: ImageStore, tmp_path: Path, busybox_image: str) -> None:
    good = oci_archive_of(store, tmp_path, busybox_image)
    fresh = ImageStore(store.root.parent / "fresh-root")
    names = [n for n in tarfile.open(fileobj=io.BytesIO(good)).getnames() if n.startswith("blobs/sha256/")]
    assert len(names) == 3  # manifest, config, one layer
    for name in names:
        assert_rejected(fresh, tmp_path, rewrite_member(good, name, flip_byte))
        assert_rejected(fresh, tmp_path, rewrite_member(good, name, lambda d: d[: len(d) // 2]))
    assert_rejected(fresh, tmp_path, rewrite_member(good, "index.json", lambda d: d[:-5]), "JSON")
    assert fresh.load(tmp_path / "good-oci.tar")  # and the intact archive still loads


def test_corrupt_blob_in_store(store: ImageStore, tmp_path: Path, busybox_image: str) -> None:
    info = store.resolve(busybox_image)
    layer_blob = store.blobs.path(info.layers[0])
    # Replace (never write into) the blob: it may share its inode with the test cache.
    data = layer_blob.read_bytes()
    replacement = layer_blob.with_name("replacement")
    replacement.write_bytes(flip_byte(data, 4096))
    os.replace(replacement, layer_blob)
    layer_dir = store.layers_dir / store.rootfs_layers(info.id)[0].parent.name
    if layer_dir.is_symlink():
        layer_dir.unlink()  # force a re-unpack from the corrupt blob (only the link is ours)
    with pytest.raises(ImageError, match="corrupt"):
        store.rootfs_layers(info.id)
    assert not layer_dir.exists()
    with pytest.raises(ImageError, match="corrupt"):
        store.save([busybox_image], tmp_path / "x.tar", "oci")
    assert not (tmp_path / "x.tar").exists()
    # A corrupt config is reported as such, not as a crash.
    config_blob = store.blobs.path(info.id)
    tampered = config_blob.with_name("tampered")
    tampered.write_bytes(config_blob.read_bytes().replace(b"amd64", b"arm64"))
    os.replace(tampered, config_blob)
    with pytest.raises(ImageError, match="corrupt"):
        store.resolve(busybox_image)


def test_load_killed_midway_leaves_store_unchanged(hoist_root: Path, debian_image: str, tmp_path: Path) -> None:
    store = ImageStore(hoist_root)
    store.save([debian_image], tmp_path / "big.tar", "docker")
    fresh_root = tmp_path / "fresh"
    fresh = ImageStore(fresh_root)
    fresh.import_tarball(_small_tar(tmp_path), "already:here")
    before = snapshot(fresh)
    code = ("import sys; from pathlib import Path; from runtime.images.store import ImageStore; "
            "ImageStore(Path(sys.argv[1])).load(sys.argv[2])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(fresh_root), str(tmp_path / "big.tar")], cwd=PROJECT_DIR)
    try:
        deadline = time.monotonic() + 60
        # Kill once it is unpacking into staging (a layer dir exists there), before it can publish.
        while time.monotonic() < deadline and proc.poll() is None:
            tmp = fresh.dir / "tmp"
            if tmp.is_dir() and any(p.name.startswith("layer-") for d in tmp.iterdir() if d.is_dir()
                                    for p in d.iterdir()):
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the load finished before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert snapshot(fresh) == before
    assert fresh.list()[0].tags == ["docker.io/library/already:here"]
    # The next operation clears what the killed process left in staging, and loads work again.
    archive, image_id = docker_archive([LAYER], ["after:kill"])
    (tmp_path / "after.tar").write_bytes(archive)
    (loaded,) = fresh.load(tmp_path / "after.tar")
    assert loaded.id == image_id
    assert staging_empty(fresh)


def _small_tar(tmp_path: Path) -> Path:
    path = tmp_path / "small.tar"
    path.write_bytes(make_tar([Entry("f", data=b"f")]))
    return path
