"""Pull of a multi-layer image from a local registry: hoist against ``skopeo copy`` of the same image.

Run: .venv/bin/python -m benchmarks.bench_registry [--runs N] [--layers N] [--layer-mb MB]
Starts Debian's docker-registry on 127.0.0.1 (plain HTTP), pushes a generated image (gzip layers and one zstd
layer, text and incompressible files) with hoist, then, in the same run and alternating, into fresh
destinations each time:

- ``hoist image pull`` as a whole process (what a user runs; includes Python start-up) into a fresh root:
  download, digest verification, decompression, unpacking into the store's layer directories;
- the same ``pull_image`` in-process (the library cost without interpreter start-up);
- the registry client alone: manifest, config and layers downloaded and digest-verified into files, three
  at a time, no unpacking (the work skopeo does);
- ``skopeo copy docker://... oci:DIR`` (the reference: download and verify; it does not unpack layers);
- the same ``skopeo copy`` followed by GNU ``tar -x`` of every layer blob, all at once (a like-for-like
  reference: what hoist's pull does, by two compiled tools; tar does not turn whiteouts into overlay ones).

Prints medians and the ratio hoist-CLI / skopeo (target: <= 1.0); the CPU time (user + system, all
threads) of the hoist CLI process and of skopeo, which a loaded machine inflates less than wall time; the
phases of an in-process pull (from its progress events: until the layers start, layers, publishing); and a
calibration row: the time this filesystem takes to create as many empty files as the image has, which
hoist's unpacking must pay and skopeo (a handful of blob files) does not. It varies a lot on the
development VMs (ext4 without a journal looks at every recently deleted inode of a block group before
reusing one: 20-800 us per file measured, depending on the directory and on what was deleted there in the
last minutes), so read the ratio with it.
The runs' files are deleted only at the end, for the same reason: deleting a run's 600 files right before
the next run made that run's file creation slower, the benchmark measuring its own cleanup.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._measure import time_call as _time

PROJECT_DIR = Path(__file__).resolve().parents[1]


def _layer_tar(seed: int, megabytes: float) -> bytes:
    rng = random.Random(seed)
    out = io.BytesIO()
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(500)]
    target = int(megabytes * (1 << 20))
    written = 0
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        i = 0
        while written < target:
            if i % 3 == 0:  # incompressible, like binaries and already-compressed assets
                data = rng.randbytes(rng.randint(4 << 10, 256 << 10))
            else:  # text, like sources and configuration
                data = b" ".join(rng.choice(words) for _ in range(rng.randint(500, 20000)))
            info = tarfile.TarInfo(f"layer{seed}/dir{i % 17}/file{i}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
            written += len(data)
            i += 1
    return out.getvalue()


def _make_image(store, ref: str, layers: int, layer_mb: float) -> None:  # type: ignore[no-untyped-def]
    import zstandard

    digests = []
    for n in range(layers):
        raw = _layer_tar(n, layer_mb)
        blob = zstandard.ZstdCompressor().compress(raw) if n == layers - 1 else gzip.compress(raw, 6)
        digests.append(store.commit_layer(io.BytesIO(blob))[1])
    store.write_image({"config": {"Cmd": ["/bin/sh"]}}, digests, ref)


def _fetch_only(root: Path, ref: str, dest: Path) -> None:
    """What skopeo does: manifest, config and layers downloaded and verified into files, no unpacking."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    from runtime.images import reference
    from runtime.images.registry import client_for

    parsed = reference.parse(ref)
    client = client_for(root, parsed.domain)
    dest.mkdir(parents=True)
    manifest = json.loads(client.get_manifest(parsed.path, parsed.tag or "latest").data)

    def fetch(desc: dict) -> None:
        with open(dest / desc["digest"].split(":")[1], "wb") as sink:
            client.fetch_blob(parsed.path, desc["digest"], sink, size=desc["size"])

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(fetch, [manifest["config"], *manifest["layers"]]))
    client.close()


def _untar_layers(layout: Path, dest: Path) -> None:
    """``tar -x`` every layer of the one image in the OCI layout ``layout`` into ``dest/<n>``, all at once."""
    import json

    def blob(digest: str) -> Path:
        return layout / "blobs" / "sha256" / digest.split(":", 1)[1]

    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(blob(index["manifests"][0]["digest"]).read_bytes())
    procs = []
    for n, layer in enumerate(manifest["layers"]):
        target = dest / str(n)
        target.mkdir(parents=True)
        kind = "--zstd" if "zstd" in layer["mediaType"] else "-z" if "gzip" in layer["mediaType"] else None
        argv = ["tar", "-x", *([kind] if kind else []), "-f", str(blob(layer["digest"])), "-C", str(target)]
        procs.append(subprocess.Popen(argv))
    for proc in procs:
        if proc.wait() != 0:
            raise RuntimeError(f"tar failed: {proc.args!r}")


def _synced_time(run: Callable[[], object]) -> float:
    """The wall time of ``run``, with nothing of the rows before it left to write back: on a journaled ext4
    (scripts/bench-fs.sh) a row's fsync writes back what the previous rows left dirty (on the loop device
    of bench-fs.sh, all of it), so each row would pay for the one before it. hoist fsyncs its metadata,
    skopeo every blob."""
    os.sync()
    return _time(run)


def _time_child(run: Callable[[], object]) -> tuple[float, float]:
    """The wall time of ``run`` (``_synced_time``) and the user + system CPU time of the child processes it
    waits for."""
    os.sync()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = _time(run)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _pull_phases(pull: Callable[..., object], store: object, ref: str) -> tuple[float, float, float]:
    """(until the first layer starts, the layers, publishing) of one in-process pull, in seconds, from the
    times of its progress events."""
    marks: dict[str, float] = {}
    lock = threading.Lock()

    def progress(event: object) -> None:
        now = time.perf_counter()
        status = getattr(event, "status", "")
        with lock:
            if status == "Pulling fs layer":
                marks.setdefault("layers", now)
            elif status == "Pull complete":
                marks["layers done"] = now
            elif status.startswith("Digest:"):
                marks["published"] = now

    start = time.perf_counter()
    pull(store, ref, progress=progress)
    return (marks["layers"] - start, marks["layers done"] - marks["layers"],
            marks["published"] - marks["layers done"])


def _files_in(ref_store, image_id: str) -> int:  # type: ignore[no-untyped-def]
    return sum(len(files) + len(dirs) for layer in ref_store.rootfs_layers(image_id)
               for _, dirs, files in os.walk(layer))


def _create_files(dest: Path, count: int) -> None:
    """The filesystem's share of an unpack: ``count`` empty files created (17 per directory, as the image)."""
    for i in range(count):
        folder = dest / f"d{i // 17}"
        if i % 17 == 0:
            folder.mkdir(parents=True)
        os.close(os.open(folder / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--layer-mb", type=float, default=8.0, help="uncompressed size of each layer")
    args = parser.parse_args(argv)
    if not shutil.which("skopeo"):
        print("skopeo is missing: run scripts/setup.sh", file=sys.stderr)
        return 1
    sys.path.insert(0, str(PROJECT_DIR))
    from benchmarks._teardown import bench_dir
    from runtime.images.pull import pull_image
    from runtime.images.push import push_image
    from runtime.images.store import ImageStore
    from tests.support.registry_server import RegistryServer

    # /var/tmp, not /tmp (benchmarks/_teardown.py says why). Both tools write to the same place.
    base = bench_dir()
    work = Path(tempfile.mkdtemp(prefix="hoist-bench-registry-", dir=base))
    server = RegistryServer().start()
    try:
        ref = f"{server.host}/bench/app:1"
        source = ImageStore(work / "source")
        _make_image(source, ref, args.layers, args.layer_mb)
        push_image(source, ref)
        manifest = source.manifest_json(source.resolve(ref).id)
        compressed = sum(d["size"] for d in manifest["layers"])
        files = _files_in(source, source.resolve(ref).id)
        print(f"image: {args.layers} layers, {args.layers * args.layer_mb:.0f} MB unpacked, "
              f"{compressed / (1 << 20):.1f} MB compressed, {files} files and directories; registry {server.host}; "
              f"{args.runs} runs in {base}")
        # The CLI as installed runs from cached bytecode (and dataclass code, compose/cli/codecache.py); with
        # PYTHONDONTWRITEBYTECODE in the environment (some shells set it) every changed module would be
        # compiled again in every timed process. So: caches allowed, and one untimed warm-up pull.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = str(PROJECT_DIR)
        subprocess.run([sys.executable, "-m", "compose.cli.main", "--root", str(work / "warm-up"), "image", "pull",
                        "-q", ref], check=True, capture_output=True, env=env, cwd=PROJECT_DIR)
        cli, lib, fetch, skopeo, create, skopeo_tar = [], [], [], [], [], []
        cli_cpu, skopeo_cpu, phases = [], [], []
        for run in range(args.runs):
            dest = work / f"run{run}"

            def cli_pull(dest: Path = dest) -> None:
                subprocess.run([sys.executable, "-m", "compose.cli.main", "--root", str(dest / "cli"), "image",
                                "pull", "-q", ref], check=True, capture_output=True, env=env, cwd=PROJECT_DIR)

            def skopeo_copy(dest: Path = dest) -> None:
                subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}",
                                f"oci:{dest / 'oci'}:app"], check=True, capture_output=True)

            wall, cpu = _time_child(cli_pull)
            cli.append(wall)
            cli_cpu.append(cpu)
            lib.append(_synced_time(lambda dest=dest: pull_image(ImageStore(dest / "lib"), ref)))
            fetch.append(_synced_time(lambda dest=dest: _fetch_only(dest / "fetch-root", ref, dest / "fetch")))
            wall, cpu = _time_child(skopeo_copy)
            skopeo.append(wall)
            skopeo_cpu.append(cpu)

            def skopeo_and_tar(dest: Path = dest) -> None:
                subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}",
                                f"oci:{dest / 'oci-tar'}:app"], check=True, capture_output=True)
                _untar_layers(dest / "oci-tar", dest / "untarred")

            skopeo_tar.append(_synced_time(skopeo_and_tar))
            create.append(_synced_time(lambda dest=dest: _create_files(dest / "calibration", files)))
        # The phases come from pulls of their own, after the timed rows (one more pull between them would
        # slow the runs after it: more files created and more dirty pages written back).
        for run in range(args.runs):
            os.sync()
            phases.append(_pull_phases(pull_image, ImageStore(work / f"run{run}" / "phases"), ref))
        m_cli, m_lib, m_fetch, m_sk, m_create = (statistics.median(x) for x in (cli, lib, fetch, skopeo, create))
        print(f"hoist image pull (CLI process): median {m_cli * 1000:8.1f} ms")
        print(f"pull_image (in-process):        median {m_lib * 1000:8.1f} ms")
        print(f"fetch + verify only (no unpack): median {m_fetch * 1000:7.1f} ms")
        print(f"skopeo copy (reference):        median {m_sk * 1000:8.1f} ms")
        print(f"ratio hoist CLI / skopeo: {m_cli / m_sk:.2f}  (in-process / skopeo: {m_lib / m_sk:.2f}; "
              "target <= 1.0; hoist also unpacks every layer, skopeo does not)")
        print(f"ratio fetch+verify / skopeo (the same work): {m_fetch / m_sk:.2f}")
        m_sk_tar = statistics.median(skopeo_tar)
        print(f"skopeo copy + tar -x of every layer (like for like): median {m_sk_tar * 1000:.1f} ms; ratio "
              f"hoist CLI / that {m_cli / m_sk_tar:.2f}, in-process / that {m_lib / m_sk_tar:.2f}")
        c_cli, c_sk = statistics.median(cli_cpu), statistics.median(skopeo_cpu)
        print(f"CPU (user+sys, all threads): hoist CLI median {c_cli * 1000:.1f} ms, skopeo median "
              f"{c_sk * 1000:.1f} ms, ratio {c_cli / c_sk:.2f}")
        until, layer_phase, publish = (statistics.median(p[i] for p in phases) for i in range(3))
        print(f"in-process phases (medians): until the first layer starts {until * 1000:.1f} ms (registry "
              f"ping, manifest, config), layers {layer_phase * 1000:.1f} ms, publishing {publish * 1000:.1f} ms")
        print(f"calibration: creating {files} empty files here: median {m_create * 1000:.1f} ms "
              "(part of every unpack; skopeo creates a handful)")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
