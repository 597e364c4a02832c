from __future__ import annotations

import pytest

from compose.errors import ConfigError
from compose.normalize import NormalizeOptions, canonicalize, parse_port_spec, parse_volume_spec
from compose.units import format_duration, parse_bytes, parse_duration


@pytest.mark.parametrize("spec,expected", [
    (3000, [(None, 3000, None, "tcp")]),
    ("8000:8000", [(None, 8000, "8000", "tcp")]),
    ("127.0.0.1:5000-5001:5000-5001/udp", [("127.0.0.1", 5000, "5000", "udp"), ("127.0.0.1", 5001, "5001", "udp")]),
    ("[::1]:80:80", [("::1", 80, "80", "tcp")]),
    ("8000-8010:80", [(None, 80, "8000-8010", "tcp")]),
])
def test_port_specs(spec: object, expected: list) -> None:
    assert [(p.get("host_ip"), p["target"], p.get("published"), p["protocol"]) for p in parse_port_spec(spec)] \
        == expected


@pytest.mark.parametrize("spec", ["abc", "70000", "1-2:3-5"])
def test_bad_ports(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_port_spec(spec)


@pytest.mark.parametrize("spec,expected", [
    ("/data", {"type": "volume", "target": "/data", "volume": {}}),
    ("db:/var/lib/db:ro", {"type": "volume", "source": "db", "target": "/var/lib/db", "read_only": True,
                           "volume": {}}),
    ("./src:/src:rw,z", {"type": "bind", "source": "./src", "target": "/src",
                         "bind": {"selinux": "z", "create_host_path": True}}),
])
def test_volume_specs(spec: str, expected: dict) -> None:
    assert parse_volume_spec(spec) == expected


def test_durations_and_sizes() -> None:
    assert [format_duration(parse_duration(d)) for d in ("60s", "1m30s", "1.5s", "500ms", "2h")] == [
        "1m0s", "1m30s", "1.5s", "500ms", "2h0m0s"]
    assert parse_bytes("50M") == 52428800 and parse_bytes("1gb") == 1 << 30 and parse_bytes(512) == 512
    with pytest.raises(ConfigError):
        parse_duration("10 parsecs")


def _canon(doc: dict, **kw: object) -> dict:
    return canonicalize(doc, NormalizeOptions(project_name="p", working_dir="/w", environ={}, **kw))


def test_normalization_adds_default_network_names_and_implied_dependencies() -> None:
    out = _canon({"services": {"a": {"image": "x", "links": ["b:bee"]}, "b": {"image": "y"}},
                  "volumes": {"v": None}, "networks": {"ext": {"external": True}}})
    assert out["services"]["a"]["networks"] == {"default": None}
    assert out["services"]["a"]["depends_on"] == {
        "b": {"condition": "service_started", "restart": True, "required": True}}
    assert out["networks"]["default"] == {"name": "p_default"}
    assert out["networks"]["ext"] == {"name": "ext", "external": True}
    assert out["volumes"]["v"] == {"name": "p_v"}


def test_paths_resolved_or_not() -> None:
    doc = {"services": {"a": {"build": ".", "volumes": ["./x:/x"]}}}
    assert _canon(doc)["services"]["a"]["build"]["context"] == "/w"
    out = _canon(doc, resolve_paths=False)["services"]["a"]
    assert out["build"]["context"] == "." and out["volumes"][0]["source"] == "./x"


def test_external_conflicts() -> None:
    with pytest.raises(ConfigError, match='conflicting parameters "external" and "driver"'):
        _canon({"services": {}, "volumes": {"v": {"external": True, "driver": "foo"}}})
    with pytest.raises(ConfigError, match="name and external.name conflict"):
        _canon({"services": {}, "networks": {"n": {"name": "a", "external": {"name": "b"}}}})


@pytest.mark.parametrize("service", [
    {"ports": [{}]}, {"configs": [{}]}, {"build": {"secrets": [{}]}}, {"devices": [{"source": "x"}]},
    {"blkio_config": {"device_read_bps": [{}]}}, {"cpu_percent": "x"}, {"cpus": "x"},
    {"build": {"secrets": [{"source": "s", "mode": "x"}]}}, {"volumes": [{"source": "x"}]},
    {"deploy": {"resources": {"reservations": {"generic_resources": [{}]}}}},
])
def test_odd_values_are_config_errors_not_crashes(service: dict) -> None:
    from compose.model import project_from_document

    with pytest.raises(ConfigError):
        project_from_document(_canon({"services": {"a": {"image": "x", **service}}}), working_dir="/w")


def test_uninterpolated_values_are_kept_as_written() -> None:
    out = _canon({"services": {"a": {"ports": ["${P}:80"], "cpus": "${C}", "stop_grace_period": "${T}"}}})
    assert out["services"]["a"]["ports"] == ["${P}:80"]
    assert out["services"]["a"]["cpus"] == "${C}" and out["services"]["a"]["stop_grace_period"] == "${T}"


def test_normalization_details_from_compose_go() -> None:
    out = canonicalize({"services": {"a": {"build": {"context": ".", "args": ["SET", "UNSET", "X=1"]},
                                           "pull_policy": "if_not_present"}}},
                       NormalizeOptions(project_name="p", working_dir="/w", environ={"SET": "v"}))
    build = out["services"]["a"]["build"]
    assert build["dockerfile"] == "Dockerfile"
    assert build["args"] == {"SET": "v", "X": "1"}
    assert out["services"]["a"]["pull_policy"] == "missing"


def test_scale_and_replicas_must_agree() -> None:
    assert _canon({"services": {"a": {"scale": 2, "deploy": {"replicas": 2}}}})["services"]["a"]["scale"] == 2
    with pytest.raises(ConfigError, match="distinct values on 'scale' and 'deploy.replicas'"):
        _canon({"services": {"a": {"scale": 2, "deploy": {"replicas": 3}}}})
