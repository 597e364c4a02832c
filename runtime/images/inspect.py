"""``docker image inspect`` and ``docker history`` documents for images in the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.images import reference
from runtime.images.store import ImageStore

_CONFIG_KEYS = ("Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
                "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck", "ArgsEscaped",
                "Image", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels", "StopSignal", "Shell")
_CONFIG_DEFAULTS: dict[str, Any] = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
                                    "AttachStdout": False, "AttachStderr": False, "Tty": False,
                                    "OpenStdin": False, "StdinOnce": False, "Env": None, "Cmd": None,
                                    "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
                                    "OnBuild": None, "Labels": None}


def inspect_document(store: ImageStore, ref: str) -> dict[str, Any]:
    """The JSON object ``docker image inspect`` prints for one image (Docker's field names and shapes)."""
    info = store.resolve(ref)
    config = store.image_config_json(info.id)
    record = store.record(info.id)
    container_config = {key: config.get("config", {}).get(key, _CONFIG_DEFAULTS.get(key))
                        for key in _CONFIG_KEYS if key in config.get("config", {}) or key in _CONFIG_DEFAULTS}
    layer_dirs = [str(p) for p in _layer_dirs(store, info.id)]
    history = config.get("history") or []
    return {
        "Id": info.id,
        "RepoTags": [reference.familiar(t) for t in info.tags],
        "RepoDigests": [reference.familiar(d) for d in info.digests],
        "Parent": "",
        "Comment": next((h.get("comment", "") for h in reversed(history) if h.get("comment")), ""),
        "Created": info.created,
        "DockerVersion": config.get("docker_version", ""),
        "Author": config.get("author", ""),
        "Config": container_config,
        "Architecture": info.architecture,
        **({"Variant": config["variant"]} if config.get("variant") else {}),
        "Os": info.os,
        "Size": info.size,
        "GraphDriver": {
            "Name": "overlay2",
            "Data": {"LowerDir": ":".join(reversed(layer_dirs))} if layer_dirs else {},
        },
        "RootFS": {"Type": "layers", "Layers": list(info.layers)},
        "Metadata": {"LastTagTime": record.get("added", "")},
        "Descriptor": {"mediaType": record.get("manifest_media_type", ""), "digest": record["manifest"],
                       "size": record["manifest_size"]},
    }


def _layer_dirs(store: ImageStore, image_id: str) -> list[Any]:
    """Unpacked layer dirs, without unpacking missing ones (inspect must not write)."""
    from runtime.images import layers
    from runtime.images.blobs import hex_of

    config = store.image_config_json(image_id)
    chains = layers.chain_ids((config.get("rootfs") or {}).get("diff_ids") or [])
    return [store.layers_dir / hex_of(c) / "diff" for c in chains]


@dataclass(frozen=True)
class HistoryEntry:
    id: str  # the image id for the top entry, "<missing>" below it (as docker shows a non-built image)
    created: str
    created_by: str
    size: int
    comment: str
    empty_layer: bool


def history(store: ImageStore, ref: str) -> list[HistoryEntry]:
    """``docker history``: newest first; sizes are the unpacked sizes of the layers entries created."""
    info = store.resolve(ref)
    config = store.image_config_json(info.id)
    sizes = store.layer_sizes(info.id)
    entries = []
    layer_index = 0
    for item in config.get("history") or []:
        empty = bool(item.get("empty_layer"))
        size = 0
        if not empty and layer_index < len(sizes):
            size = sizes[layer_index]
            layer_index += 1
        entries.append(HistoryEntry("<missing>", item.get("created", ""), item.get("created_by", ""), size,
                                    item.get("comment", ""), empty))
    entries.reverse()
    if entries:
        top = entries[0]
        entries[0] = HistoryEntry(info.id, top.created, top.created_by, top.size, top.comment, top.empty_layer)
    return entries
