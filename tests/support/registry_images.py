"""Images for registry tests: multi-layer (plain, gzip and zstd layers) with content unique per call."""

from __future__ import annotations

import gzip
import io
import tarfile
import uuid
from pathlib import Path

import zstandard

from runtime.images.store import ImageStore


def layer_tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def make_multilayer_image(store: ImageStore, base_ref: str, ref: str, *, marker: str | None = None,
                          architecture: str | None = None) -> str:
    """``base_ref``'s layer + a gzip layer + a zstd layer, each with content unique to this call."""
    marker = marker or uuid.uuid4().hex
    base = store.resolve(base_ref)
    base_layer = store.manifest_json(base.id)["layers"][0]["digest"]
    gz = gzip.compress(layer_tar({"etc/gzip-layer": f"gzip {marker}\n".encode()}))
    zst = zstandard.ZstdCompressor().compress(layer_tar({"etc/zstd-layer": f"zstd {marker}\n".encode()}))
    _, gz_digest = store.commit_layer(io.BytesIO(gz))
    _, zst_digest = store.commit_layer(io.BytesIO(zst))
    config = {"config": {"Cmd": ["/bin/sh", "-c", "cat /etc/gzip-layer /etc/zstd-layer"],
                         "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}}
    if architecture:
        config["architecture"] = architecture
    return store.write_image(config, [base_layer, gz_digest, zst_digest], ref).id


def store_snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the image store with its size and inode: what 'the store is unchanged' compares."""
    images = root / "images"
    snap = {}
    for path in images.rglob("*"):
        if path.is_file() and not path.is_symlink():
            st = path.lstat()
            snap[str(path.relative_to(images))] = (st.st_size, st.st_ino)
    return snap
