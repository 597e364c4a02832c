"""Build schemas/compose-spec.json, hoist's own JSON schema of the compose file format.

Written from the compose documentation, key by key. The JSON is generated so that the shared shapes (a value
that may still be a ``${VAR}`` string, a list-or-mapping, an object that allows ``x-`` extensions) are written
once here instead of hundreds of times by hand. Run ``.venv/bin/python -m schemas.generate`` after editing;
tests/unit/compose/test_schema_file.py fails when the JSON is stale.

Where compose-go's copy of the schema (the one docker compose validates with) accepts more than the compose-spec
one, hoist follows docker compose: service ``pre_start``, ``build.no_cache_filter``, ``models: {name: null}``.

Conventions:
- numbers and booleans also accept strings, because validation may run before interpolation (``--no-interpolate``)
  and compose accepts ``"3"`` where it wants 3; the normalizer converts and checks them.
- every object with fixed keys rejects unknown keys except ``x-*`` extensions.
- ``format`` annotations (duration, ports, expose, bytes, volume, and boolean/integer/number on strings) are only checked when compose/schema.py passes its
  format checker: they catch values that docker compose rejects after its schema, while decoding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent / "compose-spec.json"
NAME_KEY = "^[a-zA-Z0-9._-]+$"
EXTENSION_KEY = "^x-"

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
STRINGS: Schema = {"type": "array", "items": STRING}
UNIQUE_STRINGS: Schema = {"type": "array", "items": STRING, "uniqueItems": True}
BOOL: Schema = {"type": ["boolean", "string"], "format": "boolean"}
INT: Schema = {"type": ["integer", "string"], "format": "integer"}
NUMBER: Schema = {"type": ["number", "string"], "format": "number"}
# File modes (0440, "0o440") and device counts ("all") are numbers written in ways of their own.
FILE_MODE: Schema = {"type": ["number", "string"]}
COUNT: Schema = {"type": ["integer", "string"]}
DURATION: Schema = {"type": "string", "format": "duration"}
BYTES: Schema = {"type": ["integer", "string"], "format": "bytes"}
STRING_OR_STRINGS: Schema = {"type": ["string", "array"], "items": STRING}
UNIQUE_STRING_OR_STRINGS: Schema = {"type": ["string", "array"], "items": STRING, "uniqueItems": True}
NUMBER_BYTES: Schema = {"type": ["number", "string"], "format": "bytes"}
# deploy.resources memory is always written as a size string.
MEMORY: Schema = {"type": "string", "format": "bytes"}
COMMAND: Schema = {"type": ["null", "string", "array"], "items": STRING}


def ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def obj(properties: dict[str, Schema], *, required: list[str] | None = None, extensions: bool = True) -> Schema:
    """An object with exactly these keys, plus ``x-`` extensions unless ``extensions`` is False."""
    out: Schema = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if extensions:
        out["patternProperties"] = {EXTENSION_KEY: {}}
    if required:
        out["required"] = required
    return out


def closed(properties: dict[str, Schema], *, required: list[str] | None = None) -> Schema:
    """An object with exactly these keys and no extensions."""
    return obj(properties, required=required, extensions=False)


def named_map(value: Schema) -> Schema:
    """A mapping from resource names (services, networks, ...) to ``value``."""
    return {"type": "object", "patternProperties": {NAME_KEY: value}, "additionalProperties": False}


def map_of(value: Schema) -> Schema:
    return {"type": "object", "additionalProperties": value}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


# --- shared shapes ---------------------------------------------------------------------------------------

DEFS: dict[str, Schema] = {}

# environment, labels, sysctls, build args...: `KEY=value` strings or a mapping of scalar values.
DEFS["list_or_dict"] = {
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}},
        UNIQUE_STRINGS,
    ]
}
# extra_hosts as a mapping may give several addresses for one host.
DEFS["hosts"] = {
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": ["string", "array"], "items": STRING}},
        UNIQUE_STRINGS,
    ]
}
DEFS["options"] = map_of({"type": ["string", "number"]})
DEFS["external"] = {
    "anyOf": [BOOL, obj({"name": STRING})],
}
# secrets and configs have kept the older, open form of `external: {name: ...}`.
DEFS["external_open"] = {
    "anyOf": [BOOL, {"type": "object", "properties": {"name": STRING}}],
}
# ulimit names are lowercase words (nofile, nproc, memlock...); only those are checked.
DEFS["ulimits"] = {
    "type": "object",
    "patternProperties": {
        "^[a-z]+$": {
            "anyOf": [
                INT,
                obj({"soft": INT, "hard": INT}, required=["soft", "hard"]),
            ]
        }
    },
}

# secrets/configs granted to a service (or to a build): a name, or source/target/owner/mode.
DEFS["file_grants"] = {
    "type": "array",
    "items": {
        "anyOf": [
            STRING,
            obj({"source": STRING, "target": STRING, "uid": STRING, "gid": STRING, "mode": FILE_MODE}),
        ]
    },
}

# post_start / pre_stop hooks: a command run inside the service's container.
DEFS["hook"] = obj({
    "command": COMMAND,
    "user": STRING,
    "privileged": BOOL,
    "working_dir": STRING,
    "environment": ref("list_or_dict"),
}, required=["command"])
# pre_start: an init container (compose-go extension), which may use its own image.
DEFS["init_container"] = obj({
    "image": STRING,
    "command": COMMAND,
    "user": STRING,
    "privileged": BOOL,
    "working_dir": STRING,
    "environment": ref("list_or_dict"),
    "per_replica": BOOL,
})

_DEVICE_REQUEST = {
    "capabilities": UNIQUE_STRINGS,
    "count": COUNT,
    "device_ids": UNIQUE_STRINGS,
    "driver": STRING,
    "options": ref("list_or_dict"),
}
DEFS["device_request"] = obj(_DEVICE_REQUEST, required=["capabilities"])
# gpus entries are passed through to the engine, which may know more keys than these.
DEFS["gpu"] = {"type": "object", "properties": _DEVICE_REQUEST}

# --- build ----------------------------------------------------------------------------------------------

DEFS["build"] = {
    "anyOf": [
        STRING,
        obj({
            "context": STRING,
            "dockerfile": STRING,
            "dockerfile_inline": STRING,
            "entitlements": STRINGS,
            "args": ref("list_or_dict"),
            "ssh": ref("list_or_dict"),
            "labels": ref("list_or_dict"),
            "cache_from": STRINGS,
            "cache_to": STRINGS,
            "no_cache": BOOL,
            # Build stages to rebuild without cache (compose-go's schema, which docker compose uses).
            "no_cache_filter": UNIQUE_STRING_OR_STRINGS,
            "additional_contexts": ref("list_or_dict"),
            "network": STRING,
            "provenance": {"type": ["string", "boolean"]},
            "sbom": {"type": ["string", "boolean"]},
            "pull": BOOL,
            "target": STRING,
            "shm_size": BYTES,
            "extra_hosts": ref("hosts"),
            "isolation": STRING,
            "privileged": BOOL,
            "secrets": ref("file_grants"),
            "tags": STRINGS,
            "ulimits": ref("ulimits"),
            "platforms": STRINGS,
        }),
    ]
}

# --- deploy ---------------------------------------------------------------------------------------------

_ROLLOUT = obj({
    "parallelism": INT,
    "delay": DURATION,
    "failure_action": STRING,
    "monitor": DURATION,
    "max_failure_ratio": NUMBER,
    "order": {"enum": ["start-first", "stop-first"]},
})
DEFS["deploy"] = obj({
    "mode": STRING,
    "endpoint_mode": STRING,
    "replicas": INT,
    "labels": ref("list_or_dict"),
    "rollback_config": _ROLLOUT,
    "update_config": _ROLLOUT,
    "resources": obj({
        "limits": obj({"cpus": NUMBER, "memory": MEMORY, "pids": INT}),
        "reservations": obj({
            "cpus": NUMBER,
            "memory": MEMORY,
            "generic_resources": {
                "type": "array",
                "items": obj({
                    "discrete_resource_spec": obj({"kind": STRING, "value": NUMBER}),
                }),
            },
            "devices": {"type": "array", "items": ref("device_request")},
        }),
    }),
    "restart_policy": obj({
        "condition": STRING,
        "delay": DURATION,
        "max_attempts": INT,
        "window": DURATION,
    }),
    "placement": obj({
        "constraints": STRINGS,
        "preferences": {"type": "array", "items": obj({"spread": STRING})},
        "max_replicas_per_node": INT,
    }),
})

# always/never/missing/build (if_not_present is the older spelling of missing), or a refresh period.
DEFS["pull_policy"] = {
    "anyOf": [
        {"enum": ["always", "never", "if_not_present", "build", "missing"]},
        {"type": "string", "pattern": "^(daily|weekly|every_[0-9]+[smhdw]?)$"},
    ]
}

# --- service pieces -------------------------------------------------------------------------------------

_BLKIO_RATE = {"type": "array", "items": closed({"path": STRING, "rate": BYTES})}

DEFS["depends_on"] = {
    "anyOf": [
        UNIQUE_STRINGS,
        named_map(obj({
            "condition": {"enum": ["service_started", "service_healthy", "service_completed_successfully"]},
            "restart": BOOL,
            "required": {"type": "boolean"},
        }, required=["condition"])),
    ]
}

DEFS["service_networks"] = {
    "anyOf": [
        UNIQUE_STRINGS,
        named_map(nullable(obj({
            "aliases": UNIQUE_STRINGS,
            "interface_name": STRING,
            "ipv4_address": STRING,
            "ipv6_address": STRING,
            "link_local_ips": UNIQUE_STRINGS,
            "mac_address": STRING,
            "driver_opts": ref("options"),
            "priority": {"type": "number"},
            "gw_priority": {"type": "number"},
        }))),
    ]
}

DEFS["port"] = {
    "anyOf": [
        {"type": "number", "format": "ports"},
        {"type": "string", "format": "ports"},
        obj({
            "name": STRING,
            "mode": STRING,
            "host_ip": STRING,
            "target": INT,
            "published": {"type": ["string", "integer"]},
            "protocol": STRING,
            "app_protocol": STRING,
        }),
    ]
}

DEFS["service_volume"] = {
    "anyOf": [
        {"type": "string", "format": "volume"},
        obj({
            "type": {"enum": ["bind", "volume", "tmpfs", "cluster", "npipe", "image"]},
            "source": STRING,
            "target": STRING,
            "read_only": BOOL,
            "consistency": STRING,
            "bind": obj({
                "propagation": STRING,
                "create_host_path": BOOL,
                "recursive": {"enum": ["enabled", "disabled", "writable", "readonly"]},
                "selinux": {"enum": ["z", "Z"]},
            }),
            "volume": obj({"labels": ref("list_or_dict"), "nocopy": BOOL, "subpath": STRING}),
            "tmpfs": obj({
                "size": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "format": "bytes"}]},
                "mode": FILE_MODE,
            }),
            "image": obj({"subpath": STRING}),
        }, required=["type"]),
    ]
}

DEFS["healthcheck"] = obj({
    "disable": BOOL,
    "interval": DURATION,
    "retries": NUMBER,
    "test": {"type": ["string", "array"], "items": STRING},
    "timeout": DURATION,
    "start_period": DURATION,
    "start_interval": DURATION,
})

DEFS["watch_rule"] = obj({
    "path": STRING,
    "action": {"enum": ["rebuild", "sync", "restart", "sync+restart", "sync+exec"]},
    "target": STRING,
    "ignore": UNIQUE_STRING_OR_STRINGS,
    "include": UNIQUE_STRING_OR_STRINGS,
    "exec": ref("hook"),
    "initial_sync": {"type": "boolean"},
}, required=["path", "action"])

DEFS["service"] = obj({
    "annotations": ref("list_or_dict"),
    "attach": BOOL,
    "build": ref("build"),
    "blkio_config": obj({
        "device_read_bps": _BLKIO_RATE,
        "device_read_iops": _BLKIO_RATE,
        "device_write_bps": _BLKIO_RATE,
        "device_write_iops": _BLKIO_RATE,
        "weight": INT,
        "weight_device": {"type": "array", "items": closed({"path": STRING, "weight": INT})},
    }, extensions=False),
    "cap_add": UNIQUE_STRINGS,
    "cap_drop": UNIQUE_STRINGS,
    "cgroup": {"enum": ["host", "private"]},
    "cgroup_parent": STRING,
    "command": COMMAND,
    "configs": ref("file_grants"),
    # Docker's container-name rule: at least two characters, starting with a letter or digit.
    "container_name": {"type": "string", "pattern": "[a-zA-Z0-9][a-zA-Z0-9_.-]+"},
    "cpu_count": {"anyOf": [STRING, {"type": "integer", "minimum": 0}]},
    "cpu_percent": {"anyOf": [STRING, {"type": "integer", "minimum": 0, "maximum": 100}]},
    "cpu_shares": NUMBER,
    "cpu_quota": NUMBER,
    "cpu_period": NUMBER,
    "cpu_rt_period": NUMBER,
    "cpu_rt_runtime": NUMBER,
    "cpus": NUMBER,
    "cpuset": STRING,
    "credential_spec": obj({"config": STRING, "file": STRING, "registry": STRING}),
    "depends_on": ref("depends_on"),
    "deploy": nullable(ref("deploy")),
    "develop": nullable(obj({"watch": {"type": "array", "items": ref("watch_rule")}})),
    "device_cgroup_rules": UNIQUE_STRINGS,
    "devices": {
        "type": "array",
        "items": {"anyOf": [STRING, obj({"source": STRING, "target": STRING, "permissions": STRING},
                                        required=["source"])]},
    },
    "dns": UNIQUE_STRING_OR_STRINGS,
    "dns_opt": UNIQUE_STRINGS,
    "dns_search": UNIQUE_STRING_OR_STRINGS,
    "domainname": STRING,
    "entrypoint": COMMAND,
    "env_file": {
        "anyOf": [
            STRING,
            {"type": "array", "items": {"anyOf": [
                STRING,
                obj({"path": STRING, "format": STRING, "required": BOOL}, required=["path"]),
            ]}},
        ]
    },
    "label_file": STRING_OR_STRINGS,
    "environment": ref("list_or_dict"),
    "expose": {"type": "array", "items": {"type": ["string", "number"], "format": "expose"}, "uniqueItems": True},
    "extends": {"anyOf": [STRING, obj({"service": STRING, "file": STRING}, required=["service"])]},
    "external_links": UNIQUE_STRINGS,
    "extra_hosts": ref("hosts"),
        "gpus": {"anyOf": [{"enum": ["all"]}, {"type": "array", "items": ref("gpu")}]},
    "group_add": {"type": "array", "items": {"type": ["string", "number"]}, "uniqueItems": True},
    "healthcheck": ref("healthcheck"),
    "hostname": STRING,
    "image": STRING,
    "init": BOOL,
    "ipc": STRING,
    "isolation": STRING,
    "labels": ref("list_or_dict"),
    "links": UNIQUE_STRINGS,
    "logging": obj({"driver": STRING, "options": map_of({"type": ["string", "number", "null"]})}),
    "mac_address": STRING,
    "mem_limit": NUMBER_BYTES,
    "mem_reservation": BYTES,
    "mem_swappiness": INT,
    "memswap_limit": NUMBER_BYTES,
    "models": {
        "anyOf": [
            UNIQUE_STRINGS,
            # A model with no options may be written `llm:` (null), as docker compose accepts.
            named_map(nullable(obj({"endpoint_var": STRING, "model_var": STRING}))),
        ]
    },
    "network_mode": STRING,
    "networks": ref("service_networks"),
    "oom_kill_disable": BOOL,
    "oom_score_adj": {"anyOf": [STRING, {"type": "integer", "minimum": -1000, "maximum": 1000}]},
    "pid": {"type": ["string", "null"]},
    "pids_limit": NUMBER,
    "platform": STRING,
    "ports": {"type": "array", "items": ref("port"), "uniqueItems": True},
    "post_start": {"type": "array", "items": ref("hook")},
    "pre_start": {"type": "array", "items": ref("init_container")},
    "pre_stop": {"type": "array", "items": ref("hook")},
    "privileged": BOOL,
    "profiles": UNIQUE_STRINGS,
    "provider": obj({
        "type": STRING,
        "options": map_of({"type": ["string", "number", "boolean", "array"]}),
    }, required=["type"]),
    "pull_policy": ref("pull_policy"),
    "pull_refresh_after": STRING,
    "read_only": BOOL,
    "restart": STRING,
    "runtime": STRING,
    "scale": INT,
    "secrets": ref("file_grants"),
    "security_opt": UNIQUE_STRINGS,
    "shm_size": NUMBER_BYTES,
    "stdin_open": BOOL,
    "stop_grace_period": DURATION,
    "stop_signal": STRING,
    "storage_opt": {"type": "object"},
    "sysctls": ref("list_or_dict"),
    "tmpfs": UNIQUE_STRING_OR_STRINGS,
    "tty": BOOL,
    "ulimits": ref("ulimits"),
    "use_api_socket": {"type": "boolean"},
    "user": STRING,
    "uts": STRING,
    "userns_mode": STRING,
    "volumes": {"type": "array", "items": ref("service_volume"), "uniqueItems": True},
    "volumes_from": UNIQUE_STRINGS,
    "working_dir": STRING,
})

# --- top-level resources --------------------------------------------------------------------------------

DEFS["network"] = nullable(obj({
    "name": STRING,
    "driver": STRING,
    "driver_opts": ref("options"),
    "ipam": obj({
        "driver": STRING,
        "config": {"type": "array", "items": obj({
            "subnet": STRING,
            "ip_range": STRING,
            "gateway": STRING,
            "aux_addresses": map_of(STRING),
        })},
        "options": map_of(STRING),
    }),
    "external": ref("external"),
    "internal": BOOL,
    "enable_ipv4": BOOL,
    "enable_ipv6": BOOL,
    "attachable": BOOL,
    "labels": ref("list_or_dict"),
}))

DEFS["volume"] = nullable(obj({
    "name": STRING,
    "driver": STRING,
    "driver_opts": ref("options"),
    "external": ref("external"),
    "labels": ref("list_or_dict"),
}))

DEFS["secret"] = obj({
    "name": STRING,
    "environment": STRING,
    "file": STRING,
    "external": ref("external_open"),
    "labels": ref("list_or_dict"),
    "driver": STRING,
    "driver_opts": ref("options"),
    "template_driver": STRING,
})

DEFS["config"] = obj({
    "name": STRING,
    "content": STRING,
    "environment": STRING,
    "file": STRING,
    "external": ref("external_open"),
    "labels": ref("list_or_dict"),
    "template_driver": STRING,
})

DEFS["model"] = obj({
    "name": STRING,
    "model": STRING,
    "context_size": {"type": "integer"},
    "runtime_flags": STRINGS,
}, required=["model"])

DEFS["include"] = {
    "anyOf": [
        STRING,
        closed({"path": UNIQUE_STRING_OR_STRINGS, "env_file": UNIQUE_STRING_OR_STRINGS,
                "project_directory": STRING}),
    ]
}


def build_schema() -> Schema:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://hoist.invalid/schemas/compose-spec.json",
        "title": "hoist compose file",
        "description": "Written for hoist from the compose specification documentation.",
        **obj({
            "version": STRING,
            "name": STRING,
            "include": {"type": "array", "items": ref("include")},
            "services": named_map(ref("service")),
            "networks": named_map(ref("network")),
            "volumes": named_map(ref("volume")),
            "secrets": named_map(ref("secret")),
            "configs": named_map(ref("config")),
            "models": named_map(ref("model")),
        }),
        "$defs": DEFS,
    }


def render() -> str:
    return json.dumps(build_schema(), indent=1, sort_keys=False) + "\n"


def main() -> None:
    SCHEMA_PATH.write_text(render())
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()
