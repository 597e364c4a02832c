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
    monkeypatch.setattr(firewall, "save", lambda tables: {t: [] for t in tables})
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


SAVED = {
    "filter": [":FORWARD DROP [0:0]", ":HOIST-abcde-FWD - [0:0]", ":HOIST-abcdef-FWD - [0:0]",
               '-A FORWARD -m comment --comment "hoist:abcde" -j HOIST-abcde-FWD',
               '-A FORWARD -m comment --comment "hoist:abcdef" -j HOIST-abcdef-FWD',
               '-A HOIST-abcde-FWD -o hstabcdeb1 -m comment --comment "hoist:abcde:net:111111111111" -j DROP',
               '-A HOIST-abcde-FWD -o hstabcdeb2 -m comment --comment "hoist:abcde:net:222222222222" -j DROP'],
    "nat": [":HOIST-abcde-POST - [0:0]",
            '-A POSTROUTING -m comment --comment "hoist:abcde" -j HOIST-abcde-POST',
            '-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "hoist:abcde" -j HOIST-abcde-DNAT'],
}


def test_remove_base_is_one_batch_of_only_this_roots_jumps_and_chains(monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[dict[str, list[str]]] = []
    monkeypatch.setattr(firewall, "restore", lambda tables: batches.append(tables))
    monkeypatch.setattr(firewall, "save", lambda tables: SAVED)
    firewall.Firewall("abcde").remove_base()
    assert len(batches) == 1
    assert batches[0]["filter"] == ['-D FORWARD -m comment --comment "hoist:abcde" -j HOIST-abcde-FWD',
                                    "-F HOIST-abcde-FWD", "-X HOIST-abcde-FWD"]
    # the DNAT chain is gone already (a half-made set): only its jump goes
    assert batches[0]["nat"] == ['-D OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "hoist:abcde" '
                                 "-j HOIST-abcde-DNAT",
                                 '-D POSTROUTING -m comment --comment "hoist:abcde" -j HOIST-abcde-POST',
                                 "-F HOIST-abcde-POST", "-X HOIST-abcde-POST"]


def test_remove_network_deletes_only_that_networks_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[dict[str, list[str]]] = []
    monkeypatch.setattr(firewall, "restore", lambda tables: batches.append(tables))
    monkeypatch.setattr(firewall, "save", lambda tables: SAVED)
    firewall.Firewall("abcde").remove_network("1" * 64)
    assert batches == [{"filter": ['-D HOIST-abcde-FWD -o hstabcdeb1 -m comment --comment '
                                   '"hoist:abcde:net:111111111111" -j DROP'], "nat": []}]


def test_save_parses_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    text = ("# Generated\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"
            "*mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*nat\n:X - [0:0]\n-A X -j RETURN\nCOMMIT\n")
    monkeypatch.setattr(firewall, "_run", lambda *a, **k: subprocess.CompletedProcess([], 0, text, ""))
    assert firewall.save(("filter", "nat")) == {"filter": [":INPUT ACCEPT [0:0]", "-A INPUT -j ACCEPT"],
                                                "nat": [":X - [0:0]", "-A X -j RETURN"]}


def test_setup_network_on_a_clean_host_is_one_restore_of_base_and_network(applied) -> None:
    firewall.Firewall("abcde").setup_network("f" * 64, "hstabcdebffff", "10.1.0.0/24", internal=False)
    real = [batch for batch in applied if any(batch.values())]  # restore() runs no process for an empty one
    assert len(real) == 1
    fwd, nat = real[0]["filter"], real[0]["nat"]
    assert fwd[0] == "-N HOIST-abcde-FWD" and fwd[-1].endswith("-i hstabcdebffff -m comment --comment "
                                                               "hoist:abcde:net:ffffffffffff -j ACCEPT")
    assert nat[:2] == ["-N HOIST-abcde-DNAT", "-N HOIST-abcde-POST"]
    assert nat[-1].startswith("-A HOIST-abcde-POST -s 10.1.0.0/24 ! -o hstabcdebffff")


def test_setup_network_with_the_base_in_place_replaces_only_that_networks_rules(
        monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[dict[str, list[str]]] = []
    monkeypatch.setattr(firewall, "restore", lambda tables: batches.append(tables))
    saved = {"filter": SAVED["filter"], "nat": [":HOIST-abcde-DNAT - [0:0]", *SAVED["nat"]]}
    monkeypatch.setattr(firewall, "save", lambda tables: saved)
    firewall.Firewall("abcde").setup_network("1" * 64, "hstabcdeb1", "10.3.0.0/24", internal=True)
    assert len(batches) == 1
    fwd = batches[0]["filter"]
    assert fwd[0] == '-D HOIST-abcde-FWD -o hstabcdeb1 -m comment --comment "hoist:abcde:net:111111111111" -j DROP'
    assert not any(line.startswith("-N") for line in fwd + batches[0]["nat"])
    assert fwd[1].startswith("-A HOIST-abcde-FWD -i hstabcdeb1 -o hstabcdeb1 ")
