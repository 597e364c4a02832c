"""``volumes_from``: a container gets the volumes and bind mounts of other containers, as Docker's VolumesFrom.

Each entry is ``SERVICE[:ro|:rw]`` (that service's first container, as compose picks it) or
``container:NAME[:ro|:rw]``. Every mount point of the source container is mounted at the same place: its bind
mounts (same host path), its named volumes, and its anonymous volumes (the image's ``VOLUME`` ones included)
by the names the engine gave them. ``ro`` makes all of them read-only; ``rw`` or nothing keeps each one's
mode at the source (a read-only one stays so, as in Docker). Nothing is copied into a shared volume from the
consumer's image. tmpfs mounts are the source's own (Docker does not share them either). A mount point the container
itself declares wins over one it would get this way, and the first source to name a mount point wins over a
later one. The sources are created before their consumer (``volumes_from`` is a dependency), so they are
looked up when the consumer is created; a shared anonymous volume stays its source's (``rm -v`` of the
consumer leaves it, the source's removes it).
"""

from __future__ import annotations

import dataclasses
import posixpath

from compose.convert import container_name
from compose.errors import OperationError
from compose.model import Project, Service
from runtime.api import ContainerSpec, EngineAPI, Mount
from runtime.errors import NotFound


def source_containers(project: Project, service: Service) -> list[tuple[str, str]]:
    """(container name, mode) of each ``volumes_from`` entry, in order; mode is "ro", "rw" or ""."""
    out = []
    for entry in service.volumes_from:
        if entry.startswith("container:"):
            name, _, mode = entry[len("container:"):].partition(":")
        else:
            source, _, mode = entry.partition(":")
            name = container_name(project, project.services[source], 1) if source in project.services else source
        out.append((name, mode))
    return out


def with_volumes_from(engine: EngineAPI, project: Project, service: Service, spec: ContainerSpec) -> ContainerSpec:
    """``spec`` with the mounts ``service``'s ``volumes_from`` gives it added (unchanged without any)."""
    if not service.volumes_from:
        return spec
    mounts = list(spec.mounts)
    taken = {posixpath.normpath(m.target) for m in mounts}
    for name, mode in source_containers(project, service):
        for mount in _mounts_of(engine, name, service.name):
            target = posixpath.normpath(mount.target)
            if target in taken:
                continue
            taken.add(target)
            if mode == "ro":  # "rw" keeps what the source has: Docker's RW is the source's AND the mode's
                mount = dataclasses.replace(mount, read_only=True)
            mounts.append(mount)
    return dataclasses.replace(spec, mounts=mounts)


def _mounts_of(engine: EngineAPI, name: str, consumer: str) -> list[Mount]:
    """The source container's mount points as a consumer mounts them."""
    try:
        state = engine.container_inspect(name)
        anonymous = engine.container_anonymous_volumes(name)  # mount point -> the volume's name
    except NotFound:
        raise OperationError(f'service "{consumer}" takes volumes from container "{name}", which does not exist',
                             hint="create it first (`hoist up` creates a service's volumes_from sources "
                                  "unless --no-deps is given)") from None
    out: list[Mount] = []
    seen: set[str] = set()
    for m in state.spec.mounts if state.spec is not None else ():
        target = posixpath.normpath(m.target)
        if m.type == "tmpfs":
            continue
        if m.type == "volume":
            source = m.source or anonymous.get(target, "")
            if not source:
                continue  # an anonymous volume the engine no longer knows (removed): nothing to share
            # The consumer does not own it: its removal (rm -v, down -v) is the source's business.
            m = dataclasses.replace(m, source=source, anonymous=False, nocopy=True)
        out.append(m)
        seen.add(target)
    for target, volume in anonymous.items():  # the image's VOLUMEs, which the spec does not list
        if posixpath.normpath(target) not in seen:
            out.append(Mount(type="volume", target=target, source=volume, nocopy=True))
    return out
