"""``docker pull``: fetch an image from a registry into the local image store.

Everything is staged first: the manifest (the host platform's, when the tag names an index), the config and
every missing layer are downloaded into one staging directory of the store, each verified against its
digest while it streams, each layer unpacked there and its diff id checked. Only when all of it is complete
does the store publish the image (renames under its lock). A tampered blob, a dropped connection or a
Ctrl-C therefore leave the store exactly as it was.

Layers download concurrently (three at a time, as Docker does), and each is decompressed and unpacked
while it arrives, in one pass over its bytes (inflate, zstd, hashlib and file writes release the GIL, so
the threads overlap on several cores); a layer whose blob and unpacked chain the store already has is not
downloaded again. The modules unpacking needs are imported by a thread of their own while the config is
fetched.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.api import ImageInfo
from runtime.errors import ImageError, RegistryError, RuntimeErrorBase
from runtime.images import compression, layers, reference
from runtime.images.blobs import StagedBlob, hex_of
from runtime.images.platform import Platform, host_platform, parse_platform, select_manifest
from runtime.images.registry import (
    DOCKER_LAYER_FOREIGN,
    IMAGE_MANIFESTS,
    INDEXES,
    Manifest,
    RegistryClient,
    TransferInterrupted,
    client_for,
)
from runtime.images.store import ImageStore, StagedLayer
from runtime.images.streamed_layer import stage_streamed
from runtime.images.transfer import ProgressFn, emit, short_id

MAX_CONCURRENT_DOWNLOADS = 3  # Docker's default (--max-concurrent-downloads)
DOWNLOAD_ATTEMPTS = 3  # per layer, on network failures only
RETRY_PAUSE = 1.0  # seconds, times the attempt number
_SHA256 = re.compile(r"^sha256:[a-f0-9]{64}$")
SCHEMA1_TYPES = ("application/vnd.docker.distribution.manifest.v1+json",
                 "application/vnd.docker.distribution.manifest.v1+prettyjws")


@dataclass(frozen=True)
class _Layer:
    index: int
    digest: str
    size: int
    media_type: str
    diff_id: str
    chain_id: str


class _Cancelled(Exception):
    """Raised inside a download thread when another layer already failed."""


def pull_image(store: ImageStore | Path, ref: str, *, platform: str | Platform | None = None,
               progress: ProgressFn | None = None, ca_file: Path | None = None,
               client: RegistryClient | None = None) -> ImageInfo:
    """Pull ``ref`` (``busybox``, ``localhost:5000/app:1``, ``x@sha256:...``) and return the stored image.

    ``platform`` ("linux/arm64", a Platform) picks from an index; default: this host's platform.
    ``store`` may also be a state root directory (the compose side holds the engine's root).
    """
    if not isinstance(store, ImageStore):
        store = ImageStore(Path(store))
    parsed = reference.parse(ref)
    want = parse_platform(platform) if isinstance(platform, str) else platform
    client = client or client_for(store.root, parsed.domain, ca_file=ca_file)
    try:
        return _pull(store, client, parsed, want, progress)
    finally:
        client.close()


def _pull(store: ImageStore, client: RegistryClient, parsed: reference.Reference, want: Platform | None,
          progress: ProgressFn | None) -> ImageInfo:
    shown = parsed.familiar()
    emit(progress, parsed.tag or parsed.digest or "", f"Pulling from {parsed.familiar_name()}")
    top = client.get_manifest(parsed.path, parsed.digest or parsed.tag or reference.DEFAULT_TAG)
    manifest = top
    if top.media_type in INDEXES:
        entry = select_manifest(top.json().get("manifests") or [], want or host_platform())
        manifest = client.get_manifest(parsed.path, _digest_of(entry, shown))
    _check_media_type(manifest, shown)
    doc = manifest.json()
    config_desc = doc.get("config") or {}
    config_digest = _digest_of(config_desc, shown)
    descriptors = list(doc.get("layers") or [])
    # A digest pull is not tagged, even when a tag was written too (``name:tag@sha256:...``), as in Docker.
    tag = f"{parsed.repository}:{parsed.tag}" if parsed.tag and not parsed.digest else None
    repo_digest = f"{parsed.repository}@{top.digest}"

    if _up_to_date(store, tag, config_digest, manifest.digest):
        emit(progress, "", f"Digest: {top.digest}")
        emit(progress, "", f"Status: Image is up to date for {shown}")
        return store.resolve(config_digest)

    # The decompressors and the tar reader are imported while this thread waits for the registry.
    preload = threading.Thread(target=compression.import_layer_readers, name="hoist-pull-imports",
                               args=(_compressions(descriptors),))
    preload.start()
    with store.staging() as staging:
        config_bytes = _fetch_small_blob(client, parsed.path, config_digest, config_desc.get("size"))
        config = _parse_config(config_bytes, config_digest)
        if want is not None and top.media_type not in INDEXES:
            _check_platform(config, want, shown)
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        if len(diff_ids) != len(descriptors):
            raise ImageError(f"the image {shown} is inconsistent: its manifest lists {len(descriptors)} layers, "
                             f"its config {len(diff_ids)}", hint="the image in the registry is broken")
        plan = [_Layer(i, _digest_of(d, shown), int(d.get("size") or 0), str(d.get("mediaType", "")), diff_id,
                       chain) for i, (d, diff_id, chain) in
                enumerate(zip(descriptors, diff_ids, layers.chain_ids(diff_ids), strict=True))]
        for layer in plan:
            if layer.media_type == DOCKER_LAYER_FOREIGN:
                raise RegistryError(f"{shown} has a foreign (non-distributable) layer {layer.digest}",
                                    hint="foreign layers are Windows base layers; hoist runs Linux images")
        preload.join()  # done by now, in all likelihood; the download threads then find every module there
        staged = _download_layers(store, client, parsed.path, plan, staging, progress)
        image_id = store.publish_pulled(staging, config_bytes, staged, manifest=manifest.data, tag=tag,
                                        repo_digest=repo_digest)
    emit(progress, "", f"Digest: {top.digest}")
    emit(progress, "", f"Status: Downloaded newer image for {shown}")
    return store.resolve(image_id)


def _compressions(descriptors: list[Any]) -> set[compression.Compression]:
    """The compressions the layers' media types declare (gzip for one that declares none it knows:
    Docker's layers are gzip'd; the real compression is detected from the bytes in any case)."""
    kinds: set[compression.Compression] = set()
    for d in descriptors:
        media_type = str(d.get("mediaType", "")) if isinstance(d, dict) else ""
        kinds.add(compression.media_type_compression(media_type) or "gzip")
    return kinds


def _digest_of(descriptor: object, shown: str) -> str:
    """A descriptor's digest, refused unless it is a well-formed sha256 (it becomes a file name)."""
    digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise ImageError(f"the manifest of {shown} has a malformed descriptor digest {digest!r}",
                         hint="the image in the registry is broken; hoist stores sha256 content only")
    return digest


def _check_media_type(manifest: Manifest, shown: str) -> None:
    if manifest.media_type in IMAGE_MANIFESTS:
        return
    if manifest.media_type in SCHEMA1_TYPES:
        raise RegistryError(f"{shown} uses the Docker image manifest schema 1, which is no longer supported",
                            hint="push the image again with a current client (schema 2 or OCI)")
    if not manifest.media_type and manifest.json().get("config") and manifest.json().get("layers") is not None:
        return  # an OCI manifest may omit mediaType; its shape says what it is
    raise RegistryError(f"{shown}: unsupported manifest media type {manifest.media_type!r}",
                        hint="hoist pulls Docker v2 schema 2 and OCI images")


def _up_to_date(store: ImageStore, tag: str | None, config_digest: str, manifest_digest: str) -> bool:
    """The tag (or, for digest pulls, the image) is already here with exactly this manifest."""
    if not store.blobs.exists(config_digest):
        return False
    try:
        image = store.resolve(tag) if tag else store.resolve(config_digest)
        record = store.record(image.id)
    except RuntimeErrorBase:  # NotFound, a corrupt record: pull it again
        return False
    return image.id == config_digest and record.get("manifest") == manifest_digest


def _fetch_small_blob(client: RegistryClient, repository: str, digest: str, size: object) -> bytes:
    import io

    sink = io.BytesIO()
    client.fetch_blob(repository, digest, sink, size=int(size) if isinstance(size, int) else None)
    return sink.getvalue()


def _parse_config(data: bytes, digest: str) -> dict[str, Any]:
    try:
        config = json.loads(data)
    except ValueError as exc:
        raise ImageError(f"image config {digest} is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ImageError(f"image config {digest} is not a JSON object")
    return config


def _check_platform(config: dict[str, Any], want: Platform, shown: str) -> None:
    actual = Platform(str(config.get("os", "")), str(config.get("architecture", "")),
                      str(config.get("variant") or "")).normalized()
    want = want.normalized()
    if (actual.os, actual.architecture) != (want.os, want.architecture) or (
            want.variant and actual.variant and want.variant != actual.variant):
        raise RegistryError(f"image with reference {shown} was found but does not match the specified "
                            f"platform: wanted {want}, actual: {actual}",
                            hint="pull without --platform, or pick a platform the image is published for")


def _download_layers(store: ImageStore, client: RegistryClient, repository: str, plan: list[_Layer],
                     staging: Path, progress: ProgressFn | None) -> list[StagedLayer]:
    failed = threading.Event()
    results: dict[int, StagedLayer] = {}
    todo: list[_Layer] = []
    for layer in plan:
        if _have_layer(store, layer):
            emit(progress, short_id(layer.digest), "Already exists")
            results[layer.index] = StagedLayer(StagedBlob(layer.digest, layer.size, staging / "absent"),
                                               layer.diff_id, layer.media_type, None, 0)
        else:
            emit(progress, short_id(layer.digest), "Pulling fs layer", 0, layer.size)
            todo.append(layer)

    def one(layer: _Layer) -> StagedLayer:
        return _download_one(store, client, repository, layer, staging, progress, failed)

    outcomes = _run_concurrently(one, todo, failed)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    real = [e for e in errors if not isinstance(e, _Cancelled)]
    if errors:
        raise (real or errors)[0]
    for layer, outcome in zip(todo, outcomes, strict=True):
        results[layer.index] = outcome  # type: ignore[assignment]
    return [results[i] for i in range(len(plan))]


def _run_concurrently(one: Callable[[_Layer], StagedLayer], todo: list[_Layer],
                      failed: threading.Event) -> list[StagedLayer | BaseException]:
    """``one(layer)`` for every layer, MAX_CONCURRENT_DOWNLOADS at a time; each layer's result or error, in
    order. The first error sets ``failed``: running downloads stop at their next chunk, queued ones do not
    start (they count as cancelled). Ctrl-C does the same, waits for the threads, and propagates.

    Plain threads rather than concurrent.futures: that module imports logging, ~5 ms of every CLI pull.
    """
    outcomes: list[StagedLayer | BaseException] = [_Cancelled() for _ in todo]
    queue = list(enumerate(todo))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not queue or failed.is_set():
                    return
                position, layer = queue.pop(0)
            try:
                outcomes[position] = one(layer)
            except BaseException as exc:  # noqa: BLE001 -- handed to the caller, which raises it
                outcomes[position] = exc
                failed.set()

    threads = [threading.Thread(target=worker, name=f"hoist-pull_{n}")
               for n in range(min(MAX_CONCURRENT_DOWNLOADS, len(todo)))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:
        failed.set()  # Ctrl-C: the other downloads stop at their next chunk
        for thread in threads:
            thread.join()
        raise
    return outcomes


def _have_layer(store: ImageStore, layer: _Layer) -> bool:
    return store.blobs.exists(layer.digest) and \
        store.has_chain(layer.chain_id)


def _download_one(store: ImageStore, client: RegistryClient, repository: str, layer: _Layer, staging: Path,
                  progress: ProgressFn | None, failed: threading.Event) -> StagedLayer:
    lid = short_id(layer.digest)
    if store.blobs.exists(layer.digest):
        # The blob is here, only this chain's unpacked directory is missing: unpack from the local copy.
        emit(progress, lid, "Extracting", 0, layer.size)
        with store.blobs.open(layer.digest) as f:
            staged = store.stage_layer(staging, f, expected_digest=layer.digest, expected_diff_id=layer.diff_id,
                                       keep_blob=False, chain_id=layer.chain_id)
        staged.blob = StagedBlob(layer.digest, layer.size, staging / "absent")  # the stored blob stays put
    else:
        staged = _stream_with_retries(store, client, repository, layer, staging, progress, failed)
        emit(progress, lid, "Download complete", staged.blob.size, staged.blob.size)
    staged.media_type = layer.media_type or staged.media_type
    emit(progress, lid, "Pull complete", staged.blob.size, staged.blob.size)
    return staged


def _stream_with_retries(store: ImageStore, client: RegistryClient, repository: str, layer: _Layer,
                         staging: Path, progress: ProgressFn | None, failed: threading.Event) -> StagedLayer:
    """Download one layer and unpack it as it arrives; a network failure starts it again from scratch
    (as Docker does, with a growing pause), a digest mismatch or an HTTP error does not.

    Each attempt writes ``<prefix>.blob`` and ``<prefix>.layer/`` in ``staging`` (no directory of its own:
    creating and removing one per layer measurably cost on ext4), removed when the attempt fails.
    """
    lid = short_id(layer.digest)
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        done = 0

        def on_bytes(n: int) -> None:
            nonlocal done
            if failed.is_set():
                raise _Cancelled()
            done += n
            emit(progress, lid, "Downloading", done, layer.size)

        prefix = staging / f"pull-{hex_of(layer.digest)[:16]}-{attempt}"
        try:
            with client.open_blob(repository, layer.digest, size=layer.size or None, on_bytes=on_bytes) as blob:
                # A chain another image already unpacked needs its blob only (stage_layer decides alike).
                shared = store.has_chain(layer.chain_id)
                return stage_streamed(blob, prefix, diff_id=layer.diff_id, unpack=not shared)
        except TransferInterrupted:
            _discard_attempt(prefix)
            if attempt == DOWNLOAD_ATTEMPTS or failed.is_set():
                raise
            pause = RETRY_PAUSE * attempt
            emit(progress, lid, f"Retrying in {pause:g} seconds")
            if failed.wait(pause):  # another layer failed meanwhile: stop waiting
                raise _Cancelled() from None
        except BaseException:
            _discard_attempt(prefix)
            raise
    raise AssertionError("unreachable")


def _discard_attempt(prefix: Path) -> None:
    """Remove what a failed attempt staged (the staging directory itself goes at the end of the pull)."""
    prefix.with_suffix(".blob").unlink(missing_ok=True)
    shutil.rmtree(prefix.with_suffix(".layer"), ignore_errors=True)
