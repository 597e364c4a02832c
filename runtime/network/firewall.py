"""Firewall rules with iptables (the nf_tables backend on Debian 12, the same tables Docker uses).

Why iptables rather than a table of our own in nftables: with Docker installed the ``filter FORWARD`` chain
has policy DROP, and in nftables a packet accepted by our own base chain is still dropped by Docker's. An
ACCEPT reached from a jump inserted at the top of ``FORWARD`` is final, so hoist works next to Docker (as
netavark's iptables driver and Docker's own DOCKER-USER chain do).

Every chain and rule carries the root's instance tag, so parallel roots never touch each other's rules:
  filter  HOIST-<tag>-FWD   from FORWARD: isolation, intra-network, outbound, published ports
  nat     HOIST-<tag>-DNAT  from PREROUTING and OUTPUT (local destinations): published ports
  nat     HOIST-<tag>-POST  from POSTROUTING: masquerade outbound, loopback and hairpin
Ports are published with DNAT (plus route_localnet on the bridge for 127.0.0.1) instead of a userland
proxy: no process per port, no extra copy per byte, and the client's source address is kept.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from runtime.errors import NetworkError

IPTABLES = "iptables"
HOIST_LINK_GLOB = "hst+"  # every hoist interface, of any root (runtime.naming.link_prefix)


@dataclass(frozen=True)
class Chains:
    tag: str

    @property
    def fwd(self) -> str:
        return f"HOIST-{self.tag}-FWD"

    @property
    def dnat(self) -> str:
        return f"HOIST-{self.tag}-DNAT"

    @property
    def post(self) -> str:
        return f"HOIST-{self.tag}-POST"

    @property
    def comment(self) -> str:
        return f"hoist:{self.tag}"

    def jumps(self) -> list[tuple[str, str, str]]:
        """(table, builtin chain, rule spec) of the jumps into our chains."""
        c = f"-m comment --comment {self.comment}"
        local = "-m addrtype --dst-type LOCAL"
        return [("filter", "FORWARD", f"{c} -j {self.fwd}"),
                ("nat", "PREROUTING", f"{local} {c} -j {self.dnat}"),
                ("nat", "OUTPUT", f"{local} {c} -j {self.dnat}"),
                ("nat", "POSTROUTING", f"{c} -j {self.post}")]


def _run(args: Sequence[str], stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(list(args), input=stdin, capture_output=True, text=True)
    except FileNotFoundError:
        raise NetworkError("iptables is not installed", hint="apt-get install iptables") from None
    if check and proc.returncode != 0:
        what = " ".join(args) if stdin is None else f"{' '.join(args)} <<{stdin.strip()}"
        raise NetworkError(f"firewall update failed: {what}: {proc.stderr.strip()}")
    return proc


def restore(tables: dict[str, list[str]]) -> None:
    """Apply rule lines (``-A CHAIN ...``, ``-D ...``, ``-N ...``) atomically per table, keeping the rest."""
    text = ""
    for table, lines in tables.items():
        if lines:
            text += f"*{table}\n" + "\n".join(lines) + "\nCOMMIT\n"
    if text:
        _run([f"{IPTABLES}-restore", "-w", "--noflush"], stdin=text)


def chain_exists(table: str, chain: str) -> bool:
    return _run([IPTABLES, "-w", "-t", table, "-S", chain], check=False).returncode == 0


def rules_with(table: str, chain: str, needle: str) -> list[str]:
    """The ``-A`` lines of ``chain`` whose comment is exactly ``needle``."""
    proc = _run([IPTABLES, "-w", "-t", table, "-S", chain], check=False)
    if proc.returncode != 0:
        return []
    return _tagged(proc.stdout.splitlines(), chain, needle)


def _tagged(lines: Sequence[str], chain: str, needle: str) -> list[str]:
    # iptables prints the comment quoted or bare; either way it must end right after the needle, so that
    # "hoist:tag" never matches "hoist:tag:net:...".
    forms = (f'--comment "{needle}"', f"--comment {needle} ")
    return [line for line in lines
            if line.startswith(f"-A {chain} ") and any(form in line + " " for form in forms)]


def save(tables: Sequence[str]) -> dict[str, list[str]]:
    """The chain declarations (``:NAME``) and rules (``-A``) of ``tables``, from one ``iptables-save``: one
    process instead of an ``iptables -S`` per chain (each costs ~10 ms, and teardown used to run ~20)."""
    proc = _run([f"{IPTABLES}-save"], check=False)
    found: dict[str, list[str]] = {t: [] for t in tables}
    current: list[str] | None = None
    for line in proc.stdout.splitlines():
        if line.startswith("*"):
            current = found.get(line[1:].strip())
        elif current is not None and (line.startswith(":") or line.startswith("-A ")):
            current.append(line)
    return found


def _has_chain(lines: Sequence[str], chain: str) -> bool:
    return any(line.startswith(f":{chain} ") for line in lines)


class Firewall:
    def __init__(self, tag: str) -> None:
        self.chains = Chains(tag)

    # ------------------------------------------------------------------------------- root chains

    def _has_base(self, current: dict[str, list[str]]) -> bool:
        return _has_chain(current["filter"], self.chains.fwd) and _has_chain(current["nat"], self.chains.post)

    def _base_lines(self) -> dict[str, list[str]]:
        ch = self.chains
        c = f"-m comment --comment {ch.comment}"
        filter_lines = [f"-N {ch.fwd}",
                        # Replies, and connections to published ports (DNAT'd by us) into any hoist network,
                        # before the per-network isolation rules below.
                        f"-A {ch.fwd} -m conntrack --ctstate RELATED,ESTABLISHED {c} -j ACCEPT",
                        f"-A {ch.fwd} -o {HOIST_LINK_GLOB} -m conntrack --ctstate DNAT {c} -j ACCEPT"]
        nat_lines = [f"-N {ch.dnat}", f"-N {ch.post}"]
        for table, chain, spec in ch.jumps():
            (filter_lines if table == "filter" else nat_lines).append(f"-I {chain} 1 {spec}")
        return {"filter": filter_lines, "nat": nat_lines}

    def remove_base(self, current: dict[str, list[str]] | None = None) -> None:
        """The jumps into our chains, then the chains: one ``iptables-restore`` (atomic per table)."""
        ch = self.chains
        current = current if current is not None else save(("filter", "nat"))
        batch: dict[str, list[str]] = {"filter": [], "nat": []}
        for table, chain, _spec in ch.jumps():
            target = ch.fwd if table == "filter" else (ch.post if chain == "POSTROUTING" else ch.dnat)
            batch[table] += ["-D" + line[2:] for line in current[table]
                             if line.startswith(f"-A {chain} ") and line.endswith(f" -j {target}")]
        for table, chain in (("filter", ch.fwd), ("nat", ch.dnat), ("nat", ch.post)):
            if _has_chain(current[table], chain):
                batch[table] += [f"-F {chain}", f"-X {chain}"]
        restore(batch)

    # --------------------------------------------------------------------------------- networks

    def network_comment(self, network_id: str) -> str:
        return f"{self.chains.comment}:net:{network_id[:12]}"

    def add_network(self, network_id: str, bridge: str, subnet: str, internal: bool) -> None:
        self.remove_network(network_id)
        restore(self._network_lines(network_id, bridge, subnet, internal))

    def setup_network(self, network_id: str, bridge: str, subnet: str, internal: bool) -> None:
        """Our three chains and the jumps into them (unless in place), then ``add_network()``, as one
        ``iptables-save`` and one ``iptables-restore``
        (instead of up to two of each: every process costs 2-10 ms of a network's creation)."""
        current = save(("filter", "nat"))
        if self._has_base(current):
            batch = self._deletions(current, {"filter": [self.chains.fwd], "nat": [self.chains.post]},
                                    self.network_comment(network_id))
        else:
            self.remove_base(current)  # a half-made set from a crash (nothing to do on a clean host)
            batch = self._base_lines()  # fresh chains: no stale rules of this network in them
        for table, lines in self._network_lines(network_id, bridge, subnet, internal).items():
            batch.setdefault(table, []).extend(lines)
        restore(batch)

    def _network_lines(self, network_id: str, bridge: str, subnet: str, internal: bool) -> dict[str, list[str]]:
        ch = self.chains
        c = f"-m comment --comment {self.network_comment(network_id)}"
        fwd = [f"-A {ch.fwd} -i {bridge} -o {bridge} {c} -j ACCEPT",
               # no traffic to other hoist networks (of this root or any other)
               f"-A {ch.fwd} -i {bridge} -o {HOIST_LINK_GLOB} {c} -j DROP",
               # nobody else opens connections into the network
               f"-A {ch.fwd} -o {bridge} {c} -j DROP",
               f"-A {ch.fwd} -i {bridge} {c} -j {'DROP' if internal else 'ACCEPT'}"]
        post = [f"-A {ch.post} -s 127.0.0.0/8 -o {bridge} {c} -j MASQUERADE",
                f"-A {ch.post} -s {subnet} -o {bridge} -m conntrack --ctstate DNAT {c} -j MASQUERADE"]
        if not internal:
            post.append(f"-A {ch.post} -s {subnet} ! -o {bridge} {c} -j MASQUERADE")
        return {"filter": fwd, "nat": post}

    def remove_network(self, network_id: str) -> None:
        needle = self.network_comment(network_id)
        self._delete_tagged({"filter": [self.chains.fwd], "nat": [self.chains.post]}, needle)

    # ------------------------------------------------------------------------------------ ports

    def container_comment(self, container_id: str) -> str:
        return f"{self.chains.comment}:ctr:{container_id[:12]}"

    def add_ports(self, container_id: str, mappings: Sequence[tuple[str, str, int, str, int]]) -> None:
        """``mappings``: (protocol, host_ip, host_port, container_ip, container_port)."""
        c = f"-m comment --comment {self.container_comment(container_id)}"
        lines = []
        for proto, host_ip, host_port, cip, cport in mappings:
            dest = f"-d {host_ip}/32 " if host_ip and host_ip != "0.0.0.0" else ""
            lines.append(f"-A {self.chains.dnat} {dest}-p {proto} -m {proto} --dport {host_port} {c} "
                         f"-j DNAT --to-destination {cip}:{cport}")
        restore({"nat": lines})

    def remove_ports(self, container_id: str) -> None:
        self._delete_tagged({"nat": [self.chains.dnat]}, self.container_comment(container_id))

    def _delete_tagged(self, where: dict[str, list[str]], needle: str) -> None:
        restore(self._deletions(save(tuple(where)), where, needle))

    @staticmethod
    def _deletions(current: dict[str, list[str]], where: dict[str, list[str]], needle: str) -> dict[str, list[str]]:
        batch: dict[str, list[str]] = {}
        for table, chains in where.items():
            for chain in chains:
                batch.setdefault(table, []).extend("-D" + line[2:] for line in _tagged(current[table], chain, needle))
        return batch


def enable_ip_forward() -> None:
    """Routing between the bridges and the uplink needs ip_forward, as dockerd also sets at start. Only set
    when off; hoist's FORWARD rules keep its networks isolated either way."""
    path = "/proc/sys/net/ipv4/ip_forward"
    with open(path) as f:
        if f.read().strip() == "1":
            return
    with open(path, "w") as f:
        f.write("1")


def forget_udp_flows(ports: Sequence[int]) -> None:
    """Drop conntrack entries of published UDP ports: a UDP "connection" lives on while packets keep coming,
    so without this a client would keep reaching the old address of a recreated container (Docker flushes
    them too). Best effort: without the conntrack tool the entries only time out."""
    for port in ports:
        try:
            subprocess.run(["conntrack", "-D", "-p", "udp", "--orig-port-dst", str(port)], capture_output=True)
        except FileNotFoundError:
            return
