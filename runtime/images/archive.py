"""``docker load`` / ``docker save`` archives: docker-archive (manifest.json + repositories) and oci-archive.

Loading verifies everything before the store changes: every blob against its digest, every layer's
uncompressed content against the config's diff ids, and every layer unpacked (and so checked for path
traversal) in staging. Only then are the images published, all together. A corrupt, truncated or malicious
archive raises ImageError and leaves the store as it was.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from runtime.errors import ImageError
from runtime.images import compression, layers, reference
from runtime.images.blobs import CHUNK, check_digest, hex_of
from runtime.images.config import host_architecture

if TYPE_CHECKING:
    from runtime.images.store import ImageStore, StagedImage

CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
_HEX_IN_NAME = re.compile(r"(?:^|/)(?:sha256[:/])?([a-f0-9]{64})(?:\.json|\.tar)?$")
_MAX_LINK_DEPTH = 16
_MAX_JSON = 64 << 20  # a manifest or config larger than this is not an image


def _corrupt(what: str) -> ImageError:
    return ImageError(f"invalid image archive: {what}",
                      hint="the archive is damaged or not made by docker save / skopeo; the store was not changed")


# ---------------------------------------------------------------------------------------------- reading


class _Archive:
    """Random access to the members of an (uncompressed) archive tar, following in-archive links."""

    def __init__(self, path: Path) -> None:
        try:
            self.tar = tarfile.open(path, "r:", errors="surrogateescape")
            members = self.tar.getmembers()
        except (tarfile.TarError, EOFError) as exc:
            raise _corrupt(f"not a readable tar archive ({exc})") from None
        self.members: dict[str, tarfile.TarInfo] = {}
        for info in members:
            name = posixpath.normpath(info.name.lstrip("/"))
            if name.startswith("../") or name == "..":
                raise _corrupt(f"member {info.name!r} points outside the archive")
            self.members[name] = info

    def __contains__(self, name: str) -> bool:
        return name in self.members

    def _member(self, name: str) -> tarfile.TarInfo:
        name = posixpath.normpath(name.lstrip("/"))
        for _ in range(_MAX_LINK_DEPTH):
            info = self.members.get(name)
            if info is None:
                raise _corrupt(f"{name!r} is missing (truncated archive?)")
            if info.issym():
                name = posixpath.normpath(posixpath.join(posixpath.dirname(name), info.linkname))
            elif info.islnk():
                name = posixpath.normpath(info.linkname.lstrip("/"))
            elif info.isreg():
                return info
            else:
                raise _corrupt(f"{name!r} is not a regular file")
            if name.startswith("../"):
                raise _corrupt(f"link {name!r} points outside the archive")
        raise _corrupt(f"too many links resolving {name!r}")

    def open(self, name: str) -> IO[bytes]:
        info = self._member(name)
        stream = self.tar.extractfile(info)
        assert stream is not None
        return stream

    def size(self, name: str) -> int:
        return self._member(name).size

    def read_json(self, name: str, expected_digest: str | None = None) -> tuple[Any, bytes]:
        if self.size(name) > _MAX_JSON:
            raise _corrupt(f"{name!r} is too large for a manifest or config")
        with self.open(name) as f:
            data = f.read()
        if len(data) != self.size(name):
            raise _corrupt(f"{name!r} is truncated")
        if expected_digest is not None:
            from runtime.images.blobs import digest_bytes

            actual = digest_bytes(data)
            if actual != expected_digest:
                raise ImageError(f"blob {expected_digest} in the archive is corrupt: it hashes to {actual}",
                                 hint="the archive is damaged; the store was not changed")
        try:
            return json.loads(data), data
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _corrupt(f"{name!r} is not valid JSON ({exc})") from None

    def close(self) -> None:
        self.tar.close()


@contextlib.contextmanager
def _plain_archive(path: Path, staging: Path) -> Iterator[_Archive]:
    """Open the archive, first decompressing it into staging when it is gzip/zstd/bzip2/xz compressed."""
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror}", hint="check the archive's path") from None
    with f:
        head = f.read(8)
        f.seek(0)
        kind = compression.detect(head)
        if kind != "none":
            plain = staging / "archive.tar"
            try:
                with compression.decompressed(f, kind) as src, open(plain, "wb") as dst:  # type: ignore[attr-defined]
                    shutil.copyfileobj(src, dst, CHUNK)
            except compression.decompression_errors() as exc:
                if isinstance(exc, OSError) and not isinstance(exc, EOFError) and exc.errno is not None:
                    raise
                raise _corrupt(f"the {kind} stream is corrupt or truncated ({exc})") from None
            path = plain
    archive = _Archive(path)
    try:
        yield archive
    finally:
        archive.close()


def _names_from_hex(name: str) -> str | None:
    """The digest a member name carries (``<hex>.json``, ``blobs/sha256/<hex>``), if any."""
    m = _HEX_IN_NAME.search(name)
    return f"sha256:{m.group(1)}" if m else None


def load_archive(store: ImageStore, path: Path) -> list[tuple[str, list[str]]]:
    """Load every image of a docker-archive or oci-archive into ``store``.

    Returns (image id, the tags the archive gave it) per image, in archive order.
    """
    with store.staging() as staging, _plain_archive(path, staging) as archive:
        if "manifest.json" in archive:
            images = _stage_docker(store, archive, staging)
        elif "index.json" in archive:
            images = _stage_oci(store, archive, staging)
        else:
            raise _corrupt("neither manifest.json (docker-archive) nor index.json (oci-archive) is in it")
        if not images:
            raise _corrupt("it contains no image")
        store.publish(images)
        return [(image.image_id, list(image.tags)) for image in images]


def _stage_layers(store: ImageStore, archive: _Archive, staging: Path, names: list[str], diff_ids: list[str],
                  digests: list[str | None]) -> list[Any]:
    staged = []
    chains = layers.chain_ids(diff_ids)
    for name, diff_id, chain_id, digest in zip(names, diff_ids, chains, digests, strict=True):
        with archive.open(name) as member:
            sl = store.stage_layer(staging, member, expected_digest=digest,  # type: ignore[arg-type]
                                    expected_diff_id=diff_id, chain_id=chain_id)
        if sl.blob.size != archive.size(name) and digest is None:
            raise _corrupt(f"layer {name!r} is truncated")
        staged.append(sl)
    return staged


def _stage_docker(store: ImageStore, archive: _Archive, staging: Path) -> list[StagedImage]:
    manifest, _ = archive.read_json("manifest.json")
    if not isinstance(manifest, list):
        raise _corrupt("manifest.json is not a list of images")
    images = []
    for entry in manifest:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str) or not isinstance(
                entry.get("Layers"), list):
            raise _corrupt("an entry of manifest.json has no Config or Layers")
        config_name = entry["Config"]
        config, config_bytes = archive.read_json(config_name, _names_from_hex(config_name))
        if not isinstance(config, dict) or not isinstance(config.get("rootfs"), dict):
            raise _corrupt(f"{config_name!r} is not an image config")
        diff_ids = list(config["rootfs"].get("diff_ids") or [])
        for d in diff_ids:
            check_digest(d)
        if len(diff_ids) != len(entry["Layers"]):
            raise _corrupt(f"{config_name!r} lists {len(diff_ids)} layers but manifest.json {len(entry['Layers'])}")
        names = [str(n) for n in entry["Layers"]]
        # Only blobs/sha256/<hex> names are digests of the blob; legacy <id>/layer.tar names are v1 ids.
        digests = [_names_from_hex(n) if n.startswith("blobs/") else None for n in names]
        staged_layers = _stage_layers(store, archive, staging, names, diff_ids, digests)
        image = store.stage_image(staging, config_bytes, staged_layers)
        image.tags = [_archive_tag(t) for t in entry.get("RepoTags") or []]
        images.append(image)
    return images


def _archive_tag(tag: Any) -> str:
    try:
        if not isinstance(tag, str):
            raise reference.InvalidSpec(f"{tag!r} is not a string")
        return reference.normalize(tag)
    except reference.InvalidSpec as exc:
        raise _corrupt(f"manifest.json has an invalid tag: {exc.message}") from None


def _platform_ok(desc: dict[str, Any]) -> bool:
    platform = desc.get("platform")
    if not platform:
        return True
    return platform.get("os", "linux") == "linux" and platform.get("architecture") == host_architecture()


def _ref_from_annotations(annotations: dict[str, str]) -> str | None:
    """The name an index entry gives its image: containerd's full name, else a ref.name that is a reference.

    A bare ``ref.name`` such as "latest" (what docker writes next to the containerd name) names no repository,
    so such an image loads untagged.
    """
    name = annotations.get(CONTAINERD_NAME_ANNOTATION)
    if not name:
        candidate = annotations.get(REF_NAME_ANNOTATION) or ""
        if ":" in candidate or "/" in candidate:
            name = candidate
    if not name:
        return None
    try:
        return reference.normalize(name)
    except reference.InvalidSpec:
        return None


def _stage_oci(store: ImageStore, archive: _Archive, staging: Path) -> list[StagedImage]:
    index, _ = archive.read_json("index.json")
    if not isinstance(index, dict):
        raise _corrupt("index.json is not an image index")
    staged: dict[str, StagedImage] = {}
    order: list[str] = []

    def manifests_of(doc: dict[str, Any], depth: int = 0) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
        if depth > 4:
            raise _corrupt("image indexes nested too deeply")
        for desc in doc.get("manifests") or []:
            if not isinstance(desc, dict):
                raise _corrupt("a descriptor in the index is not an object")
            media = desc.get("mediaType", "")
            if media in ("application/vnd.oci.image.index.v1+json",
                         "application/vnd.docker.distribution.manifest.list.v2+json"):
                child, _ = _read_blob_json(archive, desc)
                chosen = [d for d in child.get("manifests") or [] if _platform_ok(d)]
                if not chosen:
                    raise ImageError(f"the archive has no image for linux/{host_architecture()}",
                                     hint="save or copy the image for this platform")
                for inner, _ in manifests_of({"manifests": chosen[:1]}, depth + 1):
                    yield inner, desc.get("annotations") or {}
            else:
                yield desc, desc.get("annotations") or {}

    for desc, outer_annotations in manifests_of(index):
        name = _ref_from_annotations({**(desc.get("annotations") or {}), **outer_annotations})
        digest = check_digest(desc.get("digest", ""))
        if digest not in staged:
            manifest, manifest_bytes = _read_blob_json(archive, desc)
            config_desc = manifest.get("config")
            if not isinstance(config_desc, dict) or not isinstance(manifest.get("layers", []), list):
                raise _corrupt(f"manifest {digest} has no config descriptor or layer list")
            config, config_bytes = _read_blob_json(archive, config_desc)
            diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
            layer_descs = manifest.get("layers") or []
            if len(diff_ids) != len(layer_descs):
                raise _corrupt(f"manifest {digest} has {len(layer_descs)} layers but its config {len(diff_ids)}")
            if not all(isinstance(d, dict) and isinstance(d.get("mediaType"), str) for d in layer_descs):
                raise _corrupt(f"manifest {digest} has a malformed layer descriptor")
            names = [_blob_name(d) for d in layer_descs]
            for d in layer_descs:
                if compression.media_type_compression(d["mediaType"]) is None:
                    raise ImageError(f"unsupported layer media type {d.get('mediaType')!r}",
                                     hint="hoist stores tar, tar+gzip and tar+zstd layers")
            staged_layers = _stage_layers(store, archive, staging, names, diff_ids,
                                          [d["digest"] for d in layer_descs])
            for sl, d in zip(staged_layers, layer_descs, strict=True):
                sl.media_type = d["mediaType"]  # keep the manifest's own, so its digest still describes it
            image = store.stage_image(staging, config_bytes, staged_layers, manifest=manifest_bytes)
            staged[digest] = image
            order.append(digest)
        if name and name not in staged[digest].tags:
            staged[digest].tags.append(name)
    return [staged[d] for d in order]


def _blob_name(desc: dict[str, Any]) -> str:
    digest = check_digest(desc.get("digest", ""))
    return f"blobs/sha256/{hex_of(digest)}"


def _read_blob_json(archive: _Archive, desc: dict[str, Any]) -> tuple[Any, bytes]:
    name = _blob_name(desc)
    doc, data = archive.read_json(name, desc["digest"])
    if "size" in desc and desc["size"] != len(data):
        raise _corrupt(f"blob {desc['digest']} has {len(data)} bytes, its descriptor says {desc['size']}")
    if not isinstance(doc, dict):
        raise _corrupt(f"blob {desc['digest']} is not a JSON object")
    return doc, data


# ---------------------------------------------------------------------------------------------- writing


@dataclass
class _SaveItem:
    image_id: str
    tags: list[str] = field(default_factory=list)  # normalised references named on the command line


def _collect(store: ImageStore, refs: list[str]) -> list[_SaveItem]:
    items: dict[str, _SaveItem] = {}
    for ref in refs:
        info = store.resolve(ref)
        item = items.setdefault(info.id, _SaveItem(info.id))
        tag = _tag_named(ref, info.tags)
        if tag and tag not in item.tags:
            item.tags.append(tag)
    return list(items.values())


def _tag_named(ref: str, tags: list[str]) -> str | None:
    try:
        parsed = reference.parse(ref)
    except reference.InvalidSpec:
        return None
    return str(parsed) if parsed.digest is None and str(parsed) in tags else None


class _TarWriter:
    def __init__(self, out: BinaryIO) -> None:
        self.tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)
        self.dirs: set[str] = set()

    def _dir(self, name: str) -> None:
        parent = posixpath.dirname(name)
        if parent and parent not in self.dirs:
            self._dir(parent)
            info = tarfile.TarInfo(parent)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            self.tar.addfile(info)
            self.dirs.add(parent)

    def add_bytes(self, name: str, data: bytes) -> None:
        self._dir(name)
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        self.tar.addfile(info, io.BytesIO(data))

    def add_file(self, name: str, path: Path) -> None:
        self._dir(name)
        info = tarfile.TarInfo(name)
        info.size = path.stat().st_size
        info.mode = 0o644
        with open(path, "rb") as f:
            self.tar.addfile(info, f)

    def close(self) -> None:
        self.tar.close()

    def abandon(self) -> None:
        """Drop a half-written archive without writing its end (the caller discards the output)."""
        self.tar.closed = True  # type: ignore[attr-defined]
        self.tar.fileobj.closed = True  # type: ignore[union-attr,attr-defined]


def save_archive(store: ImageStore, refs: list[str], dest: Path | BinaryIO, fmt: str) -> None:
    """Write the images ``refs`` name to ``dest`` (a path, written atomically, or a binary stream)."""
    if fmt not in ("docker", "oci"):
        raise ImageError(f"unknown archive format {fmt!r}", hint="use docker or oci")
    if not refs:
        raise ImageError("no image to save", hint="name at least one image")
    items = _collect(store, refs)
    if isinstance(dest, Path):
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                _write(store, items, out, fmt)
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    else:
        _write(store, items, dest, fmt)


def _write(store: ImageStore, items: list[_SaveItem], out: BinaryIO, fmt: str) -> None:
    writer = _TarWriter(out)
    try:
        with store.staging() as staging:
            if fmt == "docker":
                _write_docker(store, items, writer, staging)
            else:
                _write_oci(store, items, writer)
    except BaseException:
        writer.abandon()
        raise
    writer.close()


def _uncompressed_layer(store: ImageStore, desc: dict[str, Any], staging: Path) -> Path:
    """A path to the uncompressed tar of a layer blob (the blob itself when it is not compressed)."""
    blob = store.blobs.path(desc["digest"])
    with open(blob, "rb") as f:
        kind = compression.detect(f.read(8))
    if kind == "none":
        return blob
    plain = staging / f"layer-{hex_of(desc['digest'])}.tar"
    if not plain.exists():
        with store.blobs.open(desc["digest"]) as src, compression.decompressed(src, kind) as dec, \
                open(plain, "wb") as dst:  # type: ignore[attr-defined]
            shutil.copyfileobj(dec, dst, CHUNK)
    return plain


def _write_docker(store: ImageStore, items: list[_SaveItem], writer: _TarWriter, staging: Path) -> None:
    entries = []
    repositories: dict[str, dict[str, str]] = {}
    written: set[str] = set()
    for item in items:
        config_bytes = store.blobs.read_bytes(item.image_id)
        config = json.loads(config_bytes)
        manifest = store.manifest_json(item.image_id)
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        config_name = f"{hex_of(item.image_id)}.json"
        if config_name not in written:
            writer.add_bytes(config_name, config_bytes)
            written.add(config_name)
        layer_names = []
        for diff_id, desc in zip(diff_ids, manifest.get("layers") or [], strict=True):
            name = f"{hex_of(diff_id)}/layer.tar"
            if name not in written:
                writer.add_file(name, _uncompressed_layer(store, desc, staging))
                written.add(name)
            layer_names.append(name)
        tags = [reference.familiar(t) for t in item.tags]
        entries.append({"Config": config_name, "RepoTags": tags or None, "Layers": layer_names})
        for tag in item.tags:
            parsed = reference.parse(tag)
            if diff_ids and parsed.tag:
                repositories.setdefault(parsed.familiar_name(), {})[parsed.tag] = hex_of(diff_ids[-1])
    writer.add_bytes("manifest.json", json.dumps(entries, separators=(",", ":")).encode())
    if repositories:
        writer.add_bytes("repositories", json.dumps(repositories, separators=(",", ":")).encode())


def _write_oci(store: ImageStore, items: list[_SaveItem], writer: _TarWriter) -> None:
    writer.add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    written: set[str] = set()
    index_manifests = []

    def blob(digest: str) -> None:
        name = f"blobs/sha256/{hex_of(digest)}"
        if name not in written:
            if not store.blobs.verify(digest):
                raise ImageError(f"blob {digest} in the image store is corrupt or missing",
                                 hint="remove the image and load or pull it again")
            writer.add_file(name, store.blobs.path(digest))
            written.add(name)

    for item in items:
        record = store.record(item.image_id)
        manifest = store.manifest_json(item.image_id)
        for desc in manifest.get("layers") or []:
            blob(desc["digest"])
        blob(item.image_id)
        blob(record["manifest"])
        desc = {"mediaType": record.get("manifest_media_type") or "application/vnd.oci.image.manifest.v1+json",
                "digest": record["manifest"], "size": record["manifest_size"]}
        if not item.tags:
            index_manifests.append(desc)
        for tag in item.tags:
            parsed = reference.parse(tag)
            index_manifests.append({**desc, "annotations": {CONTAINERD_NAME_ANNOTATION: tag,
                                                            REF_NAME_ANNOTATION: parsed.tag or "latest"}})
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": index_manifests}
    writer.add_bytes("index.json", json.dumps(index, separators=(",", ":")).encode())
