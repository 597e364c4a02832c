"""Build small layer tarballs and image archives in memory for image-store tests."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field


@dataclass
class Entry:
    name: str
    kind: str = "file"  # file, dir, symlink, hardlink, chr, blk, fifo
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    link: str = ""
    major: int = 0
    minor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)
    mtime: int = 1_700_000_000


_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
          "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}


def make_tar(entries: list[Entry]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.type = _TYPES[e.kind]
            info.mode, info.uid, info.gid, info.mtime = e.mode, e.uid, e.gid, e.mtime
            info.linkname = e.link
            info.devmajor, info.devminor = e.major, e.minor
            info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape") for k, v in e.xattrs.items()}
            if e.kind == "file":
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
            else:
                tar.addfile(info)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def docker_archive(layer_tars: list[bytes], tags: list[str], *, gzip_layers: bool = False,
                   config_extra: dict | None = None) -> tuple[bytes, str]:
    """A docker-archive (as ``docker save`` writes) of one image; returns (archive bytes, image id)."""
    diff_ids = [sha256(t) for t in layer_tars]
    config = {"architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05Z",
              "config": {"Cmd": ["sh"], **(config_extra or {})},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created": "2024-01-02T03:04:05Z", "created_by": f"layer {i}"}
                          for i in range(len(layer_tars))]}
    config_bytes = json.dumps(config).encode()
    image_id = sha256(config_bytes)
    files: dict[str, bytes] = {f"{image_id[7:]}.json": config_bytes}
    names = []
    for i, tar in enumerate(layer_tars):
        name = f"{diff_ids[i][7:]}/layer.tar"
        files[name] = gzip.compress(tar) if gzip_layers else tar
        names.append(name)
    files["manifest.json"] = json.dumps([{"Config": f"{image_id[7:]}.json", "RepoTags": tags,
                                          "Layers": names}]).encode()
    return make_tar([Entry(n, data=d) for n, d in files.items()]), image_id
