"""RUN: execute a command in a hoist container on the image built so far; its upper dir is the new layer.

Network: a RUN joins the default ``bridge`` network (NAT to the outside), as in Docker, so ``apt-get`` reaches
the package mirror (a build that had to create that network removes it again at its end); on a runtime without bridge networking it uses the host's network
namespace instead. ``--network host`` asks for the host's network (faster: no veth to set up), and
``RUN --network=none`` (or the build's ``network: none``) cuts it off.

Files the runtime itself puts into the container (the /etc/hosts, /etc/resolv.conf and /etc/hostname mount points, mount targets, /proc /sys /dev when the image lacks them)
are removed from the upper dir before it is committed: they are not part of what the step wrote.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.api import ContainerSpec, Mount
from runtime.images.build.instructions import RunMount
from runtime.images.build.metadata import DEFAULT_PATH
from runtime.images.build.rootfs_view import RootfsView

BUILD_LABEL = "io.hoist.build"
RUNTIME_FILES = ("etc/hosts", "etc/resolv.conf", "etc/hostname")
RUNTIME_DIRS = ("proc", "sys", "dev")


@dataclass
class RunRequest:
    image_id: str
    argv: list[str]
    env: dict[str, str]
    working_dir: str | None
    user: str | None
    network: str  # bridge, host or none
    extra_hosts: list[tuple[str, str]] = field(default_factory=list)
    shm_size: int | None = None
    mounts: list[RunMount] = field(default_factory=list)
    context: Path | None = None  # for --mount=type=bind sources


@dataclass
class RunResult:
    exit_code: int
    upper: Path | None  # valid until ``cleanup`` is called
    container_id: str


def _cache_mount_dir(root: Path, mount: RunMount) -> Path:
    ident = mount.options.get("id") or mount.target
    return root / "build-cache" / "mounts" / hashlib.sha256(ident.encode()).hexdigest()[:24]


def container_mounts(root: Path, request: RunRequest) -> list[Mount]:
    mounts: list[Mount] = []
    for m in request.mounts:
        if m.type == "cache":
            source = _cache_mount_dir(root, m)
            source.mkdir(parents=True, exist_ok=True)
            mounts.append(Mount(type="bind", source=str(source), target=m.target))
        elif m.type == "tmpfs":
            mounts.append(Mount(type="tmpfs", target=m.target))
        elif m.type == "bind" and request.context is not None:
            rel = posixpath.normpath("/" + m.options.get("source", m.options.get("src", "."))).lstrip("/")
            source = (request.context / rel) if rel else request.context
            mounts.append(Mount(type="bind", source=str(source), target=m.target,
                                read_only=m.options.get("rw", m.options.get("readwrite", "false")) != "true",
                                create_host_path=False))
    return mounts


def run_container(engine: Any, request: RunRequest, output: Callable[[str, str], None]) -> RunResult:
    """Create, start and wait for the step's container; stream its output as (stream, line)."""
    name = f"hoist-build-{secrets.token_hex(6)}"
    spec = ContainerSpec(
        name=name, image=request.image_id, entrypoint=[], command=list(request.argv), env=dict(request.env),
        working_dir=request.working_dir or None, user=request.user or None, labels={BUILD_LABEL: "run"},
        network_mode=request.network, extra_hosts=list(request.extra_hosts), shm_size=request.shm_size,
        mounts=container_mounts(engine.root, request), stop_grace_period=1.0)
    state = engine.container_create(spec)
    try:
        engine.container_start(state.id)
        for record in engine.container_logs(state.id, follow=True):
            output(record.stream, record.text)
        code = engine.container_wait(state.id)
    except BaseException:
        remove_container(engine, state.id)
        raise
    return RunResult(exit_code=code, upper=engine.container_dir(state.id) / "upper", container_id=state.id)


def remove_container(engine: Any, container_id: str) -> None:
    with contextlib.suppress(Exception):
        engine.container_remove(container_id, force=True)


def runtime_files(upper: Path, view: RootfsView, mount_targets: Iterable[str]) -> list[str]:
    """What the runtime created in the upper dir rather than the container's processes (see module doc):
    paths relative to ``upper``, parents after their children. Reads only: a live container's upper dir
    is left as it is (``container commit`` leaves these out of its layer instead of deleting them)."""
    candidates = [*RUNTIME_FILES, *RUNTIME_DIRS,
                  *(posixpath.normpath("/" + t).lstrip("/") for t in mount_targets)]
    dropped: list[str] = []
    gone: set[str] = set()
    for rel in candidates:
        if rel in gone:
            continue
        path = upper / rel
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if view.lstat("/" + rel) is not None:
            continue  # it was in the image: a copy-up, or the step changed it
        if stat.S_ISDIR(st.st_mode):
            if rel in RUNTIME_DIRS or not _listing(path, rel, gone):
                dropped.append(rel)
                gone.add(rel)
        elif stat.S_ISREG(st.st_mode) and st.st_size == 0:
            dropped.append(rel)
            gone.add(rel)
        _empty_parents(upper, posixpath.dirname(rel), view, dropped, gone)
    return dropped


def _listing(path: Path, rel: str, gone: set[str]) -> list[str]:
    try:
        return [n for n in os.listdir(path) if posixpath.join(rel, n) not in gone]
    except OSError:
        return ["?"]  # unreadable: keep it


def _empty_parents(upper: Path, rel: str, view: RootfsView, dropped: list[str], gone: set[str]) -> None:
    while rel and rel not in gone:
        if _listing(upper / rel, rel, gone) or view.lstat("/" + rel) is not None:
            return
        dropped.append(rel)
        gone.add(rel)
        rel = posixpath.dirname(rel)


def strip_runtime_files(upper: Path, view: RootfsView, mount_targets: Iterable[str]) -> None:
    """Drop from the upper dir what the runtime created there rather than the step (see module doc)."""
    for rel in runtime_files(upper, view, mount_targets):
        path = upper / rel
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except FileNotFoundError:
            continue


def run_env(config_env: Mapping[str, str], args: Mapping[str, str]) -> dict[str, str]:
    """The step's environment: build args in scope, then the image's ENV over them (ENV wins, as in Docker)."""
    env = dict(args)
    env.update(config_env)
    env.setdefault("PATH", DEFAULT_PATH)
    return env
