"""``docker push``: upload a local image's blobs and manifest to a registry.

For every blob (layers, then the config) the registry is asked first whether it has it (HEAD); if not, and
the image is known in another repository of the same registry, a cross-repository mount is tried, which
costs no upload; otherwise the blob is uploaded (one PUT for small blobs, PATCH chunks then PUT for large
ones). The manifest goes last, so the registry never holds a manifest whose blobs are missing. The pushed
manifest's digest is recorded as one of the image's repo digests, as Docker does.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import RegistryError
from runtime.images import reference
from runtime.images.registry import RegistryClient, TransferInterrupted, client_for
from runtime.images.store import ImageStore
from runtime.images.transfer import ProgressFn, emit, short_id

MAX_CONCURRENT_UPLOADS = 5  # Docker's default (--max-concurrent-uploads)
UPLOAD_ATTEMPTS = 3  # per blob, on network failures only
RETRY_PAUSE = 1.0  # seconds, times the attempt number
CHUNK_SIZE = 16 << 20


@dataclass(frozen=True)
class PushResult:
    reference: str  # the fully qualified reference pushed
    digest: str  # the manifest digest in the registry
    size: int  # manifest size, as in Docker's "latest: digest: sha256:... size: 527"


def push_image(store: ImageStore | Path, ref: str, *, progress: ProgressFn | None = None,
               ca_file: Path | None = None, chunk_size: int = CHUNK_SIZE,
               client: RegistryClient | None = None) -> PushResult:
    """Push the local image tagged ``ref`` to the registry its name points at.

    ``store`` may also be a state root directory (the compose side holds the engine's root).
    """
    if not isinstance(store, ImageStore):
        store = ImageStore(Path(store))
    parsed = reference.parse(ref)
    if parsed.digest:
        raise RegistryError(f"cannot push a digest reference: {ref}",
                            hint="tag the image (hoist image tag) and push the tag")
    image = store.resolve(str(parsed))
    record = store.record(image.id)
    manifest_bytes = store.blobs.read_bytes(record["manifest"])
    media_type = record.get("manifest_media_type") or ""
    manifest = store.manifest_json(image.id)
    blobs = [(str(d["digest"]), int(d.get("size") or 0)) for d in manifest.get("layers") or []]
    config = manifest.get("config") or {}
    blobs.append((str(config["digest"]), int(config.get("size") or 0)))
    sources = _mount_sources(parsed, image.tags + image.digests)
    client = client or client_for(store.root, parsed.domain, ca_file=ca_file)
    emit(progress, "", f"The push refers to repository [{parsed.familiar_name()}]")
    try:
        for digest, _ in blobs[:-1]:
            emit(progress, short_id(digest), "Preparing")
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_UPLOADS, thread_name_prefix="hoist-push") as pool:
            futures = [pool.submit(_push_blob, store, client, parsed.path, digest, size, sources, chunk_size,
                                   progress, digest != blobs[-1][0]) for digest, size in blobs]
            for future in futures:
                future.result()
        digest = client.put_manifest(parsed.path, parsed.tag or reference.DEFAULT_TAG, manifest_bytes,
                                     media_type)
    finally:
        client.close()
    _record_repo_digest(store, image.id, f"{parsed.repository}@{digest}")
    emit(progress, "", f"{parsed.tag}: digest: {digest} size: {len(manifest_bytes)}")
    return PushResult(str(parsed), digest, len(manifest_bytes))


def _mount_sources(target: reference.Reference, names: list[str]) -> list[str]:
    """Other repositories of the same registry that hold this image: candidates for a blob mount."""
    sources: list[str] = []
    for name in names:
        try:
            other = reference.parse(name.split("@", 1)[0]) if "@" in name else reference.parse(name)
        except Exception:  # noqa: BLE001 - a malformed recorded name is just not a candidate
            continue
        if other.domain == target.domain and other.path != target.path and other.path not in sources:
            sources.append(other.path)
    return sources


def _push_blob(store: ImageStore, client: RegistryClient, repository: str, digest: str, size: int,
               sources: list[str], chunk_size: int, progress: ProgressFn | None, is_layer: bool) -> None:
    lid = short_id(digest)
    say = (lambda status, cur=0, tot=0: emit(progress, lid, status, cur, tot)) if is_layer else \
        (lambda status, cur=0, tot=0: None)
    if client.blob_size(repository, digest) is not None:
        say("Layer already exists")
        return
    location: str | None = None
    for source in sources:
        mounted, location = client.mount_blob(repository, digest, source)
        if mounted:
            say(f"Mounted from {source}")
            return
        if location:
            break  # the registry opened an upload session instead: use it
    for attempt in range(1, UPLOAD_ATTEMPTS + 1):
        done = 0

        def on_bytes(n: int) -> None:
            nonlocal done
            done += n
            say("Pushing", done, size)

        try:
            with store.blobs.open(digest) as reader:
                client.upload_blob(repository, digest, size, reader, location=location, chunk_size=chunk_size,
                                   on_bytes=on_bytes)
            break
        except TransferInterrupted:
            if attempt == UPLOAD_ATTEMPTS:
                raise
            # A broken upload session cannot be trusted to resume: start a new one after a pause.
            location = None
            say(f"Retrying in {RETRY_PAUSE * attempt:g} seconds")
            time.sleep(RETRY_PAUSE * attempt)
    say("Pushed", size, size)


def _record_repo_digest(store: ImageStore, image_id: str, repo_digest: str) -> None:
    """Remember ``repo@digest`` on the image (``image inspect``'s RepoDigests, later mount sources)."""
    store.add_repo_digest(image_id, repo_digest)  # False if removed meanwhile: the push itself succeeded
