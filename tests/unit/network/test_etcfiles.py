from __future__ import annotations

from pathlib import Path

from runtime.network import etcfiles


def test_parse_host_resolv_conf() -> None:
    conf = etcfiles.parse_resolv_conf("# c\nnameserver 10.0.0.2\nnameserver 127.0.0.53 # x\n"
                                      "search a.example b.example\noptions edns0 trust-ad\n")
    assert conf.nameservers == ["10.0.0.2", "127.0.0.53"]
    assert conf.search == ["a.example", "b.example"]
    assert conf.options == ["edns0", "trust-ad"]


def test_resolv_conf_points_at_embedded_dns_with_ndots0() -> None:
    host = etcfiles.HostResolvConf(["10.0.0.2"], ["corp.example"], ["edns0"])
    assert etcfiles.render_resolv_conf([], [], host) == (
        "nameserver 127.0.0.11\nsearch corp.example\noptions ndots:0\n")


def test_resolv_conf_user_search_and_options_win() -> None:
    host = etcfiles.HostResolvConf(["10.0.0.2"], ["corp.example"], [])
    text = etcfiles.render_resolv_conf(["svc.local"], ["ndots:2", "timeout:1"], host)
    assert text == "nameserver 127.0.0.11\nsearch svc.local\noptions ndots:2 timeout:1\n"


def test_upstreams_prefer_container_dns() -> None:
    host = etcfiles.HostResolvConf(["10.0.0.2"], [], [])
    assert etcfiles.upstream_servers(["1.1.1.1"], host) == ["1.1.1.1"]
    assert etcfiles.upstream_servers([], host) == ["10.0.0.2"]


def test_hosts_has_localhost_extra_hosts_and_own_addresses() -> None:
    text = etcfiles.render_hosts("web", "", ["172.18.0.2", "172.19.0.3"],
                                 [("db.local", "10.1.1.1"), ("host.docker.internal", "host-gateway")],
                                 "172.18.0.1")
    lines = text.splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost"
    assert "10.1.1.1\tdb.local" in lines
    assert "172.18.0.1\thost.docker.internal" in lines
    assert lines[-2:] == ["172.18.0.2\tweb", "172.19.0.3\tweb"]


def test_hosts_with_domain_and_without_network() -> None:
    text = etcfiles.render_hosts("box", "example.org", [], [("gw", "host-gateway")], None)
    assert text.endswith("127.0.0.1\tbox.example.org\tbox\n")
    assert "gw" not in text  # host-gateway has nothing to map to without a network


def test_write_keeps_inode(tmp_path: Path) -> None:
    files = etcfiles.write_etc_files(tmp_path, "h", "a\n", "nameserver 127.0.0.11\n")
    inode = files["/etc/hosts"].stat().st_ino
    etcfiles.write_in_place(files["/etc/hosts"], "b\n")
    assert files["/etc/hosts"].stat().st_ino == inode
    assert files["/etc/hosts"].read_text() == "b\n"
    assert files["/etc/hostname"].read_text() == "h\n"
