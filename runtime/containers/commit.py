"""``container commit``: a new image from a container's changes, as ``docker commit`` makes it.

The new image is the container's image plus one layer: the container's overlay upper directory, its overlay
whiteouts turned into OCI ones (``ImageStore.commit_layer``, as the builder commits a RUN step), without what
the runtime itself put there (the /etc/hosts, /etc/hostname and /etc/resolv.conf mount points, mount
targets, /proc /sys /dev: ``run_step.runtime_files``). The upper directory of a live container is only read.

Its config is the image's config with the container's own settings over it (command, entrypoint, env,
working dir, user, exposed ports, labels, anonymous volumes, healthcheck, stop signal: what docker keeps in
the container's Config and commits), then the ``--change`` instructions (``runtime.images.changes``, as
``image import --change``). A running container is paused (frozen) meanwhile, unless ``pause`` is False.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runtime.api import ContainerSpec, Healthcheck
from runtime.containers.defaults import combine_command, merge_env
from runtime.errors import InvalidSpec, StateError

if TYPE_CHECKING:
    from runtime.engine import Engine

_NS = 1_000_000_000


def _healthcheck_json(hc: Healthcheck) -> dict[str, Any]:
    """The image config's Healthcheck (Docker's keys, durations in nanoseconds)."""
    out: dict[str, Any] = {"Test": list(hc.test)}
    for key, value in (("Interval", hc.interval), ("Timeout", hc.timeout), ("StartPeriod", hc.start_period),
                       ("StartInterval", hc.start_interval)):
        if value:
            out[key] = int(value * _NS)
    if hc.retries:
        out["Retries"] = hc.retries
    return out


def committed_config(image_config: dict[str, Any], spec: ContainerSpec | None) -> dict[str, Any]:
    """The ``config`` object of the new image: the image's, with the container's effective settings."""
    config = json.loads(json.dumps(image_config or {}))
    if spec is None:
        return config
    if spec.entrypoint is not None:
        config["Entrypoint"] = list(spec.entrypoint) or None
        config["Cmd"] = list(spec.command) if spec.command is not None else None
    elif spec.command is not None:
        config["Cmd"] = list(spec.command)
    if spec.env or config.get("Env"):
        config["Env"] = merge_env(config.get("Env") or [], spec.env)
    if spec.working_dir:
        config["WorkingDir"] = spec.working_dir
    if spec.user is not None:
        config["User"] = spec.user
    ports = dict(config.get("ExposedPorts") or {})
    for item in spec.expose:
        port, _, proto = str(item).partition("/")
        ports[f"{port}/{(proto or 'tcp').lower()}"] = {}
    for binding in spec.ports:
        ports[f"{binding.container_port}/{binding.protocol}"] = {}
    if ports:
        config["ExposedPorts"] = ports
    if spec.labels:
        config["Labels"] = {**(config.get("Labels") or {}), **spec.labels}
    anonymous = [m.target for m in spec.mounts if m.type == "volume" and not m.source]
    if anonymous:
        config["Volumes"] = {**(config.get("Volumes") or {}), **{t: {} for t in anonymous}}
    if spec.healthcheck is not None:
        config["Healthcheck"] = _healthcheck_json(spec.healthcheck)
    if spec.stop_signal:
        config["StopSignal"] = spec.stop_signal
    if spec.hostname:
        config["Hostname"] = spec.hostname
    if spec.domainname:
        config["Domainname"] = spec.domainname
    return config


def created_by(image_config: dict[str, Any], spec: ContainerSpec | None) -> str:
    """The history's ``created_by``: the command the container ran."""
    if spec is None:
        return ""
    return " ".join(combine_command(image_config.get("Entrypoint"), image_config.get("Cmd"), spec.entrypoint,
                                    spec.command))


def commit_container(engine: Engine, ref: str, *, repository: str | None = None, changes: Sequence[str] = (),
                     message: str = "", author: str = "", pause: bool = True) -> str:
    """Commit the container ``ref`` to a new image (tagged ``repository`` when given); returns its id."""
    from runtime.containers.plan import LaunchPlan
    from runtime.images import reference
    from runtime.images.build.rootfs_view import RootfsView
    from runtime.images.build.run_step import runtime_files
    from runtime.images.changes import apply_changes
    from runtime.images.config import now_rfc3339

    tag = reference.normalize(repository) if repository else None  # a bad reference fails before anything
    if repository and reference.parse(repository).digest:
        raise InvalidSpec(f"cannot commit to a digest reference: {repository}",
                          hint="give REPOSITORY[:TAG]")
    state = engine.container_inspect(ref)
    store = engine.images
    doc = store.image_config_json(state.image_id)
    base_config = doc.get("config") or {}
    config = apply_changes(committed_config(base_config, state.spec), list(changes))  # bad --change: now
    cdir = engine.container_dir(state.id)
    try:
        plan = LaunchPlan.load(cdir)
    except FileNotFoundError:
        raise StateError(f"container {state.name} has no filesystem to commit") from None
    layer_digests = [d["digest"] for d in store.manifest_json(state.image_id).get("layers") or []]
    view = RootfsView(store.rootfs_layers(state.image_id))
    paused_here = False
    if pause and state.status == "running":
        engine.container_pause(state.id)
        paused_here = True
    try:
        upper = cdir / "upper"
        exclude = runtime_files(upper, view, [m.target for m in plan.mounts])
        _diff_id, digest = store.commit_layer(upper, overlay_whiteouts=True, exclude=exclude)
    finally:
        if paused_here:
            with contextlib.suppress(StateError):
                engine.container_unpause(state.id)
    now = now_rfc3339()
    history: dict[str, Any] = {"created": now, "created_by": created_by(base_config, state.spec)}
    if author:
        history["author"] = author
    if message:
        history["comment"] = message
    new_doc = {k: v for k, v in doc.items() if k not in ("rootfs", "author", "container", "container_config")}
    new_doc["created"] = now
    new_doc["config"] = config
    if author:
        new_doc["author"] = author
    new_doc["container"] = state.id
    new_doc["history"] = [*(doc.get("history") or []), history]
    info = store.write_image(new_doc, [*layer_digests, digest], tag)
    return str(info.id)

