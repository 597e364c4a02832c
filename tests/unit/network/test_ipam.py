from __future__ import annotations

import ipaddress

import pytest

from runtime.errors import Conflict, InvalidSpec, NetworkError
from runtime.network import ipam

N = ipaddress.IPv4Network


def test_choose_subnet_skips_taken_and_overlapping() -> None:
    pools = ipam.parse_pools("10.200.0.0/16/24")
    taken = [N("10.200.0.0/24"), N("10.200.1.128/25"), N("10.0.0.0/8").subnets(new_prefix=16).__next__()]
    assert ipam.choose_subnet(pools, taken) == N("10.200.2.0/24")


def test_choose_subnet_default_pools_start_like_docker() -> None:
    assert ipam.choose_subnet(ipam.DEFAULT_POOLS, []) == N("172.17.0.0/16")
    assert ipam.choose_subnet(ipam.DEFAULT_POOLS, [N("172.16.0.0/12")]) == N("192.168.0.0/20")


def test_exhausted_pool_says_how_to_fix() -> None:
    with pytest.raises(NetworkError, match="fully subnetted") as exc:
        ipam.choose_subnet(ipam.parse_pools("10.9.0.0/23/24"), [N("10.9.0.0/23")])
    assert "prune" in (exc.value.hint or "")


@pytest.mark.parametrize("text", ["10.0.0.0", "10.0.0.0/33/24", "10.0.0.0/24/16", "nonsense/8"])
def test_bad_pools_are_rejected(text: str) -> None:
    with pytest.raises(InvalidSpec):
        ipam.parse_pools(text)


def test_plan_network_gateway_defaults_to_first_host_of_range() -> None:
    a = ipam.plan_network(N("10.5.0.0/16"))
    assert str(a.gateway) == "10.5.0.1"
    b = ipam.plan_network(N("10.5.0.0/16"), ip_range="10.5.7.0/24")
    assert str(b.gateway) == "10.5.7.1" and b.ip_range == N("10.5.7.0/24")


@pytest.mark.parametrize("kwargs,match", [
    ({"gateway": "10.6.0.0"}, "not a usable address"),
    ({"gateway": "10.7.0.1"}, "not a usable address"),
    ({"ip_range": "10.7.0.0/24"}, "not inside subnet"),
    ({"aux_addresses": ["10.9.9.9"]}, "not inside subnet"),
    ({"gateway": "bogus"}, "invalid gateway"),
])
def test_plan_network_rejects_inconsistent_config(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidSpec, match=match):
        ipam.plan_network(N("10.6.0.0/24"), **kwargs)


def test_parse_subnet_rejects_host_bits_and_ipv6() -> None:
    with pytest.raises(InvalidSpec, match="invalid subnet"):
        ipam.parse_subnet("10.0.0.5/24")
    with pytest.raises(InvalidSpec, match="IPv4"):
        ipam.parse_subnet("fd00::/64")


def test_allocate_lowest_free_skipping_gateway_aux_and_used() -> None:
    a = ipam.plan_network(N("10.8.0.0/29"), aux_addresses=["10.8.0.3"])
    assert str(ipam.allocate_address(a, [])) == "10.8.0.2"
    assert str(ipam.allocate_address(a, ["10.8.0.2"])) == "10.8.0.4"
    with pytest.raises(NetworkError, match="no free address"):
        ipam.allocate_address(a, ["10.8.0.2", "10.8.0.4", "10.8.0.5", "10.8.0.6"])


def test_allocate_within_ip_range_only() -> None:
    a = ipam.plan_network(N("10.8.0.0/24"), gateway="10.8.0.1", ip_range="10.8.0.128/30")
    got = [str(ipam.allocate_address(a, used)) for used in ([], ["10.8.0.129"])]
    assert got == ["10.8.0.129", "10.8.0.130"]


def test_static_address_checked() -> None:
    a = ipam.plan_network(N("10.8.0.0/24"))
    assert str(ipam.allocate_address(a, [], "10.8.0.77")) == "10.8.0.77"
    with pytest.raises(Conflict):
        ipam.allocate_address(a, ["10.8.0.77"], "10.8.0.77")
    with pytest.raises(Conflict):
        ipam.allocate_address(a, [], "10.8.0.1")  # the gateway
    with pytest.raises(InvalidSpec, match="not a usable address"):
        ipam.allocate_address(a, [], "10.9.0.5")


def test_mac_follows_docker_scheme() -> None:
    assert ipam.mac_for(ipaddress.IPv4Address("172.18.0.2")) == "02:42:ac:12:00:02"
