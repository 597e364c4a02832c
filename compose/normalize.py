"""Short syntax to long syntax: the canonical document, shaped as compose-go (``docker compose config``) prints it.

Two layers, like compose-go:

- :func:`canonicalize` always runs: long forms (ports, volumes, depends_on, secrets...), strings for env/labels,
  durations re-printed Go-style (``60s`` -> ``1m0s``), sizes in bytes, key order of compose-go's types, paths
  resolved (when asked), ``env_file``/``label_file`` values merged into ``environment``/``labels``.
- ``normalize=True`` adds what compose derives: the ``default`` network, resource ``name``s prefixed with the
  project name, and ``depends_on`` entries implied by ``links``, ``volumes_from`` and ``service:x`` modes.

The result is plain dicts/lists in output order; :mod:`compose.model` builds the typed model from it.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compose.errors import ConfigError, Location
from compose.sourcemap import KeyPath, SourceMap
from compose.units import format_duration, parse_bytes, parse_duration

# Key order of compose-go's ServiceConfig (what `docker compose config` prints).
SERVICE_KEY_ORDER = (
    "profiles", "annotations", "attach", "build", "develop", "blkio_config", "cap_add", "cap_drop",
    "cgroup_parent", "cgroup", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_period",
    "cpu_rt_runtime", "cpus", "cpuset", "cpu_shares", "command", "configs", "container_name", "credential_spec",
    "depends_on", "deploy", "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "dockerfile",
    "domainname", "entrypoint", "provider", "environment", "env_file", "expose", "extends", "external_links",
    "extra_hosts", "group_add", "gpus", "hostname", "healthcheck", "image", "init", "ipc", "isolation", "labels",
    "label_file", "links", "logging", "log_driver", "log_opt", "mem_limit", "mem_reservation", "memswap_limit",
    "mem_swappiness", "mac_address", "models", "net", "network_mode", "networks", "oom_kill_disable",
    "oom_score_adj", "pid", "pids_limit", "platform", "ports", "privileged", "pull_policy", "read_only",
    "restart", "runtime", "scale", "secrets", "security_opt", "shm_size", "stdin_open", "stop_grace_period",
    "stop_signal", "storage_opt", "sysctls", "tmpfs", "tty", "ulimits", "use_api_socket", "user", "userns_mode",
    "uts", "volume_driver", "volumes", "volumes_from", "working_dir", "post_start", "pre_stop",
)
_SERVICE_RANK = {k: i for i, k in enumerate(SERVICE_KEY_ORDER)}
TOP_LEVEL_ORDER = ("name", "services", "networks", "volumes", "secrets", "configs", "models")
_BUILD_ORDER = ("context", "dockerfile", "dockerfile_inline", "entitlements", "args", "ssh", "labels",
                "cache_from", "cache_to", "no_cache", "additional_contexts", "network", "provenance", "sbom",
                "pull", "target", "shm_size", "extra_hosts", "isolation", "privileged", "secrets", "tags",
                "ulimits", "platforms")
_HEALTH_ORDER = ("test", "timeout", "interval", "retries", "start_period", "start_interval", "disable")
_DEPLOY_ORDER = ("mode", "replicas", "labels", "update_config", "rollback_config", "resources",
                 "restart_policy", "placement", "endpoint_mode")
_UPDATE_ORDER = ("parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order")
_RESOURCE_ORDER = ("cpus", "memory", "pids", "devices", "generic_resources")
_RESTART_ORDER = ("condition", "delay", "max_attempts", "window")
_PLACEMENT_ORDER = ("constraints", "preferences", "max_replicas_per_node")
_PORT_ORDER = ("name", "mode", "host_ip", "target", "published", "protocol", "app_protocol")
_VOLUME_ORDER = ("type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image")
_NETWORK_ORDER = ("name", "driver", "driver_opts", "ipam", "external", "internal", "attachable", "labels",
                  "enable_ipv4", "enable_ipv6")
_IPAM_POOL_ORDER = ("subnet", "gateway", "ip_range", "aux_addresses")
_VOLUME_TOP_ORDER = ("name", "driver", "driver_opts", "external", "labels")
_FILE_OBJECT_ORDER = ("name", "file", "environment", "content", "external", "labels", "driver", "driver_opts",
                      "template_driver")
_SERVICE_NET_ORDER = ("aliases", "ipv4_address", "ipv6_address", "link_local_ips", "mac_address", "driver_opts",
                      "priority", "gw_priority", "interface_name")
_REF_ORDER = ("source", "target", "uid", "gid", "mode")
_HOOK_ORDER = ("command", "user", "privileged", "working_dir", "environment")
_WATCH_ORDER = ("path", "action", "target", "exec", "include", "ignore", "initial_sync")

_SERVICE_DURATIONS = ("stop_grace_period",)
_SERVICE_BYTES = ("mem_limit", "mem_reservation", "memswap_limit", "mem_swappiness", "shm_size")
_STRING_LISTS = ("dns", "dns_search", "dns_opt", "tmpfs", "cap_add", "cap_drop", "security_opt", "group_add",
                 "device_cgroup_rules", "external_links", "links", "volumes_from", "profiles")
_URL_CONTEXT = re.compile(r"^([a-z][a-z0-9+.-]*://|git@|github\.com/)", re.IGNORECASE)


@dataclass
class NormalizeOptions:
    project_name: str
    working_dir: str
    environ: Mapping[str, str] = field(default_factory=dict)
    resolve_paths: bool = True
    normalize: bool = True
    resolve_environment: bool = True  # merge env_file / label_file contents into environment / labels
    consistency: bool = True  # cross-attribute checks compose skips with --no-consistency
    home: str | None = None
    warn: Callable[[str], None] | None = None  # hears of env_file values that refer to unset variables


# ------------------------------------------------------------------------------------------ helpers


def _ordered(data: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """``data`` in ``order``, then unknown keys sorted, with ``x-*`` extensions last (sorted)."""
    rank = _rank(order)
    last = len(order)
    plain = [k for k in data if not str(k).startswith("x-")]
    ext = sorted(k for k in data if str(k).startswith("x-"))
    plain.sort(key=lambda k: (rank.get(k, last), str(k)))
    return {k: data[k] for k in plain + ext if data[k] is not _DROP}


@functools.cache
def _rank(order: tuple[str, ...]) -> dict[str, int]:
    return {k: i for i, k in enumerate(order)}


_DROP = object()


def _sorted_deep(value: Any) -> Any:
    """Extension values: Go marshals map[string]any with sorted keys."""
    if isinstance(value, dict):
        return {k: _sorted_deep(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted_deep(v) for v in value]
    return value


def scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def mapping_of(value: Any, *, allow_null: bool = True) -> dict[str, str | None]:
    """A mapping from a map or a ``KEY=VALUE`` list; values as strings (``None`` for ``KEY`` alone)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): (None if v is None and allow_null else ("" if v is None else scalar_text(v)))
                for k, v in value.items()}
    out: dict[str, str | None] = {}
    for item in value if isinstance(value, list) else [value]:
        key, sep, val = scalar_text(item).partition("=")
        out[key] = val if sep else (None if allow_null else "")
    return out


def _sorted_map(value: dict[str, Any]) -> dict[str, Any]:
    return {k: value[k] for k in sorted(value)}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def shell_split(value: Any) -> list[str] | None:
    """``command``/``entrypoint``: a string is split like a POSIX shell would; a list is kept."""
    if value is None:
        return None
    if isinstance(value, list):
        return [scalar_text(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError as exc:
        raise ConfigError(f"cannot split command {value!r}: {exc}", hint="check the quotes") from None


def _duration(value: Any) -> str:
    return format_duration(parse_duration(value))


def _bytes_text(value: Any) -> str:
    return str(parse_bytes(value))


def _mode_text(value: Any) -> str:
    if isinstance(value, str):
        value = int(value, 8)
    return f"0{int(value):o}" if value else "0"


# ------------------------------------------------------------------------------------------ ports


def parse_port_spec(item: Any) -> list[dict[str, Any]]:
    """Long-form port entries for one ``ports:`` item (a short string/number expands port ranges)."""
    if isinstance(item, dict):
        entry = dict(item)
        entry.setdefault("mode", "ingress")
        entry.setdefault("protocol", "tcp")
        if entry.get("published") is not None:
            entry["published"] = scalar_text(entry["published"])
        if isinstance(entry.get("target"), str) and entry["target"].isdigit():
            entry["target"] = int(entry["target"])
        return [_ordered(entry, _PORT_ORDER)]
    text = scalar_text(item)
    protocol = "tcp"
    if "/" in text:
        text, protocol = text.rsplit("/", 1)
    host_ip = None
    published = None
    # [host_ip:][published:]target, host_ip may be [ipv6]
    if text.startswith("["):
        end = text.index("]")
        host_ip = text[1:end]
        rest = text[end + 2:]
        published, _, container = rest.rpartition(":")
    else:
        parts = text.split(":")
        if len(parts) == 1:
            container = parts[0]
        elif len(parts) == 2:
            published, container = parts
        elif len(parts) == 3:
            host_ip, published, container = parts
        else:
            # Bare IPv6 host address: everything but the last two fields.
            host_ip = ":".join(parts[:-2])
            published, container = parts[-2], parts[-1]
    targets = _port_range(container, text)
    if published:
        published_range = _port_range(published, text)
        if len(published_range) == len(targets):
            pubs: list[str | None] = [str(p) for p in published_range]
        elif len(targets) == 1:
            pubs = [published]  # "8000-8010:80": one container port, a range of host ports to pick from
        else:
            raise ConfigError(f'invalid port range "{text}": host and container ranges differ in size')
    else:
        pubs = [None] * len(targets)
    out = []
    for target, pub in zip(targets, pubs, strict=True):
        entry = {"mode": "ingress"}
        if host_ip:
            entry["host_ip"] = host_ip
        entry["target"] = target
        if pub is not None:
            entry["published"] = pub
        entry["protocol"] = protocol
        out.append(entry)
    return out


def _port_range(text: str, spec: str) -> list[int]:
    start, sep, end = text.partition("-")
    try:
        first = int(start)
        last = int(end) if sep else first
    except ValueError:
        raise ConfigError(f'invalid port "{spec}"', hint='use "[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]"') from None
    if not (0 <= first <= 65535 and 0 <= last <= 65535) or last < first:
        raise ConfigError(f'invalid port "{spec}": ports are numbers from 0 to 65535')
    return list(range(first, last + 1))


# ------------------------------------------------------------------------------------------ volumes


def _is_windows_drive(text: str) -> bool:
    return len(text) >= 2 and text[1] == ":" and text[0].isalpha()


def parse_volume_spec(text: str) -> dict[str, Any]:
    """Long form of a short volume ``[SOURCE:]TARGET[:MODE]``."""
    parts = text.split(":")
    # Keep a Windows drive letter with its path ("C:\\x:/y").
    if len(parts) > 1 and _is_windows_drive(text):
        parts = [parts[0] + ":" + parts[1]] + parts[2:]
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0], "volume": {}}
    if len(parts) > 3:
        raise ConfigError(f'invalid volume specification "{text}"', hint="use SOURCE:TARGET[:MODE]")
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    if not source:
        raise ConfigError(f'invalid volume specification "{text}": empty source')
    is_path = source.startswith((".", "/", "~", "\\")) or _is_windows_drive(source)
    entry: dict[str, Any] = {"type": "bind" if is_path else "volume", "source": source, "target": target}
    options = [o for o in mode.split(",") if o]
    if "ro" in options:
        entry["read_only"] = True
    if entry["type"] == "bind":
        bind: dict[str, Any] = {}
        for opt in options:
            if opt in ("shared", "rshared", "slave", "rslave", "private", "rprivate"):
                bind["propagation"] = opt
            elif opt in ("z", "Z"):
                bind["selinux"] = opt
        bind["create_host_path"] = True
        entry["bind"] = bind
    else:
        vol: dict[str, Any] = {}
        if "nocopy" in options:
            vol["nocopy"] = True
        entry["volume"] = vol
    for opt in options:
        if opt in ("cached", "delegated", "consistent"):
            entry["consistency"] = opt
    return entry


# ------------------------------------------------------------------------------------------ the normalizer


class Normalizer:
    def __init__(self, options: NormalizeOptions, sources: SourceMap | None = None,
                 read_env_file: Callable[..., dict[str, str]] | None = None) -> None:
        self.o = options
        self.sources = sources or SourceMap()
        self.home = options.home or os.path.expanduser("~")
        self._read_env_file = read_env_file

    # paths ------------------------------------------------------------------------------------------

    def path(self, value: str, base: str | None = None) -> str:
        """A host path resolved against ``base`` (the working dir by default), ``~`` expanded."""
        if value.startswith("~"):
            value = self.home + value[1:] if value == "~" or value.startswith("~/") else value
        if not self.o.resolve_paths:
            return value
        if os.path.isabs(value) or _is_windows_drive(value):
            return value
        return os.path.normpath(os.path.join(base or self.o.working_dir, value))

    def error(self, message: str, path: KeyPath, hint: str | None = None) -> ConfigError:
        loc = self.sources.get(path)
        return ConfigError(message, location=loc or Location(path=".".join(map(str, path))), hint=hint)

    # document ---------------------------------------------------------------------------------------

    def document(self, doc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.o.project_name}
        services = doc.get("services") or {}
        out["services"] = {name: self.service(name, services[name] or {}) for name in sorted(services)}
        for kind, fn in (("networks", self.network), ("volumes", self.volume), ("secrets", self.file_object),
                         ("configs", self.file_object)):
            section = doc.get(kind) or {}
            if section:
                out[kind] = {k: fn(k, section[k] or {}, kind) for k in sorted(section)}
        if doc.get("models"):
            out["models"] = _sorted_deep(doc["models"])
        if self.o.normalize:
            self._derive(out)
        for key in sorted(k for k in doc if str(k).startswith("x-")):
            out[key] = _sorted_deep(doc[key])
        return _ordered(out, TOP_LEVEL_ORDER)

    def _derive(self, out: dict[str, Any]) -> None:
        """compose's normalization: default network, implied depends_on, real resource names."""
        services = out["services"]
        uses_default = False
        for name, svc in services.items():
            if "network_mode" not in svc and "networks" not in svc:
                svc["networks"] = {"default": None}
            if "default" in (svc.get("networks") or {}):
                uses_default = True
            # (dependency, restart): namespaces and links follow a restarted dependency, volumes_from does not.
            implied: list[tuple[str, bool]] = []
            for key in ("ipc", "cgroup", "uts", "pid", "network_mode"):
                mode = svc.get(key)
                if isinstance(mode, str) and mode.startswith("service:"):
                    implied.append((mode[len("service:"):], True))
            for source in svc.get("volumes_from", []):
                if not source.startswith("container:"):
                    implied.append((source.split(":", 1)[0], False))
            for link in svc.get("links", []):
                implied.append((link.split(":", 1)[0], True))
            if svc.get("pull_policy") == "if_not_present":
                svc["pull_policy"] = "missing"  # the legacy spelling, as compose-go normalizes it
            build = svc.get("build")
            if isinstance(build, dict) and not build.get("dockerfile") and not build.get("dockerfile_inline"):
                # compose-go's normalization names the default Dockerfile explicitly.
                svc["build"] = _ordered({**build, "dockerfile": "Dockerfile"}, _BUILD_ORDER)
            if implied:
                deps = dict(svc.get("depends_on") or {})
                for dep, restart in implied:
                    if dep not in deps:
                        deps[dep] = {"condition": "service_started", **({"restart": True} if restart else {}),
                                     "required": True}
                svc["depends_on"] = _sorted_map(deps)
            services[name] = _ordered(svc, SERVICE_KEY_ORDER)
        if uses_default:
            networks = out.setdefault("networks", {})
            if "default" not in networks:
                networks["default"] = {}
            out["networks"] = _sorted_map(networks)
        for kind in ("networks", "volumes", "secrets", "configs"):
            for key, obj in (out.get(kind) or {}).items():
                if "name" not in obj:
                    obj_name = key if obj.get("external") else f"{self.o.project_name}_{key}"
                    out[kind][key] = {"name": obj_name, **obj}

    # top-level resources ----------------------------------------------------------------------------

    def _external(self, obj: dict[str, Any], kind: str, key: str) -> dict[str, Any]:
        ext = obj.get("external")
        where = (kind, key)
        if isinstance(ext, dict):
            # Legacy `external: {name: x}`: the name moves up.
            obj = dict(obj)
            if ext.get("name"):
                if obj.get("name") and obj["name"] != ext["name"]:
                    raise self.error(f"{kind}.{key}: name and external.name conflict; only use name", where,
                                     hint="remove `external.name` and keep `name`")
                obj.setdefault("name", ext["name"])
            obj["external"] = True
        if obj.get("external") and kind == "volumes":
            for attr in ("driver", "driver_opts", "labels"):
                if obj.get(attr):
                    raise self.error(f'{kind}.{key}: conflicting parameters "external" and "{attr}" specified',
                                     where, hint=f"an external volume is created elsewhere: remove `{attr}`")
        return obj

    def network(self, key: str, obj: dict[str, Any], kind: str = "networks") -> dict[str, Any]:
        obj = self._external(dict(obj), kind, key)
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if k == "driver_opts":
                out[k] = _sorted_map({str(a): scalar_text(b) for a, b in (v or {}).items()})
            elif k == "labels":
                out[k] = _sorted_map({a: (b or "") for a, b in mapping_of(v).items()})
            elif k == "ipam":
                ipam = dict(v or {})
                if "config" in ipam:
                    ipam["config"] = [_ordered({**p, **({"aux_addresses": _sorted_map(p["aux_addresses"])}
                                                      if p.get("aux_addresses") else {})}, _IPAM_POOL_ORDER)
                                      for p in ipam.get("config") or []]
                if "options" in ipam:
                    ipam["options"] = _sorted_map({a: scalar_text(b) for a, b in (ipam["options"] or {}).items()})
                out[k] = _ordered(ipam, ("driver", "config", "options"))
            elif k.startswith("x-"):
                out[k] = _sorted_deep(v)
            elif v is False and k in ("external", "internal", "attachable"):
                continue
            else:
                out[k] = v
        return _ordered(out, _NETWORK_ORDER)

    def volume(self, key: str, obj: dict[str, Any], kind: str = "volumes") -> dict[str, Any]:
        obj = self._external(dict(obj), kind, key)
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if k == "driver_opts":
                out[k] = _sorted_map({str(a): scalar_text(b) for a, b in (v or {}).items()})
            elif k == "labels":
                out[k] = _sorted_map({a: (b or "") for a, b in mapping_of(v).items()})
            elif k.startswith("x-"):
                out[k] = _sorted_deep(v)
            elif v is False and k == "external":
                continue
            else:
                out[k] = v
        return _ordered(out, _VOLUME_TOP_ORDER)

    def file_object(self, key: str, obj: dict[str, Any], kind: str) -> dict[str, Any]:
        obj = self._external(dict(obj), kind, key)
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if k == "file" and isinstance(v, str):
                out[k] = self.path(v)
            elif k == "labels":
                out[k] = _sorted_map({a: (b or "") for a, b in mapping_of(v).items()})
            elif k == "driver_opts":
                out[k] = _sorted_map({str(a): scalar_text(b) for a, b in (v or {}).items()})
            elif k.startswith("x-"):
                out[k] = _sorted_deep(v)
            elif v is False and k == "external":
                continue
            else:
                out[k] = v
        return _ordered(out, _FILE_OBJECT_ORDER)

    # services ---------------------------------------------------------------------------------------

    def service(self, name: str, svc: dict[str, Any]) -> dict[str, Any]:
        path: KeyPath = ("services", name)
        if self.o.consistency and svc.get("network_mode") and svc.get("networks"):
            raise self.error(f"service {name} declares mutually exclusive `network_mode` and `networks`",
                             path + ("network_mode",), hint="keep one of the two")
        replicas = (svc.get("deploy") or {}).get("replicas") if isinstance(svc.get("deploy"), dict) else None
        if svc.get("scale") is not None and replicas is not None and svc["scale"] != replicas:
            raise self.error(f"service {name}: can't set distinct values on 'scale' and 'deploy.replicas'",
                             path + ("scale",), hint="keep one of the two, or make them equal")
        out: dict[str, Any] = {}
        for key, value in svc.items():
            try:
                result = self.attribute(name, key, value, svc)
            except (ConfigError, ValueError, TypeError, KeyError, AttributeError) as exc:
                if _has_variable(value):
                    result = value  # `config --no-interpolate`: a `${VAR}` cannot be normalized, keep it as is
                elif isinstance(exc, ConfigError):
                    if exc.location is None:
                        exc.location = self.sources.get(path + (key,))
                    raise
                else:
                    raise ConfigError(f"invalid value for services.{name}.{key}: {_describe(exc)}",
                                      location=self.sources.get(path + (key,)),
                                      hint="check this attribute against the compose specification") from None
            if result is not _DROP:
                out[key] = result
        if "build" in out and "context" not in out["build"]:
            out["build"] = _ordered({"context": self.path("."), **out["build"]}, _BUILD_ORDER)
        if self.o.resolve_environment:
            self._resolve_files(name, svc, out)
        out.pop("extends", None)
        return _ordered(out, SERVICE_KEY_ORDER)

    def _resolve_files(self, name: str, raw: dict[str, Any], out: dict[str, Any]) -> None:
        """Merge env_file into environment and label_file into labels (explicit values win)."""
        from compose.dotenv import read_env_file

        if out.get("env_file"):
            values: dict[str, str | None] = {}
            for entry in out["env_file"]:
                path = os.path.join(self.o.working_dir, os.path.expanduser(entry["path"]))
                if not os.path.exists(path):
                    from compose.loadcache import record_read

                    record_read(path, None)
                    if entry.get("required", True):
                        raise self.error(f"env file {path} not found", ("services", name, "env_file"),
                                         hint="create it, fix the path, or set `required: false`")
                    continue

                def lookup(key: str, _values: dict[str, str | None] = values) -> str | None:
                    value = self.o.environ.get(key)
                    if value is None:
                        value = (out.get("environment") or {}).get(key)
                    return value

                read = read_env_file(path, lookup, base={k: v for k, v in values.items() if v is not None},
                                     raw=entry.get("format") == "raw", warn=self.o.warn)
                values.update(read)
            environment = dict(values)
            for k, v in (out.get("environment") or {}).items():
                if v is None:
                    # `KEY:` with no value: the shell's value, else the env file's.
                    v = self.o.environ.get(k, values.get(k))
                environment[k] = v
            out["environment"] = environment
        if "environment" in out:
            env = {}
            for k, v in out["environment"].items():
                if v is None and k in self.o.environ:
                    v = self.o.environ[k]
                env[k] = v
            out["environment"] = _sorted_map(env)
        if out.get("label_file"):
            labels: dict[str, Any] = {}
            for path in out["label_file"]:
                labels.update(read_env_file(os.path.join(self.o.working_dir, os.path.expanduser(path)), None))
            labels.update(out.get("labels") or {})
            out["labels"] = _sorted_map(labels)

    def attribute(self, service: str, key: str, value: Any, svc: dict[str, Any]) -> Any:  # noqa: C901
        if value is None and key not in ("environment", "networks", "depends_on"):
            return _DROP
        if key.startswith("x-"):
            return _sorted_deep(value)
        if key in ("command", "entrypoint"):
            return shell_split(value)
        if key in ("environment", "labels", "annotations", "sysctls", "storage_opt"):
            allow_null = key == "environment"
            mapping = mapping_of(value, allow_null=allow_null)
            if key == "labels" or key == "annotations":
                mapping = {k: (v if v is not None else "") for k, v in mapping.items()}
            return _sorted_map(mapping)
        if key in _STRING_LISTS:
            return [scalar_text(v) for v in _as_list(value)]
        if key == "expose":
            return [scalar_text(v) for v in _as_list(value)]
        if key == "extra_hosts":
            return self.extra_hosts(value)
        if key == "ports":
            ports: list[dict[str, Any]] = []
            for item in _as_list(value):
                ports.extend(parse_port_spec(item))
            return _unique(ports, lambda p: (p.get("host_ip"), p.get("target"), p.get("published"),
                                             p.get("protocol")))
        if key == "volumes":
            vols = [self.service_volume(v) for v in _as_list(value)]
            return _unique(vols, lambda v: v.get("target"))
        if key in ("secrets", "configs"):
            refs = [self.file_ref(v) for v in _as_list(value)]
            return refs
        if key == "depends_on":
            return self.depends_on(value)
        if key == "networks":
            return self.service_networks(value)
        if key == "healthcheck":
            return self.healthcheck(value)
        if key == "build":
            return self.build(value)
        if key == "deploy":
            return self.deploy(value)
        if key in _SERVICE_DURATIONS:
            return _duration(value)
        if key in _SERVICE_BYTES:
            return _bytes_text(value)
        if key == "env_file":
            return [self.env_file_entry(v) for v in _as_list(value)]
        if key == "label_file":
            return [self.path(str(v)) for v in _as_list(value)]
        if key == "devices":
            return [self.device(v) for v in _as_list(value)]
        if key == "ulimits":
            return {k: (v if not isinstance(v, dict) else _ordered(v, ("soft", "hard")))
                    for k, v in sorted(value.items())}
        if key == "logging":
            out = dict(value)
            if "options" in out and out["options"] is not None:
                out["options"] = _sorted_map({k: (None if v is None else scalar_text(v))
                                              for k, v in out["options"].items()})
            return _ordered(out, ("driver", "options"))
        if key in ("post_start", "pre_stop"):
            return [self.hook(h) for h in _as_list(value)]
        if key == "develop":
            return self.develop(value)
        if key == "blkio_config":
            out = dict(value)
            for k in ("device_read_bps", "device_write_bps"):
                if k in out:
                    out[k] = [{"path": d["path"], "rate": str(parse_bytes(d["rate"]))} for d in out[k]]
            return _ordered(out, ("weight", "weight_device", "device_read_bps", "device_read_iops",
                                  "device_write_bps", "device_write_iops"))
        if key == "cpus":
            return float(value)
        if key in ("user", "hostname", "domainname", "container_name", "image", "working_dir", "platform",
                   "cpuset", "mac_address", "stop_signal", "restart", "pull_policy", "network_mode", "ipc",
                   "pid", "uts", "cgroup", "cgroup_parent", "userns_mode", "runtime", "isolation"):
            return scalar_text(value)
        if key == "extends":
            return value
        if key == "models":
            return _sorted_map({str(m): None for m in value}) if isinstance(value, list) else _sorted_deep(value)
        if key == "gpus":
            return [self.device_request(d) for d in value] if isinstance(value, list) \
                else [{"count": -1}] if value == "all" else value
        return value

    def extra_hosts(self, value: Any) -> list[str]:
        out: list[str] = []
        if isinstance(value, dict):
            for host, ips in value.items():
                for ip in _as_list(ips):
                    out.append(f"{host}={ip}")
            return out
        for item in _as_list(value):
            text = str(item)
            if "=" in text:
                out.append(text)
            else:
                host, _, ip = text.partition(":")
                out.append(f"{host}={ip}")
        return out

    def service_volume(self, item: Any) -> dict[str, Any]:
        if isinstance(item, str):
            entry = parse_volume_spec(item)
            if entry["type"] == "bind" and entry.get("bind", {}).get("create_host_path") is True:
                # compose-go >= 2.10 omits the default (true) and prints only `create_host_path: false`.
                entry["bind"] = {k: v for k, v in entry["bind"].items() if k != "create_host_path"}
        else:
            entry = dict(item)
            if entry.get("type") is None:
                entry["type"] = "volume"
            for opt in ("bind", "volume", "tmpfs", "image"):
                if isinstance(entry.get(opt), dict):
                    sub = dict(entry[opt])
                    if opt == "bind" and sub.get("create_host_path") is True:
                        del sub["create_host_path"]
                    if opt == "tmpfs":
                        if "size" in sub:
                            sub["size"] = _bytes_text(sub["size"])
                        if "mode" in sub and isinstance(sub["mode"], int):
                            sub["mode"] = sub["mode"]
                    entry[opt] = sub
        if entry["type"] == "bind" and not entry.get("source"):
            raise ConfigError('invalid mount config for type "bind": field Source must not be empty',
                              hint="set `source:` to the host path to mount")
        if entry["type"] == "bind" and isinstance(entry.get("source"), str):
            entry["source"] = self.path(entry["source"])
        elif entry["type"] == "volume" and isinstance(entry.get("source"), str) and entry["source"].startswith("~"):
            entry["source"] = self.path(entry["source"])
        return _ordered(entry, _VOLUME_ORDER)

    def file_ref(self, item: Any) -> dict[str, Any]:
        if isinstance(item, str):
            return {"source": item}
        out = dict(item)
        for k in ("uid", "gid"):
            if k in out and out[k] is not None:
                out[k] = scalar_text(out[k])
        if out.get("mode") is not None:
            out["mode"] = _mode_text(out["mode"])
        return _ordered(out, _REF_ORDER)

    def depends_on(self, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if isinstance(value, list):
            for dep in value:
                out[str(dep)] = {"condition": "service_started", "required": True}
        else:
            for dep, spec in (value or {}).items():
                spec = dict(spec or {})
                entry: dict[str, Any] = {"condition": spec.get("condition", "service_started")}
                if spec.get("restart"):
                    entry["restart"] = True
                entry["required"] = spec.get("required", True)
                out[str(dep)] = entry
        return _sorted_map(out)

    def service_networks(self, value: Any) -> dict[str, Any]:
        if isinstance(value, list):
            return _sorted_map({str(n): None for n in value})
        out: dict[str, Any] = {}
        for net, spec in (value or {}).items():
            if spec is None:
                out[net] = None
                continue
            spec = dict(spec)
            if "aliases" in spec:
                spec["aliases"] = [scalar_text(a) for a in spec["aliases"] or []]
            if "driver_opts" in spec:
                spec["driver_opts"] = _sorted_map({k: scalar_text(v) for k, v in spec["driver_opts"].items()})
            out[net] = _ordered(spec, _SERVICE_NET_ORDER)
        return _sorted_map(out)

    def healthcheck(self, value: dict[str, Any]) -> dict[str, Any]:
        out = dict(value)
        test = out.get("test")
        if isinstance(test, str):
            out["test"] = ["CMD-SHELL", test]
        elif isinstance(test, list):
            out["test"] = [scalar_text(t) for t in test]
        for k in ("interval", "timeout", "start_period", "start_interval"):
            if out.get(k) is not None:
                out[k] = _duration(out[k])
        return _ordered(out, _HEALTH_ORDER)

    def build(self, value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            value = {"context": value}
        out = dict(value)
        context = out.get("context")
        if isinstance(context, str) and not _URL_CONTEXT.match(context):
            out["context"] = self.path(context)
        if "args" in out:
            # A bare `ARG` takes the variable's value; unset, it is left out (compose-go's resolution).
            args = {k: (self.o.environ.get(k) if v is None else v) for k, v in mapping_of(out["args"]).items()}
            out["args"] = _sorted_map({k: v for k, v in args.items() if v is not None})
        if "labels" in out:
            out["labels"] = _sorted_map({k: v or "" for k, v in mapping_of(out["labels"]).items()})
        if "additional_contexts" in out:
            contexts = mapping_of(out["additional_contexts"])
            out["additional_contexts"] = {
                k: (self.path(v) if v and not _URL_CONTEXT.match(v) and not v.startswith("docker-image:")
                    and not v.startswith("target:") else v) for k, v in contexts.items()}
        if "extra_hosts" in out:
            out["extra_hosts"] = self.extra_hosts(out["extra_hosts"])
        if "secrets" in out:
            out["secrets"] = [self.file_ref(s) for s in _as_list(out["secrets"])]
        if "shm_size" in out:
            out["shm_size"] = _bytes_text(out["shm_size"])
        if "ssh" in out:
            out["ssh"] = [f"{k}={v}" if v else k for k, v in mapping_of(out["ssh"]).items()] \
                if isinstance(out["ssh"], dict) else [str(s) for s in _as_list(out["ssh"])]
        for k in ("cache_from", "cache_to", "tags", "platforms", "entitlements"):
            if k in out:
                out[k] = [scalar_text(v) for v in _as_list(out[k])]
        return _ordered(out, _BUILD_ORDER)

    def deploy(self, value: dict[str, Any]) -> dict[str, Any]:
        out = dict(value)
        if "labels" in out:
            out["labels"] = _sorted_map({k: v or "" for k, v in mapping_of(out["labels"]).items()})
        for k in ("update_config", "rollback_config"):
            if isinstance(out.get(k), dict):
                cfg = dict(out[k])
                for d in ("delay", "monitor"):
                    if cfg.get(d) is not None:
                        cfg[d] = _duration(cfg[d])
                out[k] = _ordered(cfg, _UPDATE_ORDER)
        if isinstance(out.get("resources"), dict):
            res = dict(out["resources"])
            for k in ("limits", "reservations"):
                if isinstance(res.get(k), dict):
                    r = dict(res[k])
                    if isinstance(r.get("devices"), list):
                        r["devices"] = [self.device_request(d) for d in r["devices"]]
                    if r.get("cpus") is not None:
                        r["cpus"] = float(r["cpus"])
                    if r.get("memory") is not None:
                        r["memory"] = _bytes_text(r["memory"])
                    res[k] = _ordered(r, _RESOURCE_ORDER)
            out["resources"] = _ordered(res, ("limits", "reservations"))
        if isinstance(out.get("restart_policy"), dict):
            rp = dict(out["restart_policy"])
            for d in ("delay", "window"):
                if rp.get(d) is not None:
                    rp[d] = _duration(rp[d])
            out["restart_policy"] = _ordered(rp, _RESTART_ORDER)
        if isinstance(out.get("placement"), dict):
            out["placement"] = _ordered(dict(out["placement"]), _PLACEMENT_ORDER)
        return _ordered(out, _DEPLOY_ORDER)

    def device_request(self, item: Any) -> Any:
        """A GPU/device reservation: ``count`` is a number or "all" (= -1), exclusive with ``device_ids``."""
        if not isinstance(item, dict):
            return item
        out = dict(item)
        count = out.get("count")
        if isinstance(count, str):
            if count == "all":
                out["count"] = -1
            else:
                try:
                    out["count"] = int(count)
                except ValueError:
                    raise ConfigError(f'invalid value "{count}", the only value allowed is \'all\' or a number',
                                      hint="write `count: all` or a number") from None
        if out.get("count") is not None and out.get("device_ids"):
            raise ConfigError('"count" and "device_ids" attributes are exclusive', hint="keep one of the two")
        return out

    def env_file_entry(self, item: Any) -> dict[str, Any]:
        if isinstance(item, str):
            return {"path": self.path(item)}
        out: dict[str, Any] = {"path": self.path(str(item["path"]))}
        if item.get("required") is False:
            out["required"] = False
        if item.get("format"):
            out["format"] = item["format"]
        return out

    def device(self, item: Any) -> dict[str, Any]:
        if isinstance(item, dict):
            return _ordered({"permissions": "rwm", **item}, ("source", "target", "permissions"))
        parts = str(item).split(":")
        source = parts[0]
        target = parts[1] if len(parts) > 1 else source
        perms = parts[2] if len(parts) > 2 else "rwm"
        return {"source": source, "target": target, "permissions": perms}

    def hook(self, item: dict[str, Any]) -> dict[str, Any]:
        out = dict(item)
        out["command"] = shell_split(out.get("command"))
        if "environment" in out:
            out["environment"] = _sorted_map(mapping_of(out["environment"]))
        return _ordered(out, _HOOK_ORDER)

    def develop(self, value: dict[str, Any]) -> dict[str, Any]:
        out = dict(value)
        rules = []
        for rule in out.get("watch") or []:
            rule = dict(rule)
            if isinstance(rule.get("path"), str):
                rule["path"] = self.path(rule["path"])
            for k in ("ignore", "include"):
                if k in rule:
                    rule[k] = [str(v) for v in _as_list(rule[k])]
            if isinstance(rule.get("exec"), dict):
                rule["exec"] = self.hook(rule["exec"])
            rules.append(_ordered(rule, _WATCH_ORDER))
        if "watch" in out:
            out["watch"] = rules
        return out


def _has_variable(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value or "$" in value.replace("$$", "")
    if isinstance(value, dict):
        return any(_has_variable(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_variable(v) for v in value)
    return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing key `{exc.args[0]}`"
    return str(exc)


def _unique(items: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any]) -> list[dict[str, Any]]:
    """Later entries with the same identity replace earlier ones in place (compose's unicity rule)."""
    positions: dict[Any, int] = {}
    out: list[dict[str, Any]] = []
    for item in items:
        k = key(item)
        if k in positions:
            out[positions[k]] = item
        else:
            positions[k] = len(out)
            out.append(item)
    return out


def canonicalize(document: dict[str, Any], options: NormalizeOptions,
                 sources: SourceMap | None = None) -> dict[str, Any]:
    """The canonical document (see the module docstring)."""
    return Normalizer(options, sources).document(document)
