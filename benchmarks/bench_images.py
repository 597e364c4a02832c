"""The image store on the Debian test rootfs (~140 MB, ~10k files): unpack, load, save, against GNU tar/skopeo.

Run: .venv/bin/python -m benchmarks.bench_images [--runs N]     (root: layers hold devices and owners)
Reports medians, each next to a reference measured in the same run, alternating with it:

- unpack one layer tar into a directory: ``runtime.images.layers.unpack`` (whiteout conversion, xattrs,
  owners, path checks) vs ``tar --xattrs --numeric-owner -xpf`` (GNU tar, C);
- ``load`` of a docker-archive (verify every digest + unpack into the store) vs
  ``skopeo copy docker-archive: oci:`` (verify + copy blobs; skopeo does not unpack);
- ``save`` to a docker-archive vs ``skopeo copy oci:<store> docker-archive:`` of the same image;
- the test fixture: hardlink/symlink a cached store into a fresh root, vs importing the rootfs afresh.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._teardown import bench_dir

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _median(fn: Callable[[], None], setup: Callable[[], None] | None, runs: int) -> float:
    times = []
    for _ in range(runs):
        if setup:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pair(name: str, ours: float, ref: float, ref_name: str) -> None:
    print(f"{name:<34} hoist {ours * 1000:8.0f} ms   {ref_name:<26} {ref * 1000:8.0f} ms   ratio {ours / ref:5.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_images needs root", file=sys.stderr)
        return 1
    sys.path.insert(0, str(PROJECT_DIR))
    from runtime.images import layers
    from runtime.images.store import ImageStore
    from tests.support.image_store import cached_store, link_into
    from tests.support.images import ensure_debian_rootfs

    rootfs = ensure_debian_rootfs()
    work = Path(tempfile.mkdtemp(prefix="hoist-bench-images-", dir=bench_dir()))  # not /tmp: benchmarks/_teardown.py
    try:
        cache_root = cached_store(rootfs, "debian:bookworm-slim")
        cached = ImageStore(cache_root)
        info = cached.resolve("debian:bookworm-slim")
        layer_tar = cached.blobs.path(cached.manifest_json(info.id)["layers"][0]["digest"])
        archive = work / "debian.tar"
        cached.save(["debian:bookworm-slim"], archive, "docker")
        print(f"image: {info.size / 1e6:.0f} MB unpacked, archive {archive.stat().st_size / 1e6:.0f} MB, "
              f"runs={args.runs}, medians")

        dest = work / "dest"

        def fresh_dest() -> None:
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir()

        def ours_unpack() -> None:
            with open(layer_tar, "rb") as f:
                layers.unpack(f, dest)  # type: ignore[arg-type]

        def tar_unpack() -> None:
            subprocess.run(["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf", str(layer_tar),
                            "-C", str(dest)], check=True)

        ref = _median(tar_unpack, fresh_dest, args.runs)
        ours = _median(ours_unpack, fresh_dest, args.runs)
        _pair("unpack layer", ours, ref, "GNU tar -x")

        def fresh_root() -> None:
            shutil.rmtree(work / "root", ignore_errors=True)
            shutil.rmtree(work / "oci", ignore_errors=True)

        def ours_load() -> None:
            ImageStore(work / "root").load(archive)

        def skopeo_load() -> None:
            subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", f"docker-archive:{archive}",
                            f"oci:{work / 'oci'}:x"], check=True)

        ref = _median(skopeo_load, fresh_root, args.runs)
        ours = _median(ours_load, fresh_root, args.runs)
        _pair("load docker-archive", ours, ref, "skopeo copy -> oci:")

        out = work / "out.tar"

        def ours_save() -> None:
            cached.save(["debian:bookworm-slim"], out, "docker")

        def skopeo_save() -> None:
            out.unlink(missing_ok=True)
            subprocess.run(["skopeo", "--insecure-policy", "copy", "-q",
                            f"oci:{cached.dir}:docker.io/library/debian:bookworm-slim",
                            f"docker-archive:{out}:debian:bookworm-slim"], check=True)

        ref = _median(skopeo_save, None, args.runs)
        ours = _median(ours_save, None, args.runs)
        _pair("save docker-archive", ours, ref, "skopeo copy oci: ->")

        def link() -> None:
            link_into(cache_root, work / "root")

        def import_fresh() -> None:
            ImageStore(work / "root").import_directory(rootfs, "debian:bookworm-slim")

        ref = _median(import_fresh, fresh_root, max(1, args.runs // 2))
        ours = _median(link, fresh_root, args.runs)
        _pair("debian_image fixture (link)", ours, ref, "import_directory afresh")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
