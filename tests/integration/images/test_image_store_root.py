"""The image store against the real kernel and real tools: overlay mounts, skopeo, concurrent processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.images.store import ImageStore
from tests.support.tarbuild import Entry, docker_archive, make_tar

PROJECT_DIR = Path(__file__).resolve().parents[3]


def test_fixture_images_are_linked_not_copied(hoist_root: Path, busybox_image: str, debian_image: str) -> None:
    from tests.support.image_store import cached_store

    store = ImageStore(hoist_root)
    assert {t for i in store.list() for t in i.tags} == {"docker.io/library/busybox:latest",
                                                         "docker.io/library/debian:bookworm-slim"}
    (bb,) = store.rootfs_layers(busybox_image)
    (deb,) = store.rootfs_layers(debian_image)
    assert (bb / "bin/busybox").is_file()
    assert (deb / "usr/bin/python3").exists()
    cached_deb = ImageStore(cached_store_root(cached_store, "debian")).rootfs_layers(debian_image)[0]
    assert os.stat(deb / "etc/os-release").st_ino == os.stat(cached_deb / "etc/os-release").st_ino
    # Removing an image from the test's store leaves the shared cache intact.
    cached = ImageStore(cached_store_root(cached_store, "busybox"))
    (cached_bb,) = cached.rootfs_layers(busybox_image)
    store.remove(busybox_image)
    assert not bb.exists() and (cached_bb / "bin/busybox").is_file()
    assert cached.blobs.verify(cached.resolve(busybox_image).layers[0])


def cached_store_root(cached_store: object, which: str) -> Path:
    from tests.support import images

    if which == "debian":
        return cached_store(images.ensure_debian_rootfs(), "debian:bookworm-slim")  # type: ignore[operator]
    return cached_store(images.ensure_busybox_rootfs(), "busybox:latest")  # type: ignore[operator]


def test_whiteouts_visible_through_overlay(hoist_root: Path, tmp_path: Path) -> None:
    low = make_tar([Entry("a/x", data=b"x"), Entry("a/y", data=b"y"), Entry("b/old", data=b"o"),
                    Entry("c/keep", data=b"k"), Entry("gone", data=b"g")])
    top = make_tar([Entry("a/.wh.x"), Entry("b/.wh..wh..opq"), Entry("b/new", data=b"n"), Entry(".wh.gone")])
    archive, image_id = docker_archive([low, top], ["layered:1"])
    (tmp_path / "a.tar").write_bytes(archive)
    store = ImageStore(hoist_root)
    store.load(tmp_path / "a.tar")
    lower_dirs = store.rootfs_layers(image_id)
    assert len(lower_dirs) == 2
    work = hoist_root / "ovl"
    for d in ("upper", "work", "merged"):
        (work / d).mkdir(parents=True)
    # A private mount namespace: the mount dies with the shell, whatever happens to the test.
    lowerdir = ":".join(str(p) for p in reversed(lower_dirs))  # overlay wants the top layer first
    script = (f"mount -t overlay overlay -o lowerdir={lowerdir},upperdir={work}/upper,workdir={work}/work "
              f"{work}/merged && cd {work}/merged && find . -mindepth 1 | sort")
    out = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["./a", "./a/y", "./b", "./b/new", "./c", "./c/keep"]


def _skopeo(*args: str) -> None:
    out = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"skopeo {' '.join(args)}: {out.stderr}"


# CI installs skopeo (scripts/setup.sh): there a missing skopeo fails these tests instead of skipping them.
needs_skopeo = pytest.mark.skipif(shutil.which("skopeo") is None and os.environ.get("CI", "").lower() not in (
    "1", "true", "yes"), reason="skopeo is not installed (scripts/setup.sh installs it)")


@needs_skopeo
def test_skopeo_reads_our_archives_and_we_load_its(hoist_root: Path, busybox_image: str, tmp_path: Path) -> None:
    store = ImageStore(hoist_root)
    original = store.resolve(busybox_image)
    store.save([busybox_image], tmp_path / "ours-docker.tar", "docker")
    store.save([busybox_image], tmp_path / "ours-oci.tar", "oci")
    # docker-archive -> oci layout -> docker-archive, and oci-archive -> dir -> oci-archive, all by skopeo.
    _skopeo("copy", "-q", f"docker-archive:{tmp_path}/ours-docker.tar:busybox:latest", f"oci:{tmp_path}/layout:bb")
    _skopeo("copy", "-q", f"oci:{tmp_path}/layout:bb", f"docker-archive:{tmp_path}/theirs-docker.tar:skopeo/bb:d")
    _skopeo("copy", "-q", f"oci-archive:{tmp_path}/ours-oci.tar", f"dir:{tmp_path}/dir")
    _skopeo("copy", "-q", f"dir:{tmp_path}/dir", f"oci-archive:{tmp_path}/theirs-oci.tar:skopeo/bb:o")
    fresh = ImageStore(tmp_path / "fresh")
    (from_docker,) = fresh.load(tmp_path / "theirs-docker.tar")
    (from_oci,) = fresh.load(tmp_path / "theirs-oci.tar")
    assert from_docker.tags == ["docker.io/skopeo/bb:d"]
    assert "docker.io/skopeo/bb:o" in from_oci.tags
    for info in (from_docker, from_oci):
        assert info.layers == original.layers  # same filesystem content, whatever skopeo did to the config
        (layer,) = fresh.rootfs_layers(info.id)
        assert (layer / "bin/busybox").is_file()


@needs_skopeo
def test_store_is_an_oci_layout_skopeo_can_read(hoist_root: Path, busybox_image: str, tmp_path: Path) -> None:
    store = ImageStore(hoist_root)
    ref = "docker.io/library/busybox:latest"
    raw = subprocess.run(["skopeo", "inspect", "--raw", f"oci:{store.dir}:{ref}"], capture_output=True, text=True,
                         timeout=60)
    assert raw.returncode == 0, raw.stderr
    assert json.loads(raw.stdout)["config"]["digest"] == store.resolve(busybox_image).id
    _skopeo("copy", "-q", f"oci:{store.dir}:{ref}", f"docker-archive:{tmp_path}/out.tar:copied:1")
    (loaded,) = ImageStore(tmp_path / "fresh").load(tmp_path / "out.tar")
    assert loaded.tags == ["docker.io/library/copied:1"]


def test_concurrent_imports_from_several_processes(hoist_root: Path, tmp_path: Path) -> None:
    shared = make_tar([Entry(f"d/f{i}", data=os.urandom(2000)) for i in range(200)])
    (tmp_path / "shared.tar").write_bytes(shared)
    for i in range(2):
        (tmp_path / f"own{i}.tar").write_bytes(make_tar([Entry(f"own{i}", data=os.urandom(5000))]))
    jobs = [("shared.tar", f"shared:{i}", f"ENV N={i}") for i in range(3)] + \
           [(f"own{i}.tar", f"own:{i}", "ENV X=1") for i in range(2)]
    code = ("import sys; from pathlib import Path; from runtime.images.store import ImageStore; "
            "ImageStore(Path(sys.argv[1])).import_tarball(sys.argv[2], sys.argv[3], [sys.argv[4]])")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(hoist_root), str(tmp_path / f), ref, change],
                              cwd=PROJECT_DIR, stderr=subprocess.PIPE, text=True) for f, ref, change in jobs]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    store = ImageStore(hoist_root)
    infos = store.list()
    assert sorted(t for i in infos for t in i.tags) == sorted(f"docker.io/library/{ref}" for _, ref, _ in jobs)
    shared_layers = {tuple(store.rootfs_layers(f"shared:{i}")) for i in range(3)}
    assert len(shared_layers) == 1  # one unpacked copy of the shared layer
    assert sorted(p.name for p in store.layers_dir.iterdir()) == sorted(
        {store.rootfs_layers(i.id)[0].parent.name for i in infos})
    for blob in store.blobs.dir.iterdir():
        assert store.blobs.verify("sha256:" + blob.name)
    assert not any((store.dir / "tmp").iterdir())  # no staging left behind


def test_layer_unpack_keeps_setuid_and_capabilities(hoist_root: Path, tmp_path: Path) -> None:
    cap = bytes.fromhex("0100000200200000000000000000000000000000")  # cap_net_raw+ep, VFS v2
    layer = make_tar([Entry("bin/ping", data=b"\x7fELF", mode=0o4755, uid=0, gid=0,
                            xattrs={"security.capability": cap}),
                      Entry("home/u", "dir", uid=1000, gid=1000, mode=0o700)])
    archive, image_id = docker_archive([layer], ["caps:1"])
    (tmp_path / "c.tar").write_bytes(archive)
    store = ImageStore(hoist_root)
    store.load(tmp_path / "c.tar")
    (diff,) = store.rootfs_layers(image_id)
    assert os.getxattr(diff / "bin/ping", "security.capability") == cap
    assert os.stat(diff / "bin/ping").st_mode & 0o7777 == 0o4755
    st = os.stat(diff / "home/u")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1000, 1000, 0o700)


@needs_skopeo
@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_we_load_skopeo_compressed_layers(hoist_root: Path, busybox_image: str, tmp_path: Path,
                                          compression: str) -> None:
    store = ImageStore(hoist_root)
    original = store.resolve(busybox_image)
    store.save([busybox_image], tmp_path / "ours.tar", "docker")
    _skopeo("copy", "-q", "--dest-compress", "--dest-compress-format", compression,
            f"docker-archive:{tmp_path}/ours.tar:busybox:latest", f"oci:{tmp_path}/layout:bb")
    _skopeo("copy", "-q", f"oci:{tmp_path}/layout:bb", f"oci-archive:{tmp_path}/theirs.tar:zz/bb:{compression}")
    fresh = ImageStore(tmp_path / "fresh")
    (loaded,) = fresh.load(tmp_path / "theirs.tar")
    assert loaded.tags == [f"docker.io/zz/bb:{compression}"] and loaded.layers == original.layers
    (layer_desc,) = fresh.manifest_json(loaded.id)["layers"]
    assert layer_desc["mediaType"].endswith(f"+{compression}")
    assert (fresh.rootfs_layers(loaded.id)[0] / "bin/busybox").is_file()
    # Saved again as a docker-archive, the compressed layer is written uncompressed (docker save's form).
    fresh.save([loaded.id], tmp_path / "again.tar", "docker")
    (again,) = ImageStore(tmp_path / "again").load(tmp_path / "again.tar")
    assert again.id == loaded.id


def test_imports_racing_prunes_stay_consistent(hoist_root: Path, tmp_path: Path) -> None:
    """Imports of images sharing a layer while another process prunes everything: never a broken image."""
    (tmp_path / "shared.tar").write_bytes(make_tar([Entry(f"f{i}", data=os.urandom(4000)) for i in range(100)]))
    # Each freshly imported image must be usable, unless the pruner removed it in the meantime.
    importer = ("import sys; from pathlib import Path; from runtime.images.store import ImageStore\n"
                "from runtime.errors import ImageError, NotFound\n"
                "s = ImageStore(Path(sys.argv[1]))\n"
                "for i in range(12):\n"
                "    info = s.import_tarball(sys.argv[2], f'race:{i}', [f'ENV I={i}'])\n"
                "    try:\n"
                "        assert len(list(s.rootfs_layers(info.id)[0].iterdir())) == 100\n"
                "    except (NotFound, ImageError):\n"
                "        assert not s.exists(info.id), 'a live image could not be used'\n")
    pruner = ("import sys; from pathlib import Path; from runtime.images.store import ImageStore\n"
              "s = ImageStore(Path(sys.argv[1]))\n"
              "for i in range(12): s.prune(all=True)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(hoist_root), str(tmp_path / "shared.tar")],
                              cwd=PROJECT_DIR, stderr=subprocess.PIPE, text=True) for code in (importer, pruner)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    store = ImageStore(hoist_root)
    for info in store.list():
        manifest = store.manifest_json(info.id)
        for desc in manifest["layers"]:
            assert store.blobs.verify(desc["digest"])
        (layer,) = store.rootfs_layers(info.id)
        assert len(list(layer.iterdir())) == 100


def test_many_layers_mount_through_short_links(hoist_root: Path, tmp_path: Path) -> None:
    count = 50
    layer_tars = [make_tar([Entry(f"l{i}", data=str(i).encode())]) for i in range(count - 1)]
    layer_tars.append(make_tar([Entry(".wh.l0"), Entry("top", data=b"t")]))
    archive, image_id = docker_archive(layer_tars, ["tall:1"])
    (tmp_path / "tall.tar").write_bytes(archive)
    store = ImageStore(hoist_root)
    store.load(tmp_path / "tall.tar")
    full = ":".join(str(p) for p in reversed(store.rootfs_layers(image_id)))
    lowerdir = store.overlay_lowerdir(image_id)
    assert len(full) > 4096 > len(lowerdir) + 400  # full paths would not fit in the mount options
    work = hoist_root / "ovl"
    for d in ("upper", "work", "merged"):
        (work / d).mkdir(parents=True)
    script = (f"mount -t overlay overlay -o lowerdir={lowerdir},upperdir={work}/upper,workdir={work}/work "
              f"{work}/merged && ls {work}/merged")
    out = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.split()) == sorted([f"l{i}" for i in range(1, count - 1)] + ["top"])
    store.remove("tall:1")
    assert not any(store.short_links_dir.iterdir())  # links go with their layers
