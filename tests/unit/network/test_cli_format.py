from __future__ import annotations

import argparse

import pytest

from compose.cli.commands.network import add_arguments, create_spec, render_field
from runtime.errors import InvalidSpec

DOC = {"Name": "n", "Internal": True, "IPAM": {"Config": [{"Subnet": "10.0.0.0/24"}]}}


def test_render_field_paths_and_json() -> None:
    assert render_field("{{.Name}}", DOC) == "n"
    assert render_field("{{ .Internal }}", DOC) == "true"
    assert render_field("{{json .IPAM.Config}}", DOC) == '[{"Subnet": "10.0.0.0/24"}]'
    with pytest.raises(InvalidSpec, match="no field"):
        render_field("{{.Nope}}", DOC)
    with pytest.raises(InvalidSpec, match="unsupported"):
        render_field("{{range .Containers}}{{end}}", DOC)


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_create_flags_become_a_spec() -> None:
    spec = create_spec(_parse("create", "--subnet", "10.1.0.0/16", "--gateway", "10.1.0.254", "--ip-range",
                              "10.1.5.0/24", "--aux-address", "r=10.1.0.9", "--internal", "--label", "a=b",
                              "-o", "mtu=1400", "mynet"))
    assert spec.name == "mynet" and spec.internal and spec.labels == {"a": "b"}
    assert spec.options == {"mtu": "1400"}
    cfg = spec.ipam[0]
    assert (cfg.subnet, cfg.gateway, cfg.ip_range, cfg.aux_addresses) == ("10.1.0.0/16", "10.1.0.254",
                                                                          "10.1.5.0/24", {"r": "10.1.0.9"})


def test_create_flag_errors() -> None:
    with pytest.raises(InvalidSpec, match="only one --subnet"):
        create_spec(_parse("create", "--subnet", "10.1.0.0/24", "--subnet", "10.2.0.0/24", "x"))
    with pytest.raises(InvalidSpec, match="IPv6"):
        create_spec(_parse("create", "--ipv6", "x"))
