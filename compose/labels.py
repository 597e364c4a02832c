"""compose's labels: the only state compose keeps. Every object the project creates carries them, so
`ps`, `down` and `ls` find their objects again after any crash, without the compose files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from compose import __version__

PREFIX = "com.docker.compose."
PROJECT = PREFIX + "project"
SERVICE = PREFIX + "service"
CONTAINER_NUMBER = PREFIX + "container-number"
ONEOFF = PREFIX + "oneoff"
CONFIG_HASH = PREFIX + "config-hash"
WORKING_DIR = PREFIX + "project.working_dir"
CONFIG_FILES = PREFIX + "project.config_files"
ENVIRONMENT_FILE = PREFIX + "project.environment_file"
DEPENDS_ON = PREFIX + "depends_on"
IMAGE = PREFIX + "image"
VERSION = PREFIX + "version"
SLUG = PREFIX + "slug"
REPLACE = PREFIX + "replace"
NETWORK = PREFIX + "network"
VOLUME = PREFIX + "volume"

TRUE = "True"
FALSE = "False"


@dataclass(frozen=True)
class ProjectInfo:
    """What every container label set says about the project it belongs to."""

    name: str
    working_dir: str = ""
    config_files: tuple[str, ...] = ()
    environment_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class DependencyLabel:
    service: str
    condition: str = "service_started"
    restart: bool = False
    required: bool = True


def format_depends_on(deps: Iterable[DependencyLabel]) -> str:
    """compose's form: ``svc:condition:restart`` joined by commas (``required`` rides along when false)."""
    parts = []
    for d in deps:
        text = f"{d.service}:{d.condition}:{str(d.restart).lower()}"
        parts.append(text if d.required else text + ":false")
    return ",".join(parts)


def parse_depends_on(text: str) -> list[DependencyLabel]:
    deps = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        fields = item.split(":")
        deps.append(DependencyLabel(
            service=fields[0],
            condition=fields[1] if len(fields) > 1 else "service_started",
            restart=len(fields) > 2 and fields[2] == "true",
            required=not (len(fields) > 3 and fields[3] == "false"),
        ))
    return deps


def project_labels(project: ProjectInfo) -> dict[str, str]:
    return {PROJECT: project.name, VERSION: __version__}


def container_labels(project: ProjectInfo, service: str, number: int, *, config_hash: str,
                     depends_on: Iterable[DependencyLabel] = (), image: str = "", oneoff: bool = False,
                     slug: str = "", user_labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """The full label set of one service container; the user's labels first so compose's always win."""
    labels = dict(user_labels or {})
    labels.update(project_labels(project))
    labels.update({
        SERVICE: service,
        CONTAINER_NUMBER: str(number),
        ONEOFF: TRUE if oneoff else FALSE,
        CONFIG_HASH: config_hash,
        WORKING_DIR: project.working_dir,
        CONFIG_FILES: ",".join(project.config_files),
        DEPENDS_ON: format_depends_on(depends_on),
        IMAGE: image,
    })
    if project.environment_files:
        labels[ENVIRONMENT_FILE] = ",".join(project.environment_files)
    if slug:
        labels[SLUG] = slug
    return labels


def network_labels(project: ProjectInfo, key: str, user_labels: Mapping[str, str] | None = None) -> dict[str, str]:
    labels = dict(user_labels or {})
    labels.update(project_labels(project))
    labels[NETWORK] = key
    return labels


def volume_labels(project: ProjectInfo, key: str, user_labels: Mapping[str, str] | None = None) -> dict[str, str]:
    labels = dict(user_labels or {})
    labels.update(project_labels(project))
    labels[VOLUME] = key
    return labels


def project_filter(project: str, *, oneoff: bool | None = None) -> dict[str, str | None]:
    """A label filter for engine ``*_list`` calls: the project's objects (optionally only (non-)one-offs)."""
    f: dict[str, str | None] = {PROJECT: project}
    if oneoff is not None:
        f[ONEOFF] = TRUE if oneoff else FALSE
    return f


def container_number(labels: Mapping[str, str]) -> int:
    try:
        return int(labels.get(CONTAINER_NUMBER, "0"))
    except ValueError:
        return 0


def is_oneoff(labels: Mapping[str, str]) -> bool:
    return labels.get(ONEOFF) == TRUE
