"""Push to and pull from a real registry (Debian's docker-registry) over plain HTTP on loopback."""

from __future__ import annotations

import gzip
import io
import json
import urllib.request
from pathlib import Path

import pytest

from runtime.errors import ImageError, NotFound, RegistryError
from runtime.images.platform import host_platform
from runtime.images.pull import pull_image
from runtime.images.push import push_image
from runtime.images.registry import OCI_INDEX
from runtime.images.store import ImageStore
from tests.support.registry_images import make_multilayer_image, store_snapshot
from tests.support.registry_server import RegistryServer


def _unpacked_file(store: ImageStore, image_id: str, name: str) -> bytes:
    for layer in reversed(store.rootfs_layers(image_id)):
        if (layer / name).exists():
            return (layer / name).read_bytes()
    raise AssertionError(f"{name} is in no layer")


def test_push_remove_pull_multilayer_gzip_zstd(hoist_root: Path, busybox_image: str, registry: RegistryServer,
                                               unique_id: str) -> None:
    store = ImageStore(hoist_root)
    ref = f"{registry.host}/t{unique_id}/app:1"
    image_id = make_multilayer_image(store, busybox_image, ref, marker=unique_id)
    before = store.resolve(ref)
    events = []
    pushed = push_image(store, ref, progress=events.append)
    assert [e.status for e in events if e.status in ("Pushed", "Layer already exists")].count("Pushed") >= 2
    assert f"{registry.host}/t{unique_id}/app@{pushed.digest}" in store.resolve(ref).digests

    store.remove(ref)
    with pytest.raises(NotFound):
        store.resolve(ref)
    events.clear()
    pulled = pull_image(store, ref, progress=events.append)
    assert pulled.id == image_id
    assert pulled.layers == before.layers and pulled.config == before.config
    assert pulled.tags == [ref]
    assert f"{registry.host}/t{unique_id}/app@{pushed.digest}" in pulled.digests
    assert _unpacked_file(store, image_id, "etc/zstd-layer") == f"zstd {unique_id}\n".encode()
    assert _unpacked_file(store, image_id, "etc/gzip-layer") == f"gzip {unique_id}\n".encode()
    assert (store.rootfs_layers(image_id)[0] / "bin" / "busybox").exists()
    statuses = [e.status for e in events]
    assert "Pull complete" in statuses and statuses[-1].startswith("Status: Downloaded newer image")
    # The stored manifest keeps each layer's compression as the registry served it.
    media = [d["mediaType"] for d in store.manifest_json(image_id)["layers"]]
    assert media[1].endswith("+gzip") and media[2].endswith("+zstd")

    events.clear()
    assert pull_image(store, ref, progress=events.append).id == image_id
    assert events[-1].status.startswith("Status: Image is up to date")


def test_existing_blobs_are_skipped_and_mounted_across_repositories(
        hoist_root: Path, busybox_image: str, registry: RegistryServer, unique_id: str) -> None:
    store = ImageStore(hoist_root)
    first = f"{registry.host}/a{unique_id}/app:1"
    make_multilayer_image(store, busybox_image, first)
    push_image(store, first, chunk_size=256 << 10)  # PATCH chunks for blobs over 256 KiB (busybox)
    events = []
    push_image(store, first, progress=events.append)
    layer_events = [e.status for e in events if e.id and e.status != "Preparing"]
    assert layer_events == ["Layer already exists"] * 3

    second = f"{registry.host}/b{unique_id}/app:2"
    store.tag(first, second)
    events.clear()
    push_image(store, second, progress=events.append)
    assert [e.status for e in events if e.status.startswith("Mounted")] == [f"Mounted from a{unique_id}/app"] * 3

    store.remove(first)
    store.remove(second)
    assert pull_image(store, second).tags == [second]


def test_tampered_blob_is_refused_and_store_unchanged(hoist_root: Path, busybox_image: str,
                                                      registry: RegistryServer, unique_id: str) -> None:
    store = ImageStore(hoist_root)
    ref = f"{registry.host}/t{unique_id}/tamper:1"
    image_id = make_multilayer_image(store, busybox_image, ref, marker=unique_id)
    push_image(store, ref)
    victim = store.manifest_json(image_id)["layers"][2]["digest"]  # the zstd layer, unique to this test
    store.remove(ref)
    data_file = registry.blob_data(victim)
    content = bytearray(data_file.read_bytes())
    content[len(content) // 2] ^= 0xFF  # same size, different bytes
    data_file.write_bytes(bytes(content))

    before = store_snapshot(hoist_root)
    with pytest.raises(RegistryError, match=f"blob {victim} .*failed digest verification"):
        pull_image(store, ref)
    assert store_snapshot(hoist_root) == before
    assert not any((hoist_root / "images" / "tmp").glob("stage-*"))
    with pytest.raises(NotFound):
        store.resolve(ref)


def test_multi_platform_index_picks_the_host_platform(hoist_root: Path, busybox_image: str,
                                                      registry: RegistryServer, unique_id: str) -> None:
    store = ImageStore(hoist_root)
    repo = f"{registry.host}/m{unique_id}/multi"
    here = host_platform()
    other_arch = "arm64" if here.architecture != "arm64" else "amd64"
    native_id = make_multilayer_image(store, busybox_image, f"{repo}:native")
    foreign_id = make_multilayer_image(store, busybox_image, f"{repo}:foreign", architecture=other_arch)
    entries = []
    for tag, arch in (("foreign", other_arch), ("native", here.architecture)):
        pushed = push_image(store, f"{repo}:{tag}")
        platform = {"os": "linux", "architecture": arch}
        if arch == here.architecture and here.variant:
            platform["variant"] = here.variant
        entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": pushed.digest,
                        "size": pushed.size, "platform": platform})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    request = urllib.request.Request(f"http://{registry.host}/v2/m{unique_id}/multi/manifests/all",
                                     data=index, method="PUT", headers={"Content-Type": OCI_INDEX})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        index_digest = response.headers["Docker-Content-Digest"]
    for tag in ("native", "foreign"):
        store.remove(f"{repo}:{tag}")

    pulled = pull_image(store, f"{repo}:all")
    assert pulled.id == native_id and pulled.architecture == here.architecture
    assert f"{repo}@{index_digest}" in pulled.digests  # Docker records the index digest
    other = pull_image(store, f"{repo}:all", platform=f"linux/{other_arch}")
    assert other.id == foreign_id and other.architecture == other_arch
    with pytest.raises(RegistryError, match="no matching manifest for linux/s390x"):
        pull_image(store, f"{repo}:all", platform="linux/s390x")


def test_missing_tag_and_unknown_repository(hoist_root: Path, registry: RegistryServer, unique_id: str) -> None:
    store = ImageStore(hoist_root)
    with pytest.raises(RegistryError, match="HTTP 404") as info:
        pull_image(store, f"{registry.host}/nothing{unique_id}/here:1")
    assert "check the image name" in str(info.value)
    with pytest.raises((NotFound, ImageError)):
        push_image(store, f"{registry.host}/nothing{unique_id}/here:1")


def test_pulled_image_runs(hoist_root: Path, busybox_image: str, registry: RegistryServer,
                           unique_id: str) -> None:
    """The issue's acceptance path: push, remove locally, pull back, run it."""
    from runtime.api import ContainerSpec
    from runtime.engine import open_engine

    store = ImageStore(hoist_root)
    ref = f"{registry.host}/r{unique_id}/app:1"
    make_multilayer_image(store, busybox_image, ref, marker=unique_id)
    push_image(store, ref)
    store.remove(ref)
    store.remove(busybox_image)  # nothing of the image is left locally but what the pull brings
    pull_image(store, ref)
    engine = open_engine(hoist_root)
    state = engine.container_create(ContainerSpec(name=f"r{unique_id}", image=ref, network_mode="none"))
    try:
        engine.container_start(state.id)
        assert engine.container_wait(state.id, timeout=60) == 0
        out = "".join(r.text for r in engine.container_logs(state.id) if r.stream == "stdout")
        assert out == f"gzip {unique_id}\nzstd {unique_id}\n"
    finally:
        engine.container_remove(state.id, force=True)


def test_pull_by_digest_is_not_tagged(hoist_root: Path, busybox_image: str, registry: RegistryServer,
                                      unique_id: str) -> None:
    store = ImageStore(hoist_root)
    ref = f"{registry.host}/d{unique_id}/app:1"
    image_id = make_multilayer_image(store, busybox_image, ref)
    pushed = push_image(store, ref)
    store.remove(ref)
    by_digest = f"{registry.host}/d{unique_id}/app@{pushed.digest}"
    pulled = pull_image(store, by_digest)
    assert pulled.id == image_id and pulled.tags == [] and pulled.digests == [by_digest]
    assert store.resolve(by_digest).id == image_id


def test_docker_v2_schema2_manifest(hoist_root: Path, busybox_image: str, registry: RegistryServer,
                                    unique_id: str) -> None:
    """An image whose manifest uses Docker's media types (what `docker push` writes) pulls like an OCI one."""
    from runtime.images.registry import DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST
    from tests.support.registry_images import layer_tar

    store = ImageStore(hoist_root)
    repo = f"{registry.host}/k{unique_id}/app"
    gz = gzip.compress(layer_tar({"etc/docker-layer": unique_id.encode()}))
    _, gz_digest = store.commit_layer(io.BytesIO(gz))
    image = store.write_image({"config": {"Cmd": ["true"]}}, [gz_digest], f"{repo}:oci")
    push_image(store, f"{repo}:oci")
    oci = store.manifest_json(image.id)
    docker = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
              "config": {**oci["config"], "mediaType": DOCKER_CONFIG},
              "layers": [{**d, "mediaType": DOCKER_LAYER_GZIP} for d in oci["layers"]]}
    body = json.dumps(docker).encode()
    request = urllib.request.Request(f"http://{registry.host}/v2/k{unique_id}/app/manifests/docker", data=body,
                                     method="PUT", headers={"Content-Type": DOCKER_MANIFEST})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    store.remove(f"{repo}:oci")

    pulled = pull_image(store, f"{repo}:docker")
    assert pulled.id == image.id
    assert store.record(pulled.id)["manifest_media_type"] == DOCKER_MANIFEST
    [layer_dir] = store.rootfs_layers(pulled.id)
    assert (layer_dir / "etc" / "docker-layer").read_text() == unique_id
