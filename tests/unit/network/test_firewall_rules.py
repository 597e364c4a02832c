"""The iptables rules hoist writes, captured instead of applied."""

from __future__ import annotations

import subprocess

import pytest

from runtime.network import firewall


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, list[str]]]:
    batches: list[dict[str, list[str]]] = []
    monkeypatch.setattr(firewall, "restore", lambda tables: batches.append(tables))
    monkeypatch.setattr(firewall, "rules_with", lambda *a: [])
    return batches


def test_internal_network_drops_outbound_and_has_no_masquerade(applied) -> None:
    firewall.Firewall("abcde").add_network("f" * 64, "hstabcdebffff", "10.1.0.0/24", internal=True)
    fwd, post = applied[-1]["filter"], applied[-1]["nat"]
    assert fwd[0] == ("-A HOIST-abcde-FWD -i hstabcdebffff -o hstabcdebffff "
                      "-m comment --comment hoist:abcde:net:ffffffffffff -j ACCEPT")
    assert fwd[-1].endswith("-i hstabcdebffff -m comment --comment hoist:abcde:net:ffffffffffff -j DROP")
    assert not any("! -o" in line for line in post)


def test_outbound_network_masquerades(applied) -> None:
    firewall.Firewall("abcde").add_network("e" * 64, "hstabcdebeeee", "10.2.0.0/24", internal=False)
    post = applied[-1]["nat"]
    assert any(line.startswith("-A HOIST-abcde-POST -s 10.2.0.0/24 ! -o hstabcdebeeee") for line in post)


def test_port_rules(applied) -> None:
    firewall.Firewall("abcde").add_ports("c" * 64, [("tcp", "", 8080, "10.1.0.2", 80),
                                                   ("udp", "127.0.0.1", 5353, "10.1.0.2", 53)])
    nat = applied[-1]["nat"]
    assert nat[0] == ("-A HOIST-abcde-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "
                      "hoist:abcde:ctr:cccccccccccc -j DNAT --to-destination 10.1.0.2:80")
    assert nat[1].startswith("-A HOIST-abcde-DNAT -d 127.0.0.1/32 -p udp -m udp --dport 5353 ")


def test_rules_with_matches_the_whole_comment(monkeypatch: pytest.MonkeyPatch) -> None:
    listing = ('-N HOIST-x-FWD\n'
               '-A HOIST-x-FWD -m comment --comment "hoist:x:net:aaaa" -j ACCEPT\n'
               '-A HOIST-x-FWD -m comment --comment "hoist:x:net:aaaabbbb" -j ACCEPT\n'
               '-A HOIST-x-FWD -m comment --comment hoist:x:net:aaaa -j DROP\n')
    monkeypatch.setattr(firewall, "_run", lambda *a, **k: subprocess.CompletedProcess([], 0, listing, ""))
    got = firewall.rules_with("filter", "HOIST-x-FWD", "hoist:x:net:aaaa")
    assert [line.split()[-1] for line in got] == ["ACCEPT", "DROP"]
