"""ImageStore on a temp directory: import, resolve, tag/rm/prune semantics, archives, builder hooks."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest
import zstandard

from runtime.errors import Conflict, ImageError, InvalidSpec, NotFound
from runtime.images import layers
from runtime.images.store import ImageStore
from tests.support.tarbuild import Entry, docker_archive, make_tar, sha256

ROOTFS = make_tar([Entry("bin", "dir", mode=0o755), Entry("bin/sh", data=b"#!fake", mode=0o755),
                   Entry("etc/os-release", data=b"ID=test\n")])


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "root")


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_import_tarball_with_changes(store: ImageStore, tmp_path: Path) -> None:
    info = store.import_tarball(write(tmp_path, "r.tar", ROOTFS), "me/app:1",
                                ['CMD ["sh"]', "ENV A=1", "WORKDIR /srv", "USER 1000", "EXPOSE 8080",
                                 "LABEL k=v", "VOLUME /data", "STOPSIGNAL SIGQUIT", "ENTRYPOINT []"])
    assert info.tags == ["docker.io/me/app:1"]
    assert info.layers == [sha256(ROOTFS)]  # uncompressed blob: digest == diff id
    assert info.id.startswith("sha256:") and info.architecture and info.os == "linux"
    cfg = info.config
    assert (cfg.cmd, cfg.env, cfg.working_dir, cfg.user) == (["sh"], ["A=1"], "/srv", "1000")
    assert (cfg.exposed_ports, cfg.labels, cfg.volumes, cfg.stop_signal) == (["8080/tcp"], {"k": "v"}, ["/data"],
                                                                              "SIGQUIT")
    assert info.size == len(b"#!fake") + len(b"ID=test\n")
    (layer_dir,) = store.rootfs_layers(info.id)
    assert (layer_dir / "bin/sh").read_bytes() == b"#!fake"
    assert layer_dir.parent.name == layers.chain_ids(info.layers)[0][7:]


@pytest.mark.parametrize("compress", [gzip.compress, zstandard.ZstdCompressor().compress])
def test_import_compressed_tarball(store: ImageStore, tmp_path: Path, compress: object) -> None:
    info = store.import_tarball(write(tmp_path, "r.tgz", compress(ROOTFS)), "x")  # type: ignore[operator]
    assert info.layers == [sha256(ROOTFS)]


def test_import_directory_and_same_layer_shared(store: ImageStore, tmp_path: Path) -> None:
    src = tmp_path / "rootfs"
    (src / "etc").mkdir(parents=True)
    (src / "etc/hostname").write_text("h\n")
    a = store.import_directory(src, "a", message="first")
    b = store.import_directory(src, "b", ["ENV X=1"])
    assert a.id != b.id and a.layers == b.layers
    assert store.rootfs_layers(a.id) == store.rootfs_layers(b.id)  # unpacked once, shared
    assert store.rootfs_layers("a")[0].joinpath("etc/hostname").read_text() == "h\n"


def test_resolve_forms(store: ImageStore, tmp_path: Path) -> None:
    info = store.import_tarball(write(tmp_path, "r.tar", ROOTFS), "busybox")
    hex_id = info.id[7:]
    for ref in ("busybox", "busybox:latest", "docker.io/library/busybox:latest", info.id, hex_id, hex_id[:12],
                "sha256:" + hex_id[:5]):
        assert store.resolve(ref).id == info.id, ref
    record = store.record(info.id)
    assert store.resolve(f"busybox@{record['manifest']}").id == info.id
    with pytest.raises(NotFound) as err:
        store.resolve("busybox:other")
    assert "busybox:other" in str(err.value) and err.value.hint
    with pytest.raises(NotFound):
        store.resolve("feedbeef")
    with pytest.raises(InvalidSpec):
        store.resolve("Bad_Name!")
    assert store.exists("busybox") and not store.exists("nothing")


def test_tag_rm_untag_then_delete(store: ImageStore, tmp_path: Path) -> None:
    info = store.import_tarball(write(tmp_path, "r.tar", ROOTFS), "a:1")
    store.tag("a:1", "b")
    assert store.resolve("b").tags == ["docker.io/library/a:1", "docker.io/library/b:latest"]
    with pytest.raises(InvalidSpec):
        store.tag("a:1", f"c@{info.id}")
    # By id with two tags: docker refuses without force.
    with pytest.raises(Conflict, match="multiple repositories"):
        store.remove(info.id)
    assert store.remove("a:1") == ["Untagged: a:1"]
    blobs_before = sorted(p.name for p in store.blobs.dir.iterdir())
    lines = store.remove("b")
    assert lines[:2] == ["Untagged: b:latest", f"Deleted: {info.id}"]
    assert list(store.blobs.dir.iterdir()) == [] and blobs_before
    assert not any(store.layers_dir.iterdir())
    assert store.list() == []


def test_rm_in_use(store: ImageStore, tmp_path: Path) -> None:
    info = store.import_tarball(write(tmp_path, "r.tar", ROOTFS), "a")
    with pytest.raises(Conflict, match="used by a container"):
        store.remove("a", in_use=lambda i: i == info.id)
    # -f on an image in use: untagged, kept (dangling) until its container goes, as docker does.
    assert store.remove("a", force=True, in_use=lambda i: True) == ["Untagged: a:latest"]
    kept = store.resolve(info.id)
    assert kept.tags == [] and store.rootfs_layers(info.id)[0].is_dir()


def test_rm_shared_layer_kept(store: ImageStore, tmp_path: Path) -> None:
    tar = write(tmp_path, "r.tar", ROOTFS)
    store.import_tarball(tar, "a")
    b = store.import_tarball(tar, "b", ["ENV B=1"])
    store.remove("a")
    assert store.rootfs_layers("b")[0].joinpath("bin/sh").is_file()
    assert store.blobs.exists(b.layers[0])


def test_prune(store: ImageStore, tmp_path: Path) -> None:
    tar = write(tmp_path, "r.tar", ROOTFS)
    dangling = store.import_tarball(tar, None, ["ENV D=1"])
    used = store.import_tarball(tar, "used", ["ENV U=1"])
    tagged = store.import_tarball(tar, "tagged", ["ENV T=1"])
    report = store.prune()
    assert report.deleted == [f"Deleted: {dangling.id}"]
    assert {i.id for i in store.list()} == {used.id, tagged.id}
    report = store.prune(all=True, in_use=lambda i: i == used.id)
    assert "Untagged: tagged:latest" in report.deleted and f"Deleted: {tagged.id}" in report.deleted
    assert report.space_reclaimed == 0  # the layer is shared with "used", so it stays
    assert [i.id for i in store.list()] == [used.id]
    report = store.prune(all=True)
    assert report.space_reclaimed == len(b"#!fake") + len(b"ID=test\n")  # the last user of the layer went
    assert store.list() == [] and not any(store.layers_dir.iterdir())


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_load_round_trip(store: ImageStore, tmp_path: Path, fmt: str) -> None:
    two = store.import_tarball(write(tmp_path, "r.tar", ROOTFS), "a:1", ["CMD [\"x\"]"])
    store.tag("a:1", "a:2")
    other = store.import_tarball(write(tmp_path, "s.tar", make_tar([Entry("s", data=b"s")])), "s")
    archive = tmp_path / f"out-{fmt}.tar"
    store.save(["a:1", "a:2", "s"], archive, fmt)  # type: ignore[arg-type]
    fresh = ImageStore(tmp_path / "fresh")
    loaded = fresh.load(archive)
    assert {i.id: i.tags for i in loaded} == {
        two.id: ["docker.io/library/a:1", "docker.io/library/a:2"], other.id: ["docker.io/library/s:latest"]}
    assert fresh.resolve("a:1").config.cmd == ["x"]
    assert fresh.rootfs_layers("a:2")[0].joinpath("etc/os-release").read_bytes() == b"ID=test\n"
    names = tarfile.open(archive).getnames()
    if fmt == "docker":
        assert {"manifest.json", "repositories"} <= set(names)
        repositories = json.loads(tarfile.open(archive).extractfile("repositories").read())  # type: ignore[union-attr]
        assert set(repositories) == {"a", "s"} and set(repositories["a"]) == {"1", "2"}
    else:
        assert {"oci-layout", "index.json"} <= set(names)
        assert fresh.record(two.id)["manifest"] == store.record(two.id)["manifest"]  # manifest kept verbatim


def test_save_by_id_is_untagged(store: ImageStore, tmp_path: Path) -> None:
    info = store.import_tarball(write(tmp_path, "r.tar", ROOTFS), "a")
    archive = tmp_path / "by-id.tar"
    store.save([info.id[7:19]], archive)
    (loaded,) = ImageStore(tmp_path / "fresh").load(archive)
    assert loaded.id == info.id and loaded.tags == []


def test_load_docker_archive_gzip_layers_and_compressed_archive(store: ImageStore, tmp_path: Path) -> None:
    l1 = make_tar([Entry("a", data=b"1"), Entry("d/x", data=b"x")])
    l2 = make_tar([Entry("b", data=b"2")])
    data, image_id = docker_archive([l1, l2], ["multi:layer"], gzip_layers=True)
    (info,) = store.load(write(tmp_path, "a.tar.gz", gzip.compress(data)))
    assert info.id == image_id and info.layers == [sha256(l1), sha256(l2)]
    lowest, top = store.rootfs_layers(info.id)
    assert (lowest / "a").read_bytes() == b"1" and (top / "b").read_bytes() == b"2"
    manifest = store.manifest_json(info.id)
    assert [d["mediaType"] for d in manifest["layers"]] == ["application/vnd.oci.image.layer.v1.tar+gzip"] * 2
    # docker-archive save writes uncompressed layers whose digests are the diff ids
    out = tmp_path / "again.tar"
    store.save(["multi:layer"], out)
    (again,) = ImageStore(tmp_path / "fresh").load(out)
    assert again.id == image_id


def test_load_refuses_non_archive(store: ImageStore, tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="neither manifest.json"):
        store.load(write(tmp_path, "x.tar", make_tar([Entry("hello", data=b"x")])))
    with pytest.raises(ImageError, match="not a readable tar"):
        store.load(write(tmp_path, "y.tar", b"not a tar at all" * 100))
    with pytest.raises(ImageError):
        store.load(tmp_path / "missing.tar")


def test_builder_hooks(store: ImageStore, tmp_path: Path) -> None:
    digest = store.put_blob(b"hello")
    assert digest == sha256(b"hello") and store.blobs.read_bytes(digest) == b"hello"
    assert store.put_blob(io.BytesIO(b"stream"), expected=sha256(b"stream")) == sha256(b"stream")
    with pytest.raises(ImageError, match="corrupt"):
        store.put_blob(b"tampered", expected=sha256(b"original"))
    base = tmp_path / "base"
    (base / "etc").mkdir(parents=True)
    (base / "etc/a").write_text("a")
    diff1, blob1 = store.commit_layer(base, overlay_whiteouts=False)
    gz = write(tmp_path, "l2.tgz", gzip.compress(make_tar([Entry("etc/b", data=b"b")])))
    diff2, blob2 = store.commit_layer(gz)
    assert diff1 == blob1 and diff2 != blob2  # the gzip blob keeps its compression
    info = store.write_image({"config": {"Cmd": ["run"]}, "history": [{"created_by": "a"}, {"created_by": "b"}]},
                             [blob1, blob2], "built:1")
    assert info.layers == [diff1, diff2] and info.config.cmd == ["run"]
    low, top = store.rootfs_layers("built:1")
    assert (low / "etc/a").read_text() == "a" and (top / "etc/b").read_bytes() == b"b"
    with pytest.raises(ImageError):
        store.write_image({}, ["sha256:" + "0" * 64])


def test_rootfs_layers_repairs_missing_dir(store: ImageStore, tmp_path: Path) -> None:
    import shutil

    info = store.import_tarball(write(tmp_path, "r.tar", ROOTFS), "a")
    (layer_dir,) = store.rootfs_layers(info.id)
    shutil.rmtree(layer_dir.parent)
    assert store.rootfs_layers(info.id) == [layer_dir]
    assert (layer_dir / "bin/sh").is_file()


def test_oci_layout_index_is_kept(store: ImageStore, tmp_path: Path) -> None:
    info = store.import_tarball(write(tmp_path, "r.tar", ROOTFS), "a")
    store.import_tarball(write(tmp_path, "r.tar", ROOTFS), None, ["ENV X=1"])
    index = json.loads((store.dir / "index.json").read_text())
    refs = [m.get("annotations", {}).get("org.opencontainers.image.ref.name") for m in index["manifests"]]
    assert sorted(refs, key=str) == sorted(["docker.io/library/a:latest", None], key=str)
    assert (store.dir / "oci-layout").is_file()
    assert store.record(info.id)["manifest"] in {m["digest"] for m in index["manifests"]}


def _blob_entries(*docs: bytes) -> list[Entry]:
    return [Entry(f"blobs/sha256/{sha256(d)[7:]}", data=d) for d in docs]


def test_load_docker25_style_archive(store: ImageStore, tmp_path: Path) -> None:
    """docker save since v25: an OCI layout plus manifest.json whose paths are blobs/sha256/<hex>."""
    layer = make_tar([Entry("etc/v25", data=b"yes")])
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": sha256(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": sha256(layer), "size": len(layer)}]}).encode()
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                "digest": sha256(manifest), "size": len(manifest),
                                                "annotations": {"io.containerd.image.name": "docker.io/x/y:25",
                                                                "org.opencontainers.image.ref.name": "25"}}]}
    docker_manifest = [{"Config": f"blobs/sha256/{sha256(config)[7:]}", "RepoTags": ["x/y:25"],
                        "Layers": [f"blobs/sha256/{sha256(layer)[7:]}"]}]
    archive = make_tar([Entry("oci-layout", data=b'{"imageLayoutVersion":"1.0.0"}'),
                        Entry("index.json", data=json.dumps(index).encode()),
                        Entry("manifest.json", data=json.dumps(docker_manifest).encode()),
                        *_blob_entries(layer, config, manifest)])
    (info,) = store.load(write(tmp_path, "d25.tar", archive))
    assert info.id == sha256(config) and info.tags == ["docker.io/x/y:25"]
    assert (store.rootfs_layers(info.id)[0] / "etc/v25").read_bytes() == b"yes"


def test_load_legacy_archive_with_symlinked_layer(store: ImageStore, tmp_path: Path) -> None:
    """Old docker save writes a repeated layer once and symlinks the other layer.tar to it."""
    layer = make_tar([Entry("same", data=b"s")])
    data, image_id = docker_archive([layer], ["legacy:1"])
    src = tarfile.open(fileobj=io.BytesIO(data))
    entries = [Entry(m.name, data=src.extractfile(m).read()) for m in src.getmembers()  # type: ignore[union-attr]
               if m.isreg() and m.name != "manifest.json"]
    manifest = json.loads(src.extractfile("manifest.json").read())  # type: ignore[union-attr]
    entries.append(Entry("dup/layer.tar", "symlink", link=f"../{manifest[0]['Layers'][0]}"))
    config = json.loads(next(e.data for e in entries if e.name.endswith(".json")))
    config["rootfs"]["diff_ids"] *= 2
    config_bytes = json.dumps(config).encode()
    entries = [e for e in entries if not e.name.endswith(".json")] + [
        Entry(f"{sha256(config_bytes)[7:]}.json", data=config_bytes)]
    manifest[0].update(Config=f"{sha256(config_bytes)[7:]}.json", Layers=[manifest[0]["Layers"][0], "dup/layer.tar"])
    entries.append(Entry("manifest.json", data=json.dumps(manifest).encode()))
    (info,) = store.load(write(tmp_path, "legacy.tar", make_tar(entries)))
    assert info.id == sha256(config_bytes) and image_id != info.id
    assert len(store.rootfs_layers(info.id)) == 2


def test_load_oci_multi_platform_index_picks_host(store: ImageStore, tmp_path: Path) -> None:
    from runtime.images.config import host_architecture

    blobs: list[bytes] = []
    platform_manifests = []
    for arch in ("s390x", host_architecture()):
        layer = make_tar([Entry("arch", data=arch.encode())])
        config = json.dumps({"architecture": arch, "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]}}).encode()
        manifest = json.dumps({"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                                              "digest": sha256(config), "size": len(config)},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                           "digest": sha256(layer), "size": len(layer)}]}).encode()
        blobs += [layer, config, manifest]
        platform_manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                   "digest": sha256(manifest), "size": len(manifest),
                                   "platform": {"os": "linux", "architecture": arch}})
    nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                         "manifests": platform_manifests}).encode()
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                                "digest": sha256(nested), "size": len(nested),
                                                "annotations": {"org.opencontainers.image.ref.name": "multi:1"}}]}
    archive = make_tar([Entry("oci-layout", data=b"{}"), Entry("index.json", data=json.dumps(index).encode()),
                        *_blob_entries(*blobs, nested)])
    (info,) = store.load(write(tmp_path, "multi.tar", archive))
    assert info.architecture == host_architecture() and info.tags == ["docker.io/library/multi:1"]
    assert (store.rootfs_layers(info.id)[0] / "arch").read_text() == host_architecture()


@pytest.mark.parametrize("mutate", [
    lambda m, c, i: (m, b"[1, 2]", i),  # config not an object
    lambda m, c, i: (m, b'{"rootfs": {"diff_ids": "nope"}}', i),
    lambda m, c, i: (b'{"config": 5}', c, i),  # manifest without a config descriptor
    lambda m, c, i: (b'{"config": {"digest": "md5:x"}, "layers": []}', c, i),
    lambda m, c, i: (json.dumps({**json.loads(m), "layers": [{"digest": 1}]}).encode(), c, i),
    lambda m, c, i: (m, c, b"[]"),  # index not an object
    lambda m, c, i: (m, c, b'{"manifests": [{"mediaType": "x", "digest": "sha256:zz"}]}'),
    lambda m, c, i: (m, c, b'{"manifests": ["str"]}'),
])
def test_malformed_oci_documents_are_image_errors(store: ImageStore, tmp_path: Path, mutate: object) -> None:
    layer = make_tar([Entry("f", data=b"f")])
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [sha256(layer)]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                                          "digest": sha256(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": sha256(layer), "size": len(layer)}]}).encode()
    manifest, config, index_override = mutate(manifest, config, None)  # type: ignore[operator]
    index = index_override or json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha256(manifest),
         "size": len(manifest)}]}).encode()
    archive = make_tar([Entry("oci-layout", data=b"{}"), Entry("index.json", data=index),
                        *_blob_entries(layer, config, manifest)])
    with pytest.raises(ImageError):
        store.load(write(tmp_path, "m.tar", archive))
    assert store.list() == []


@pytest.mark.parametrize("manifest", [b"{}", b'[{"Config": 1, "Layers": []}]', b'[{"Config": "c.json"}]',
                                      b'[{"Config": "missing.json", "Layers": []}]', b"not json",
                                      None])
def test_malformed_docker_manifests_are_image_errors(store: ImageStore, tmp_path: Path,
                                                     manifest: bytes | None) -> None:
    layer = make_tar([Entry("f", data=b"f")])
    data, _ = docker_archive([layer], ["UPPER:case"] if manifest is None else ["ok:1"])
    if manifest is not None:
        src = tarfile.open(fileobj=io.BytesIO(data))
        entries = [Entry(m.name, data=src.extractfile(m).read()) for m in src.getmembers()  # type: ignore[union-attr]
                   if m.isreg() and m.name != "manifest.json"]
        data = make_tar([*entries, Entry("manifest.json", data=manifest)])
    with pytest.raises(ImageError):
        store.load(write(tmp_path, "m.tar", data))
    assert store.list() == []


def test_overlay_lowerdir_short_links(store: ImageStore, tmp_path: Path) -> None:
    data, image_id = docker_archive([make_tar([Entry("a", data=b"1")]), make_tar([Entry("b", data=b"2")])], ["two"])
    store.load(write(tmp_path, "two.tar", data))
    lowerdir = store.overlay_lowerdir(image_id)
    top, low = lowerdir.split(":")
    assert Path(top).resolve() == store.rootfs_layers(image_id)[1].resolve()
    assert (Path(low) / "a").read_bytes() == b"1"
    assert store.overlay_lowerdir(image_id) == lowerdir  # idempotent
    store.remove("two")
    assert list(store.short_links_dir.iterdir()) == []
