"""The local image store: an OCI image layout under ``<root>/images`` plus unpacked layers.

Layout::

    images/oci-layout, index.json      an OCI image layout (index.json is derived, for tools like skopeo)
    images/images.json                 the store's truth: images (manifest digest, repo digests), tags
    images/blobs/sha256/<hex>          manifests, configs and layer blobs by digest
    images/layers/<chain hex>/diff     each layer unpacked once per chain id: an overlay lower dir
    images/layers/<chain hex>/meta.json
    images/l/<26 hex>                  short links to layers/<chain hex>/diff, for overlay's lowerdir
    images/tmp/                        staging; nothing here is ever referenced
    images/.lock                       fcntl lock serialising every change of images.json, blobs, layers

Writes stage everything (blobs written and hashed, layers unpacked) outside the lock, then publish with
renames and one atomic rewrite of images.json under the lock: a failure before publishing leaves the store
exactly as it was, and concurrent processes never see half an image.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from runtime import filelock
from runtime.api import ImageInfo
from runtime.errors import Conflict, ImageError, NotFound
from runtime.images import layers, reference
from runtime.images.blobs import BlobStore, HashingReader, StagedBlob, check_digest, hex_of, random_hex
from runtime.images.config import canonical_json, image_config_from_json, new_image_config

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
METADATA_VERSION = 1
SHORT_LINK_LEN = 26  # hex digits of the chain id naming a layer's short link (collisions: ~2^-104)

InUse = Callable[[str], bool]  # image id -> is a container using it?

# Every container create resolves an image here, in a fresh CLI process: the modules only writes need
# (tarfile, tempfile, uuid, compression, changes) are imported by the functions that use them.


def unpack_decompressed(compressed: Any, kind: str, unpacked: Path | None, *, finish: Callable[[], None],
                        hint: str, sink_fd: int | None = None) -> tuple[HashingReader, int]:
    """Decompress ``compressed`` (``kind``), hash the tar (its diff id), unpack it into ``unpacked/diff`` when
    given, read the tar to its end and then call ``finish`` (which reads the compressed side to its end).
    Returns the tar's hasher and the unpacked size. Corrupt data is an ImageError with ``hint``; a real
    filesystem error (disk full...) stays what it is. ``sink_fd`` receives the tar's bytes."""
    import tarfile

    from runtime.images import compression

    size = 0
    try:
        inner = HashingReader(compression.decompressed(compressed, kind), sink_fd)  # type: ignore[arg-type]
        if unpacked is not None:
            (unpacked / "diff").mkdir(parents=True)
            size = layers.unpack(inner, unpacked / "diff").size  # type: ignore[arg-type]
        inner.drain()  # the diff id covers the tar's trailing padding too
        finish()
    except compression.decompression_errors() as exc:
        if isinstance(exc, OSError) and not isinstance(exc, EOFError) and exc.errno is not None:
            raise  # a real filesystem error (disk full...), not a corrupt stream
        raise ImageError(f"layer data is corrupt or truncated ({kind}): {exc}", hint=hint) from None
    except tarfile.TarError as exc:
        raise ImageError(f"layer data is not a valid tar archive: {exc}", hint=hint) from None
    return inner, size


def write_layer_meta(unpacked: Path, diff_id: str, size: int, digest: str) -> None:
    """What marks an unpacked layer directory complete (and what the store reads back)."""
    (unpacked / "meta.json").write_text(json.dumps({"diff_id": diff_id, "size": size, "digest": digest}))


def _never_in_use(_image_id: str) -> bool:
    return False


@dataclass
class StagedLayer:
    """A layer blob read once: hashed, and unpacked unless its chain dir exists."""

    blob: StagedBlob
    diff_id: str
    media_type: str
    unpacked: Path | None  # staging dir holding diff/ and meta.json; None when the chain dir exists
    size: int  # unpacked bytes (0 when not unpacked here)


@dataclass
class StagedImage:
    """Everything one image needs, verified and waiting in a staging directory."""

    config: StagedBlob
    manifest: StagedBlob
    layers: list[StagedLayer]
    tags: list[str] = field(default_factory=list)  # normalised references
    repo_digests: list[str] = field(default_factory=list)

    @property
    def image_id(self) -> str:
        return self.config.digest


@dataclass(frozen=True)
class PruneReport:
    """What ``image prune`` removed."""

    deleted: list[str]  # "Untagged: ..." / "Deleted: sha256:..." lines, as docker prints them
    space_reclaimed: int


class ImageStore:
    """One store per state root. Safe to use from several processes and threads at once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.dir = self.root / "images"
        self.blobs = BlobStore(self.dir)
        self.layers_dir = self.dir / "layers"
        self.metadata_path = self.dir / "images.json"
        self.short_links_dir = self.dir / "l"
        self._lock_path = self.dir / ".lock"

    # ------------------------------------------------------------------------------------ metadata, lock

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return filelock.exclusive(self._lock_path)

    def _read_metadata(self) -> dict[str, Any]:
        try:
            data = json.loads(self.metadata_path.read_text())
        except FileNotFoundError:
            return {"version": METADATA_VERSION, "images": {}, "tags": {}, "diff_ids": {}}
        except json.JSONDecodeError as exc:
            raise ImageError(f"the image index {self.metadata_path} is corrupt: {exc}",
                             hint="restore it from a backup, or remove the images directory and load the "
                             "images again") from None
        data.setdefault("images", {})
        data.setdefault("tags", {})
        data.setdefault("diff_ids", {})
        return data

    def _write_metadata(self, data: dict[str, Any]) -> None:
        _atomic_write(self.metadata_path, json.dumps(data, indent=1, sort_keys=True).encode())
        self._write_oci_index(data)

    def _write_oci_index(self, data: dict[str, Any]) -> None:
        """Keep index.json a valid OCI layout index: one descriptor per tag, one per untagged image."""
        manifests = []
        by_image: dict[str, list[str]] = {}
        for tag, image_id in sorted(data["tags"].items()):
            by_image.setdefault(image_id, []).append(tag)
        for image_id, record in sorted(data["images"].items()):
            desc = {"mediaType": record.get("manifest_media_type", OCI_MANIFEST), "digest": record["manifest"],
                    "size": record["manifest_size"]}
            for tag in by_image.get(image_id, []):
                manifests.append({**desc, "annotations": {REF_NAME_ANNOTATION: tag}})
            if image_id not in by_image:
                manifests.append(desc)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        _atomic_write(self.dir / "index.json", json.dumps(index, indent=1).encode())
        layout = self.dir / "oci-layout"
        if not layout.exists():
            _atomic_write(layout, b'{"imageLayoutVersion":"1.0.0"}')

    # --------------------------------------------------------------------------------------------- reads

    def resolve(self, ref: str) -> ImageInfo:
        """The image ``ref`` names: a reference (``busybox``, ``x@sha256:...``), an id or an id prefix."""
        data = self._read_metadata()
        return self._info(data, self._resolve_id(data, ref))

    def exists(self, ref: str) -> bool:
        try:
            self._resolve_id(self._read_metadata(), ref)
        except (NotFound, reference.InvalidSpec):
            return False
        return True

    def _resolve_id(self, data: dict[str, Any], ref: str) -> str:
        images: dict[str, Any] = data["images"]
        parsed: reference.Reference | None = None
        with contextlib.suppress(reference.InvalidSpec):
            parsed = reference.parse(ref)
        if parsed is not None:
            if parsed.digest is None:
                image_id = data["tags"].get(str(parsed))
                if image_id in images:
                    return image_id
            else:
                wanted = f"{parsed.repository}@{parsed.digest}"
                for image_id, record in images.items():
                    if wanted in record.get("repo_digests", []) or (
                            record["manifest"] == parsed.digest and any(
                                t.rsplit(":", 1)[0] == parsed.repository for t, i in data["tags"].items()
                                if i == image_id)):
                        return image_id
        if reference.looks_like_id_prefix(ref):
            body = ref.removeprefix("sha256:")
            matches = [i for i in images if i[len("sha256:"):].startswith(body)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise NotFound(f"image id prefix {ref!r} is ambiguous ({len(matches)} images match)",
                               hint="give more characters of the id")
        if parsed is None and not reference.looks_like_id_prefix(ref):
            reference.parse(ref)  # raises the reference's own InvalidSpec
        shown = parsed.familiar() if parsed is not None else ref
        raise NotFound(f"no such image: {shown}",
                       hint="load it with 'hoist image load', import a rootfs with 'hoist image import', or "
                       "pull it")

    def image_config_json(self, image_id: str) -> dict[str, Any]:
        """The full image config document (OCI / Docker JSON)."""
        return json.loads(self.blobs.read_bytes(check_digest(image_id)))

    def manifest_json(self, image_id: str) -> dict[str, Any]:
        data = self._read_metadata()
        record = data["images"].get(image_id)
        if record is None:
            raise NotFound(f"no such image: {image_id}")
        return json.loads(self.blobs.read_bytes(record["manifest"]))

    def record(self, image_id: str) -> dict[str, Any]:
        """The store's bookkeeping for an image (manifest digest, repo digests, added time)."""
        data = self._read_metadata()
        if image_id not in data["images"]:
            raise NotFound(f"no such image: {image_id}")
        return dict(data["images"][image_id])

    def _info(self, data: dict[str, Any], image_id: str) -> ImageInfo:
        record = data["images"][image_id]
        config = self.image_config_json(image_id)
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        return ImageInfo(
            id=image_id,
            tags=sorted(t for t, i in data["tags"].items() if i == image_id),
            digests=list(record.get("repo_digests", [])),
            created=config.get("created") or "",
            size=self._size(diff_ids, record),
            architecture=config.get("architecture") or "",
            os=config.get("os") or "",
            config=image_config_from_json(config),
            layers=diff_ids,
        )

    def _size(self, diff_ids: list[str], record: dict[str, Any]) -> int:
        total = 0
        for i, chain_id in enumerate(layers.chain_ids(diff_ids)):
            meta = self._layer_meta(chain_id)
            if meta is not None:
                total += int(meta.get("size", 0))
            elif i < len(record.get("layer_sizes", [])):
                total += int(record["layer_sizes"][i])
        return total

    def layer_sizes(self, image_id: str) -> list[int]:
        config = self.image_config_json(image_id)
        sizes = []
        for chain_id in layers.chain_ids((config.get("rootfs") or {}).get("diff_ids") or []):
            meta = self._layer_meta(chain_id)
            sizes.append(int(meta.get("size", 0)) if meta else 0)
        return sizes

    def _layer_meta(self, chain_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.layers_dir / hex_of(chain_id) / "meta.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def rootfs_layers(self, image_id: str) -> list[Path]:
        """The unpacked layer directories of an image, LOWEST first, for overlay's lowerdir (reversed).

        A layer directory that is missing (removed by hand, never unpacked) is unpacked again from its blob,
        which is verified on the way: a corrupt blob raises ImageError.
        """
        data = self._read_metadata()
        image_id = self._resolve_id(data, image_id)
        record = data["images"][image_id]
        config = self.image_config_json(image_id)
        manifest = json.loads(self.blobs.read_bytes(record["manifest"]))
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        descriptors = manifest.get("layers") or []
        if len(descriptors) != len(diff_ids):
            raise ImageError(f"image {image_id[:19]} is inconsistent: {len(descriptors)} layers in its "
                             f"manifest, {len(diff_ids)} in its config", hint="remove it and load it again")
        paths = []
        for chain_id, diff_id, desc in zip(layers.chain_ids(diff_ids), diff_ids, descriptors, strict=True):
            layer_dir = self.layers_dir / hex_of(chain_id)
            if not (layer_dir / "meta.json").is_file():
                self._repair_layer(chain_id, diff_id, desc)
            paths.append(layer_dir / "diff")
        return paths

    def overlay_lowerdir(self, image_id: str) -> str:
        """The ``lowerdir=`` value for an overlay mount of the image: short links, top layer first.

        Mount options must fit in one page (4096 bytes); full layer paths (~100 bytes each) would limit an
        image to ~38 layers. Short links under ``images/l/`` (Docker's overlay2 does the same) halve that.
        """
        links = []
        self.short_links_dir.mkdir(parents=True, exist_ok=True)
        for layer in self.rootfs_layers(image_id):
            link = self.short_links_dir / layer.parent.name[:SHORT_LINK_LEN]
            if not os.path.lexists(link):
                tmp = self.short_links_dir / f".{link.name}.{random_hex()[:8]}"
                os.symlink(f"../layers/{layer.parent.name}/diff", tmp)
                os.replace(tmp, link)  # atomic: concurrent callers agree on the same link
            links.append(str(link))
        return ":".join(reversed(links))

    def _repair_layer(self, chain_id: str, diff_id: str, desc: dict[str, Any]) -> None:
        staging = self.blobs.new_staging_dir()
        try:
            with self.blobs.open(desc["digest"]) as f:
                staged = self.stage_layer(staging, f, expected_digest=desc["digest"], expected_diff_id=diff_id,
                                           unpack=True, keep_blob=False)
            with self._locked():
                self._publish_layer_dir(staged, chain_id)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # ----------------------------------------------------------------------------------------- staging

    def has_chain(self, chain_id: str) -> bool:
        """Whether the layer chain ``chain_id`` is unpacked (its meta.json is written last)."""
        return (self.layers_dir / hex_of(chain_id) / "meta.json").is_file()

    def stage_layer(self, staging: Path, stream: BinaryIO, *, expected_digest: str | None = None,
                     expected_diff_id: str | None = None, unpack: bool = True, keep_blob: bool = True,
                     store_uncompressed: bool = False, chain_id: str | None = None) -> StagedLayer:
        """Read a layer blob once: copy it to staging, hash it, decompress, hash the tar, unpack it.

        ``store_uncompressed`` keeps the decompressed tar as the blob (for imports of .tar.xz and the like).
        """
        from runtime.images import compression

        if chain_id is not None and self.has_chain(chain_id):
            unpack = False  # shared layer: already unpacked under its chain id
        blob_path = staging / f"blob-{random_hex()}"
        fd = os.open(blob_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644) if keep_blob else None
        unpacked = staging / f"layer-{random_hex()}" if unpack else None
        try:
            outer = HashingReader(stream, None if store_uncompressed else fd)
            head, peeked = compression.peek(outer)  # type: ignore[arg-type]
            kind = compression.detect(head)
            if kind in ("bzip2", "xz") and not store_uncompressed:
                raise ImageError(f"layer compression {kind} is not allowed in images",
                                 hint="use gzip, zstd or an uncompressed tar")
            inner, size = unpack_decompressed(peeked, kind, unpacked, finish=outer.drain,
                                              hint="the archive or download is damaged; the store was not changed",
                                              sink_fd=fd if store_uncompressed else None)
        finally:
            if fd is not None:
                os.close(fd)
        digest = inner.digest if store_uncompressed else outer.digest
        blob_size = inner.size if store_uncompressed else outer.size
        if expected_digest is not None and digest != expected_digest:
            raise ImageError(f"layer blob {expected_digest} is corrupt: its content hashes to {digest}",
                             hint="the archive or download is damaged; the store was not changed")
        if expected_diff_id is not None and inner.digest != expected_diff_id:
            raise ImageError(f"layer {expected_diff_id} is corrupt: its uncompressed content hashes to "
                             f"{inner.digest}", hint="the archive or download is damaged; the store was not "
                             "changed")
        if unpacked is not None:
            write_layer_meta(unpacked, inner.digest, size, digest)
        media = compression.LAYER_MEDIA_TYPES["none" if store_uncompressed else kind]  # type: ignore[index]
        return StagedLayer(StagedBlob(digest, blob_size, blob_path), inner.digest, media, unpacked, size)

    def stage_image(self, staging: Path, config: dict[str, Any] | bytes, staged_layers: list[StagedLayer],
                     *, manifest: bytes | None = None) -> StagedImage:
        """Stage config and manifest blobs for layers already staged; ``manifest`` None writes an OCI one."""
        config_bytes = config if isinstance(config, bytes) else canonical_json(config)
        _check_config(config_bytes, staged_layers)
        config_blob = self.blobs.stage_bytes(staging, config_bytes)
        if manifest is None:
            manifest_doc = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_blob.digest, "size": config_blob.size},
                "layers": [{"mediaType": sl.media_type, "digest": sl.blob.digest, "size": sl.blob.size}
                           for sl in staged_layers],
            }
            manifest = canonical_json(manifest_doc)
        manifest_blob = self.blobs.stage_bytes(staging, manifest)
        return StagedImage(config_blob, manifest_blob, staged_layers)

    def _publish_layer_dir(self, staged: StagedLayer, chain_id: str) -> None:
        if staged.unpacked is None:
            return
        self.layers_dir.mkdir(parents=True, exist_ok=True)
        target = self.layers_dir / hex_of(chain_id)
        if (target / "meta.json").is_file():
            return  # another process published it first; ours is dropped with the staging dir
        if os.path.lexists(target):
            _remove_tree(target, self.dir / "tmp")  # a half-removed leftover, or a dangling link
        os.rename(staged.unpacked, target)

    def publish(self, images: Sequence[StagedImage], *, untag_previous: bool = True) -> list[str]:
        """Publish staged images under the lock; returns the image ids. Tags move to the new images.

        For loaders that staged their images with ``stage_layer`` / ``stage_image`` in ``staging()``."""
        with self._locked():
            data = self._read_metadata()
            for image in images:
                config = json.loads(image.config.path.read_bytes())
                diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
                for sl in image.layers:
                    self.blobs.publish(sl.blob)
                    data["diff_ids"][sl.blob.digest] = sl.diff_id
                for chain_id, sl in zip(layers.chain_ids(diff_ids), image.layers, strict=True):
                    self._publish_layer_dir(sl, chain_id)
                manifest_media = json.loads(image.manifest.path.read_bytes()).get("mediaType") or OCI_MANIFEST
                self.blobs.publish(image.config)
                self.blobs.publish(image.manifest)
                record = data["images"].setdefault(image.image_id, {})
                record.update({"manifest": image.manifest.digest, "manifest_size": image.manifest.size,
                               "manifest_media_type": manifest_media})
                record.setdefault("added", _now())
                digests = set(record.get("repo_digests", [])) | set(image.repo_digests)
                record["repo_digests"] = sorted(digests)
                for tag in image.tags:
                    data["tags"][tag] = image.image_id
            self._write_metadata(data)
        return [image.image_id for image in images]

    def publish_pulled(self, staging: Path, config: bytes, staged_layers: list[StagedLayer], *, manifest: bytes,
                       tag: str | None, repo_digest: str) -> str:
        """A pulled image: its config and the registry's manifest bytes (kept as they were, so the digest
        stays the registry's) over layers staged in ``staging``; tagged ``tag`` and recorded with its
        ``repo@sha256:...`` digest. Returns the image id."""
        image = self.stage_image(staging, config, staged_layers, manifest=manifest)
        image.tags = [tag] if tag else []
        image.repo_digests = [repo_digest]
        (image_id,) = self.publish([image])
        return image_id

    def add_repo_digest(self, image_id: str, repo_digest: str) -> bool:
        """Remember ``repo@sha256:...`` on an image (after a push); False if the image is gone meanwhile."""
        with self._locked():
            data = self._read_metadata()
            record = data["images"].get(image_id)
            if record is None:
                return False
            record["repo_digests"] = sorted(set(record.get("repo_digests", [])) | {repo_digest})
            self._write_metadata(data)
        return True

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A staging directory removed afterwards whatever happens (archive loaders use it)."""
        self.blobs.clean_abandoned_staging()
        path = self.blobs.new_staging_dir()
        try:
            yield path
        finally:
            _remove_tree(path, None)

    # --------------------------------------------------------------------------------------- importing

    def import_tarball(self, path: Path | str, ref: str | None, changes: Iterable[str] = (), *,
                       message: str = "") -> ImageInfo:
        """A rootfs tarball (plain, gzip, zstd, bzip2 or xz) as a single-layer image, like ``docker import``."""
        from runtime.images.changes import apply_changes

        tag = reference.normalize(ref) if ref else None
        changes = list(changes)
        apply_changes({}, changes)  # refuse a bad --change before reading the whole tarball
        source = str(path)
        try:
            f = open(source, "rb")
        except OSError as exc:
            raise NotFound(f"cannot read {source}: {exc.strerror}", hint="check the path of the tarball") from None
        with f, self.staging() as staging:
            layer = self.stage_layer(staging, f, store_uncompressed=True)
            return self._commit_import(staging, layer, tag, changes, comment=message or f"Imported from {source}")

    def import_directory(self, path: Path | str, ref: str | None, changes: Iterable[str] = (), *,
                         message: str = "") -> ImageInfo:
        """A root filesystem directory as a single-layer image (ownership, modes, xattrs preserved)."""
        from runtime.images.changes import apply_changes

        tag = reference.normalize(ref) if ref else None
        changes = list(changes)
        apply_changes({}, changes)
        source = Path(path)
        if not source.is_dir():
            raise NotFound(f"{source} is not a directory", hint="give the root filesystem directory to import")
        with self.staging() as staging:
            tar_path = staging / "rootfs.tar"
            with open(tar_path, "wb") as out:
                layers.pack(source, out)
            with open(tar_path, "rb") as f:
                layer = self.stage_layer(staging, f, store_uncompressed=True)
            tar_path.unlink()
            return self._commit_import(staging, layer, tag, changes, comment=message or f"Imported from {source}")

    def _commit_import(self, staging: Path, layer: StagedLayer, tag: str | None, changes: Iterable[str],
                       comment: str) -> ImageInfo:
        from runtime.images.changes import apply_changes

        config = new_image_config(diff_ids=[layer.diff_id], config=apply_changes({}, changes), comment=comment)
        image = self.stage_image(staging, config, [layer])
        image.tags = [tag] if tag else []
        (image_id,) = self.publish([image])
        return self.resolve(image_id)

    # ------------------------------------------------------------------------ builder / registry hooks

    def put_blob(self, data: bytes | BinaryIO, expected: str | None = None) -> str:
        """Store a blob (verified against ``expected`` when given) and return its digest."""
        with self.staging() as staging:
            if isinstance(data, bytes | bytearray):
                staged = self.blobs.stage_bytes(staging, bytes(data), expected)
            else:
                staged = self.blobs.stage_stream(staging, data, expected)
            with self._locked():
                self.blobs.publish(staged)
        return staged.digest

    def commit_layer(self, source: Path | str | BinaryIO, *, overlay_whiteouts: bool = True,
                     exclude: Iterable[str] = ()) -> tuple[str, str]:
        """Store a layer from a directory (an overlay upper dir by default) or a tar stream/file.

        ``exclude``: paths relative to the directory left out of the layer (``layers.pack``).

        Returns (diff_id, blob digest). The blob is the uncompressed tar; the layer is not unpacked until an
        image uses it (``write_image``).
        """
        with self.staging() as staging:
            if isinstance(source, str | Path) and Path(source).is_dir():
                tar_path = staging / "layer.tar"
                with open(tar_path, "wb") as out:
                    layers.pack(Path(source), out, overlay_whiteouts=overlay_whiteouts, exclude=exclude)
                with open(tar_path, "rb") as f:
                    staged = self.stage_layer(staging, f, unpack=False)
            elif isinstance(source, str | Path):
                with open(source, "rb") as f:
                    staged = self.stage_layer(staging, f, unpack=False)
            else:
                staged = self.stage_layer(staging, source, unpack=False)
            with self._locked():
                data = self._read_metadata()
                self.blobs.publish(staged.blob)
                data["diff_ids"][staged.blob.digest] = staged.diff_id
                self._write_metadata(data)
        return staged.diff_id, staged.blob.digest

    def write_image(self, config: dict[str, Any], layer_digests: Sequence[str], ref: str | None = None) -> ImageInfo:
        """An image from a full image config and layer blobs already in the store (lowest first).

        ``rootfs.diff_ids`` is filled in from the layers; missing unpacked layers are unpacked now.
        """
        tag = reference.normalize(ref) if ref else None
        known = self._read_metadata()["diff_ids"]
        with self.staging() as staging:
            staged_layers = []
            diff_ids: list[str] = []
            for digest in layer_digests:
                check_digest(digest)
                with self.blobs.open(digest) as f:
                    chain = layers.chain_ids([*diff_ids, known[digest]])[-1] if digest in known else None
                    sl = self.stage_layer(staging, f, expected_digest=digest,
                                           expected_diff_id=known.get(digest), chain_id=chain)
                diff_ids.append(sl.diff_id)
                staged_layers.append(sl)
            doc = json.loads(json.dumps(config))
            doc.setdefault("architecture", new_image_config(diff_ids=[])["architecture"])
            doc.setdefault("os", "linux")
            doc["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
            image = self.stage_image(staging, doc, staged_layers)
            image.tags = [tag] if tag else []
            (image_id,) = self.publish([image])
        return self.resolve(image_id)

    # ------------------------------------------------------------------------------------ archives

    def load(self, archive: Path | str) -> list[ImageInfo]:
        """Load a docker-archive or oci-archive (plain or compressed), as ``docker load``."""
        return [info for info, _ in self.load_detailed(archive)]

    def load_detailed(self, archive: Path | str) -> list[tuple[ImageInfo, list[str]]]:
        """Like ``load``, with the tags each image got from the archive (what ``docker load`` reports)."""
        from runtime.images.archive import load_archive

        loaded = load_archive(self, Path(archive))
        data = self._read_metadata()
        return [(self._info(data, image_id), tags) for image_id, tags in loaded]

    def save(self, refs: Sequence[str], archive: Path | str, fmt: Literal["docker", "oci"] = "docker") -> None:
        """Write images to a docker-archive (``docker save``) or an oci-archive."""
        from runtime.images.archive import save_archive

        save_archive(self, list(refs), Path(archive), fmt)

    # ------------------------------------------------------------------------------------ tags, removal

    def tag(self, ref: str, new: str) -> None:
        target = reference.parse(new)
        if target.digest:
            raise reference.InvalidSpec(f"cannot tag with a digest reference: {new}",
                                        hint="give NAME[:TAG] as the new reference")
        with self._locked():
            data = self._read_metadata()
            image_id = self._resolve_id(data, ref)
            data["tags"][str(target)] = image_id
            self._write_metadata(data)

    def remove(self, ref: str, force: bool = False, in_use: InUse | None = None) -> list[str]:
        """``docker rmi``: untag a tag of an image that keeps other tags, else delete the image.

        An image ``in_use`` (by a container) is not deleted: without ``force`` that is a Conflict; with
        ``force`` its tags are removed and it stays, dangling, until its containers are gone.
        """
        in_use = in_use or _never_in_use
        with self._locked():
            data = self._read_metadata()
            image_id = self._resolve_id(data, ref)
            tags = sorted(t for t, i in data["tags"].items() if i == image_id)
            named_tag = self._tag_named(ref, data, image_id)
            out: list[str] = []
            if named_tag is not None and len(tags) > 1:
                del data["tags"][named_tag]
                self._write_metadata(data)
                return [f"Untagged: {reference.familiar(named_tag)}"]
            if named_tag is None and len(tags) > 1 and not force:
                raise Conflict(f"unable to delete {image_id[7:19]} (must be forced): the image is referenced "
                               f"in multiple repositories ({', '.join(reference.familiar(t) for t in tags)})",
                               hint="remove its tags one by one, or use --force")
            if in_use(image_id):
                if not force:
                    raise Conflict(f"unable to remove image {reference.familiar(tags[0]) if tags else image_id[7:19]}"
                                   f" ({image_id[7:19]}): it is being used by a container",
                                   hint="remove the container first, or use --force to untag it")
                for tag in tags:
                    del data["tags"][tag]
                    out.append(f"Untagged: {reference.familiar(tag)}")
                self._write_metadata(data)
                return out
            for tag in tags:
                del data["tags"][tag]
                out.append(f"Untagged: {reference.familiar(tag)}")
            garbage = _Garbage()
            out.extend(self._delete_image(data, image_id, garbage)[0])
            self._write_metadata(data)  # first: a crash after this leaks files, never breaks an image
            aside = garbage.collect(self)
        _remove_trees(aside)  # the slow part, outside the lock
        return out

    @staticmethod
    def _tag_named(ref: str, data: dict[str, Any], image_id: str) -> str | None:
        """The tag ``ref`` spells, if it names the image by tag (not by id or digest)."""
        with contextlib.suppress(reference.InvalidSpec):
            parsed = reference.parse(ref)
            if parsed.digest is None and data["tags"].get(str(parsed)) == image_id:
                return str(parsed)
        return None

    def prune(self, all: bool = False, in_use: InUse | None = None) -> PruneReport:
        """Remove dangling images (no tag); with ``all``, every image no container uses."""
        in_use = in_use or _never_in_use
        lines: list[str] = []
        reclaimed = 0
        garbage = _Garbage()
        with self._locked():
            data = self._read_metadata()
            for image_id in list(data["images"]):
                tags = sorted(t for t, i in data["tags"].items() if i == image_id)
                if (tags and not all) or in_use(image_id):
                    continue
                for tag in tags:
                    del data["tags"][tag]
                    lines.append(f"Untagged: {reference.familiar(tag)}")
                deleted, freed = self._delete_image(data, image_id, garbage)
                lines.extend(deleted)
                reclaimed += freed
            self._write_metadata(data)
            aside = garbage.collect(self)
        _remove_trees(aside)
        return PruneReport(lines, reclaimed)

    def _delete_image(self, data: dict[str, Any], image_id: str, garbage: _Garbage) -> tuple[list[str], int]:
        """Drop an image record; note in ``garbage`` the blobs and layer dirs no remaining image needs.

        Lock held. Nothing is deleted here: the caller writes the metadata first, then collects the garbage.
        """
        record = data["images"].pop(image_id)
        lines = [f"Deleted: {image_id}"]
        freed = 0
        keep_blobs: set[str] = set()
        keep_chains: set[str] = set()
        for other_id, other in data["images"].items():
            blobs, chains = self._references(other_id, other)
            keep_blobs |= blobs
            keep_chains |= chains
        blobs, chains = self._references(image_id, record)
        for chain_id in chains - keep_chains:
            layer_dir = self.layers_dir / hex_of(chain_id)
            meta = self._layer_meta(chain_id)
            if os.path.lexists(layer_dir):
                freed += int(meta.get("size", 0)) if meta else 0
                garbage.layer_dirs.append(layer_dir)
                lines.append(f"Deleted: {chain_id}")
        for digest in blobs - keep_blobs:
            data["diff_ids"].pop(digest, None)
            garbage.blobs.append(digest)
        return lines, freed

    def _references(self, image_id: str, record: dict[str, Any]) -> tuple[set[str], set[str]]:
        """Blob digests and chain ids an image needs; tolerant of missing or corrupt blobs."""
        blobs = {image_id, record["manifest"]}
        chains: set[str] = set()
        with contextlib.suppress(ImageError, json.JSONDecodeError, OSError):
            manifest = json.loads(self.blobs.read_bytes(record["manifest"], verify=False))
            blobs |= {d["digest"] for d in manifest.get("layers") or []}
        with contextlib.suppress(ImageError, json.JSONDecodeError, OSError):
            config = json.loads(self.blobs.read_bytes(image_id, verify=False))
            chains = set(layers.chain_ids((config.get("rootfs") or {}).get("diff_ids") or []))
        return blobs, chains

    # Last in the class: a method named ``list`` would shadow the builtin in the annotations below it.
    def list(self) -> list[ImageInfo]:
        """Every image, newest first."""
        data = self._read_metadata()
        infos = [self._info(data, image_id) for image_id in data["images"]]
        return sorted(infos, key=lambda i: i.created, reverse=True)


# ------------------------------------------------------------------------------------------- helpers


def _now() -> str:
    from runtime.images.config import now_rfc3339

    return now_rfc3339()


def _check_config(config_bytes: bytes, staged_layers: Sequence[StagedLayer]) -> None:
    """An image config must be a JSON object whose diff ids are exactly the staged layers' (in order)."""
    try:
        config = json.loads(config_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImageError(f"the image config is not valid JSON ({exc})",
                         hint="the archive or download is damaged; the store was not changed") from None
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list):
        raise ImageError("the image config has no rootfs.diff_ids list",
                         hint="the archive or download is damaged or not an image; the store was not changed")
    if diff_ids != [sl.diff_id for sl in staged_layers]:
        raise ImageError(f"the image config lists {len(diff_ids)} layer diff ids that do not match the "
                         f"{len(staged_layers)} layers", hint="the archive or download is damaged; the store "
                         "was not changed")


def _atomic_write(path: Path, data: bytes) -> None:
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass
class _Garbage:
    """What a removal frees, deleted only once the metadata no longer mentions it."""

    blobs: list[str] = field(default_factory=list)
    layer_dirs: list[Path] = field(default_factory=list)

    def collect(self, store: ImageStore) -> list[Path]:
        """Under the lock: unlink the blobs, move the layer dirs aside; returns what to rmtree afterwards."""
        for digest in self.blobs:
            store.blobs.remove(digest)
        aside = []
        trash = store.dir / "tmp"
        trash.mkdir(parents=True, exist_ok=True)
        for layer_dir in self.layer_dirs:
            with contextlib.suppress(FileNotFoundError):
                (store.short_links_dir / layer_dir.name[:SHORT_LINK_LEN]).unlink()
            if layer_dir.is_symlink():
                layer_dir.unlink()  # a layer shared by link (test caches): only the link is ours
                continue
            target = trash / f"trash-{os.getpid()}-{random_hex()}"
            try:
                os.rename(layer_dir, target)
            except FileNotFoundError:
                continue
            aside.append(target)
        return aside


def _remove_trees(paths: Iterable[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _remove_tree(path: Path, trash_dir: Path | None) -> None:
    """Remove a directory; first renamed aside so no half-removed tree stays visible under its name."""
    if path.is_symlink():
        path.unlink()  # a layer shared by link (test caches): only the link is ours to remove
        return
    if trash_dir is not None:
        trash_dir.mkdir(parents=True, exist_ok=True)
        aside = trash_dir / f"trash-{os.getpid()}-{random_hex()}"
        try:
            os.rename(path, aside)
            path = aside
        except OSError:
            pass
    shutil.rmtree(path, ignore_errors=True)
