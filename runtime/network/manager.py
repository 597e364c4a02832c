"""The network facade the engine calls: networks (bridge + IPAM + firewall) and container attachment
(netns, veths, published ports, /etc files). State lives in the net_ tables (runtime.network.store).

Kernel objects are named from the root (runtime.naming), so parallel roots never collide and every
leftover is attributable. All netlink sockets are opened per operation in the calling thread: a netlink socket
belongs to the netns of the thread that created it.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import ipaddress
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from runtime import filelock, naming
from runtime.api import ContainerSpec, EndpointSpec, EndpointState, NetworkInfo, NetworkSpec, PortBinding
from runtime.containers.defaults import container_hostname
from runtime.errors import Conflict, InvalidSpec, NetworkError, NotFound, RuntimeErrorBase
from runtime.network import bridge, etcfiles, ipam, netns, ports, teardown
from runtime.network.firewall import Firewall, enable_ip_forward, forget_udp_flows
from runtime.network.store import ContainerRow, EndpointRow, NetworkRow, NetworkStore
from runtime.state import StateDB
from runtime.volumes import labels_match

DEFAULT_NETWORK = "bridge"  # Docker's name for the network of containers that name none
IMPLICIT_LABEL = "io.hoist.network.implicit"  # on the default network when hoist made it on its own
HOST_IPAM_LOCK = Path("/run/lock/hoist-ipam.lock")  # host-wide: roots must not pick the same free subnet
VETH_GONE_TIMEOUT = 2.0  # seconds for the kernel to destroy a released netns's veths before deleting them


@dataclass(frozen=True)
class ContainerNetwork:
    netns_path: str | None
    etc_files: dict[str, Path]
    endpoints: list[EndpointState] = field(default_factory=list)
    ports: list[PortBinding] = field(default_factory=list)


class Background:
    """``fn`` in a thread of its own; ``join()`` waits for it and re-raises what it raised."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self._error: BaseException | None = None

        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised by join()
                self._error = exc

        self._thread = threading.Thread(target=run, name="hoist-network-bg", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


class TeardownScope:
    """One ``Engine.batched_network_teardown``: the released netns it holds (runtime.network.teardown), and
    the networks on their way out (``labels``: those carrying them) whose kernel objects went early, in the
    background, once every container of the scope on them was doomed (see ``doom``) or had released its
    endpoint: their rows go when ``remove_network`` is called for them, which waits for that first."""

    def __init__(self, labels: Mapping[str, str] | None) -> None:
        self.held = teardown.HeldNetns()
        self.labels = dict(labels) if labels is not None else None
        self._lock = threading.Lock()
        self._early: dict[str, Background] = {}  # network id -> its early teardown
        self._torn: set[str] = set()  # kernel objects gone, row still there
        self._finished: set[str] = set()  # row gone too
        self._doomed: set[str] = set()  # containers being removed whose init is dead or SIGKILLed

    def doom(self, container_id: str) -> None:
        """``container_id`` is being removed and nothing of it runs, or ever will again: its init is dead,
        or was sent SIGKILL (which no process catches; PID 1's death takes its whole pid namespace). Its
        endpoints no longer keep its networks' teardown waiting."""
        with self._lock:
            self._doomed.add(container_id)

    def is_doomed(self, container_id: str) -> bool:
        with self._lock:
            return container_id in self._doomed

    def start_early(self, network_id: str, fn: Callable[[], object]) -> None:
        with self._lock:
            if network_id not in self._early:
                self._early[network_id] = Background(fn)

    def join_early(self, network_id: str) -> None:
        """Wait for the network's early teardown if one runs; its failure is not raised here: the network
        is then still whole, and its removal tries again (and reports)."""
        with self._lock:
            early = self._early.get(network_id)
        if early is not None:
            with contextlib.suppress(Exception):
                early.join()

    def mark_torn(self, network_id: str) -> None:
        with self._lock:
            self._torn.add(network_id)

    def is_torn(self, network_id: str) -> bool:
        with self._lock:
            return network_id in self._torn

    def mark_finished(self, network_id: str) -> None:
        with self._lock:
            self._finished.add(network_id)

    def unfinished(self) -> builtins.list[str]:
        """Networks torn down early whose removal never came: they must be made whole again."""
        with self._lock:
            early = builtins.list(self._early.values())
        for bg in early:
            with contextlib.suppress(Exception):
                bg.join()
        with self._lock:
            return sorted(self._torn - self._finished)


def _as_network_error(exc: BaseException, what: str) -> BaseException:
    """Our own errors and interrupts as they are; a kernel or netlink failure as a NetworkError that says
    what was being done (the CLI prints those without a traceback)."""
    if isinstance(exc, RuntimeErrorBase) or not isinstance(exc, Exception):
        return exc
    return NetworkError(f"{what}: {exc}", hint="check `ip link` and `iptables -S` for conflicting objects; "
                                              "run as root")


MTU_OPTION = "com.docker.network.driver.mtu"


def _mtu(n: NetworkRow) -> int | None:
    return int(n.options[MTU_OPTION]) if n.options.get(MTU_OPTION) else None


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class NetworkManager:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()
        self.tag = naming.instance_tag(self.root)
        self.db = StateDB(self.root)
        self.store = NetworkStore(self.root, self.db)
        self.firewall = Firewall(self.tag)
        self.netns_dir = naming.run_dir(self.root) / "netns"

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        return filelock.exclusive(self.root / "network.lock")

    # ------------------------------------------------------------------------------------ networks

    def create_network(self, spec: NetworkSpec) -> NetworkInfo:
        if spec.driver not in ("bridge", ""):
            raise InvalidSpec(f"network {spec.name}: driver {spec.driver!r} is not supported",
                              hint='use driver "bridge" (the default)')
        if spec.enable_ipv6:
            raise InvalidSpec(f"network {spec.name}: IPv6 is not supported by hoist's bridge networks",
                              hint="remove enable_ipv6 (IPv4 only)")
        mtu = spec.options.get(MTU_OPTION)
        if mtu is not None and not (mtu.isdigit() and 68 <= int(mtu) <= 65535):
            raise InvalidSpec(f"network {spec.name}: {MTU_OPTION} must be a number from 68 to 65535, not {mtu!r}")
        if len(spec.ipam) > 1:
            raise InvalidSpec(f"network {spec.name}: only one ipam config (IPv4) is supported")
        if not spec.name or "/" in spec.name:
            raise InvalidSpec(f"invalid network name {spec.name!r}")
        with self._lock():
            if any(n.name == spec.name for n in self.store.networks()):
                raise Conflict(f"network with name {spec.name} already exists",
                               hint="remove it first (hoist network rm), or use another name")
            network_id = os.urandom(32).hex()
            name = naming.bridge_name(self.root, network_id)
            cfg = spec.ipam[0] if spec.ipam else None
            with filelock.exclusive(HOST_IPAM_LOCK):
                ipr = bridge.iproute()
                try:
                    taken = [ipaddress.IPv4Network(r, strict=False) for r in bridge.host_routes(ipr)]
                    taken += [ipaddress.IPv4Network(n.subnet) for n in self.store.networks()]
                    if cfg and cfg.subnet:
                        subnet = ipam.parse_subnet(cfg.subnet)
                        clash = [t for t in taken if subnet.overlaps(t)]
                        if clash:
                            raise Conflict(f"network {spec.name}: subnet {subnet} overlaps {clash[0]}, which is "
                                           "already in use on this host",
                                           hint="choose another ipam subnet, or leave it out to get a free one")
                    else:
                        subnet = ipam.choose_subnet(ipam.configured_pools(), taken)
                    addressing = ipam.plan_network(subnet, cfg.gateway if cfg else None,
                                                   cfg.ip_range if cfg else None,
                                                   (cfg.aux_addresses.values() if cfg else ()))
                    row = NetworkRow(id=network_id, name=spec.name, driver="bridge", internal=spec.internal,
                                     attachable=spec.attachable, labels=dict(spec.labels),
                                     options=dict(spec.options), subnet=str(subnet),
                                     gateway=str(addressing.gateway), ip_range=str(addressing.ip_range),
                                     reserved=[str(a) for a in addressing.reserved], bridge=name, created=_now())
                    try:
                        bridge.ensure_bridge(ipr, name, row.gateway, subnet.prefixlen, _mtu(row))
                        self.firewall.setup_network(network_id, name, row.subnet, row.internal)
                        if not row.internal:
                            enable_ip_forward()
                        self._insert_network(row)
                    except BaseException as exc:
                        self.firewall.remove_network(network_id)
                        bridge.delete_link(ipr, name)
                        err = _as_network_error(exc, f"cannot create network {spec.name}")
                        if err is exc:
                            raise
                        raise err from exc
                finally:
                    ipr.close()
        return self.inspect_network(network_id)

    def _insert_network(self, n: NetworkRow) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO net_networks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         (n.id, n.name, n.driver, int(n.internal), int(n.attachable), json.dumps(n.labels),
                          json.dumps(n.options), n.subnet, n.gateway, n.ip_range, json.dumps(n.reserved),
                          n.bridge, n.created))

    def _network(self, ref: str) -> NetworkRow:
        row = self.store.find_network(ref)
        if row is None:
            raise NotFound(f"network {ref} not found", hint="list networks with: hoist network ls")
        return row

    def _info(self, n: NetworkRow) -> NetworkInfo:
        return NetworkInfo(id=n.id, name=n.name, driver=n.driver, internal=n.internal, labels=dict(n.labels),
                           subnet=n.subnet, gateway=n.gateway, bridge=n.bridge, created=n.created,
                           containers={e.container_id: e.ip for e in self.store.endpoints_of_network(n.id)})

    def inspect_network(self, ref: str) -> NetworkInfo:
        return self._info(self._network(ref))

    def network_details(self, ref: str) -> tuple[NetworkRow, list[EndpointRow], dict[str, ContainerRow]]:
        """Everything ``network inspect`` shows (ip_range, options, attachable, endpoint names)."""
        n = self._network(ref)
        eps = self.store.endpoints_of_network(n.id)
        return n, eps, self.store.containers([e.container_id for e in eps])

    def list_networks(self, labels: Mapping[str, str | None] | None = None) -> builtins.list[NetworkInfo]:
        out = []
        for n in self.store.networks():
            if not labels_match(n.labels, labels):
                continue
            out.append(self._info(n))
        return out

    def remove_network(self, ref: str, *, scope: TeardownScope | None = None) -> None:
        """``scope``: a teardown in progress (see TeardownScope): a network torn down early only loses its row
        here; otherwise the veths of the netns it holds go in one kernel batch with the bridge."""
        if scope is not None:
            early = self.store.find_network(ref)
            if early is not None:
                scope.join_early(early.id)  # before our lock: the early teardown takes it
        with self._lock():
            n = self._network(ref)
            users = self.store.endpoints_of_network(n.id)
            if users:
                names = self.store.containers([e.container_id for e in users])
                who = ", ".join(names[e.container_id].name if e.container_id in names else e.container_id[:12]
                                for e in users)
                raise Conflict(f"error while removing network: network {n.name} id {n.id[:12]} has active "
                               f"endpoints ({who})", hint="stop and remove those containers, or disconnect them")
            if scope is not None and scope.is_torn(n.id):
                self._delete_network_row(n)
                scope.mark_finished(n.id)
                return
            self._remove_network_locked(n, scope)

    def _remove_network_locked(self, n: NetworkRow, scope: TeardownScope | None = None) -> None:
        self._remove_kernel_objects(n, scope)
        self._delete_network_row(n)

    def _delete_network_row(self, n: NetworkRow) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM net_networks WHERE id = ?", (n.id,))

    def _remove_kernel_objects(self, n: NetworkRow, scope: TeardownScope | None) -> None:
        """The bridge and the firewall rules of ``n`` (with the netns veths ``scope`` holds); on failure the
        network is left whole."""
        # Networks torn down early in the scope count as gone already: their rows are on their way out.
        last = all(other.id == n.id or (scope is not None and scope.is_torn(other.id))
                   for other in self.store.networks())
        veths = scope.held.veths() if scope is not None else []
        if scope is not None:
            # The veths of doomed containers not yet released go in the same batch (a veth deleted takes its
            # peer in the container's netns along); their later release finds them gone, as after a crash.
            veths += [e.veth for e in self.store.endpoints_of_network(n.id)
                      if scope.is_doomed(e.container_id) and e.veth not in veths]
        # The root's last network: removing the base chains takes its rules with them. The firewall update
        # (iptables processes) and the bridge's deletion (the kernel waits out RCU grace periods, ~30 ms)
        # touch independent objects (rules match the bridge by name), so they run at once.
        firewall = Background(self.firewall.remove_base if last else lambda: self.firewall.remove_network(n.id))
        try:
            # Veths of released netns (this network's or another's: all are on their way out) go in the same
            # kernel batch as the bridge when they can; otherwise the bridge alone, as always.
            if not (veths and teardown.delete_together([n.bridge, *veths])):
                bridge.delete_link_by_name(n.bridge)
        except BaseException:
            firewall.join()
            self._ensure_firewall(n)  # the network stays: so must its rules
            raise
        firewall.join()

    def container_doomed(self, container_id: str, scope: TeardownScope) -> None:
        """In a teardown, ``container_id`` is doomed (TeardownScope.doom): a network of the scope's labels
        all of whose endpoints are doomed containers' starts its teardown now, in the background, without
        waiting for those containers' exits to be recorded and their endpoints released (in a `down -t 1`
        of 10 containers that outlive SIGTERM, that was ~25-40 ms of its end)."""
        if scope.labels is None:
            return
        scope.doom(container_id)
        for net_id in {e.network_id for e in self.store.endpoints_of_container(container_id)}:
            n = self.store.find_network(net_id)
            if n is not None and labels_match(n.labels, scope.labels) and self._all_doomed(scope, net_id):
                scope.start_early(n.id, functools.partial(self._tear_down_early, scope, n))

    def _all_doomed(self, scope: TeardownScope, network_id: str) -> bool:
        return all(scope.is_doomed(e.container_id) for e in self.store.endpoints_of_network(network_id))

    def _tear_down_early(self, scope: TeardownScope, n: NetworkRow) -> None:
        """Background: ``n``'s kernel objects, unless a container joined it meanwhile (endpoints left are
        doomed containers' only)."""
        with self._lock():
            if self.store.find_network(n.id) is None or not self._all_doomed(scope, n.id):
                return
            self._remove_kernel_objects(n, scope)
            scope.mark_torn(n.id)

    def begin_teardown(self, labels: Mapping[str, str] | None) -> TeardownScope:
        return TeardownScope(labels)

    def finish_teardown(self, scope: TeardownScope) -> None:
        """End of the scope: a network torn down early but never removed is made whole again; then the held
        netns go, and their veths that did not go with a bridge are waited for (bounded) and deleted if they
        outlive that, as a removal outside a teardown does."""
        for network_id in scope.unfinished():
            n = self.store.find_network(network_id)
            if n is not None:
                with self._lock(), contextlib.closing(bridge.iproute()) as ipr:
                    self._ensure_network_objects(ipr, n)
        self.settle_released_links(scope.held.close())

    def _ensure_firewall(self, n: NetworkRow) -> None:
        self.firewall.setup_network(n.id, n.bridge, n.subnet, n.internal)

    def prune(self, labels: Mapping[str, str | None] | None = None) -> builtins.list[str]:
        """Remove networks no container uses; returns their names. The default ``bridge`` network is never
        pruned (Docker keeps its predefined networks); it goes only with its last container when hoist made it
        on its own (implicit)."""
        removed = []
        for info in self.list_networks(labels):
            if info.name == DEFAULT_NETWORK:
                continue
            if not info.containers:
                try:
                    self.remove_network(info.id)
                    removed.append(info.name)
                except (Conflict, NotFound):
                    continue
        return removed

    # Names the engine (runtime/engine.py) calls.
    create = create_network
    inspect = inspect_network
    list = list_networks  # noqa: A003 - the engine's name for it
    remove = remove_network

    # ---------------------------------------------------------------------------------- containers

    def netns_path(self, container_id: str) -> Path:
        return self.netns_dir / container_id

    def container_dir(self, container_id: str) -> Path:
        return self.root / "containers" / container_id

    def prepare_container(self, container_id: str, spec: ContainerSpec) -> ContainerNetwork:
        mode = spec.network_mode or "bridge"
        existing = self.store.container(container_id)
        if existing is not None and existing.mode == mode:
            if mode == "bridge":
                self._restore(container_id)
            return self._current(container_id, spec)
        hostname = container_hostname(spec.hostname, container_id, mode, spec.uts_mode)
        host_conf = etcfiles.host_resolv_conf()
        cdir = self.container_dir(container_id)
        if mode == "host":
            files = {"/etc/hostname": cdir / "hostname", "/etc/hosts": cdir / "hosts",
                     "/etc/resolv.conf": cdir / "resolv.conf"}
            cdir.mkdir(parents=True, exist_ok=True)
            etcfiles.write_in_place(files["/etc/hostname"], hostname + "\n")
            hosts = Path("/etc/hosts").read_text() if Path("/etc/hosts").exists() else etcfiles.HOSTS_HEADER
            hosts += "".join(f"{ip}\t{name}\n" for name, ip in spec.extra_hosts if ip != "host-gateway")
            etcfiles.write_in_place(files["/etc/hosts"], hosts)
            resolv = Path("/etc/resolv.conf").read_text() if Path("/etc/resolv.conf").exists() else ""
            etcfiles.write_in_place(files["/etc/resolv.conf"], resolv)
            return ContainerNetwork(None, files)
        if mode == "none":
            hosts = etcfiles.render_hosts(hostname, spec.domainname or "", [], spec.extra_hosts, None)
            resolv = "".join(f"nameserver {d}\n" for d in (spec.dns or host_conf.nameservers))
            files = etcfiles.write_etc_files(cdir, hostname, hosts, resolv)
            return ContainerNetwork(None, files)
        if mode.startswith("container:"):
            target = mode.split(":", 1)[1]
            row = self.store.container(target) or next(
                (r for r in self._all_container_rows() if r.name == target), None)
            if row is None or not row.netns:
                raise NotFound(f"network_mode {mode}: container {target} has no network namespace of hoist's",
                               hint="create that container first (with a bridge network)")
            other = self.container_dir(row.container_id)
            files = {p: other / n for p, n in (("/etc/hostname", "hostname"), ("/etc/hosts", "hosts"),
                                                ("/etc/resolv.conf", "resolv.conf"))}
            return ContainerNetwork(row.netns, files, [], [])
        if mode != "bridge":
            raise InvalidSpec(f"unknown network mode {mode!r}", hint="use bridge, host, none or container:<name>")
        return self._prepare_bridge(container_id, spec, hostname, host_conf)

    def _all_container_rows(self) -> builtins.list[ContainerRow]:
        return [ContainerRow.from_row(r) for r in self.db.query("SELECT * FROM net_containers")]

    def _prepare_bridge(self, container_id: str, spec: ContainerSpec, hostname: str,
                        host_conf: etcfiles.HostResolvConf) -> ContainerNetwork:
        if spec.networks:
            return self._prepare_bridge_on(container_id, spec, list(spec.networks), hostname, host_conf)
        for attempt in range(3):
            # The implicit default network may be removed by its last container between its lookup and
            # our lock; then make it again.
            try:
                return self._prepare_bridge_on(container_id, spec,
                                               [EndpointSpec(network=self._default_network().name)],
                                               hostname, host_conf)
            except NotFound:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _prepare_bridge_on(self, container_id: str, spec: ContainerSpec, endpoints: builtins.list[EndpointSpec],
                           hostname: str, host_conf: etcfiles.HostResolvConf) -> ContainerNetwork:
        ns_path = self.netns_path(container_id)
        ipr = bridge.iproute()  # one netlink socket for the whole attach (this thread, this netns)
        try:
            with self._lock():
                # Under the lock: a network removed meanwhile is a clean NotFound, not a dangling endpoint.
                nets: builtins.list[NetworkRow] = []
                for ep in endpoints:
                    n = self._network(ep.network)
                    if n.id in (x.id for x in nets):
                        raise InvalidSpec(f"container {spec.name}: network {n.name} is listed twice")
                    nets.append(n)
                # Ports first: a taken host port must fail before any kernel object exists.
                bound = ports.resolve_host_ports(spec.ports, self.store.ports(), owner=container_id)
                for n in nets:  # under the lock, so two containers never rebuild one network twice
                    self._ensure_network_objects(ipr, n)
                rows = []
                for i, (ep, n) in enumerate(zip(endpoints, nets, strict=True)):
                    rows.append(self._allocate(container_id, f"eth{i}", n, ep))
                with self.db.transaction() as conn:
                    conn.execute("INSERT OR REPLACE INTO net_containers VALUES (?,?,?,?,?,?,?)",
                                 (container_id, spec.name, hostname, "bridge", str(ns_path),
                                  json.dumps(etcfiles.upstream_servers(spec.dns, host_conf)),
                                  json.dumps([list(link) for link in spec.links])))
                    for r in rows:
                        conn.execute("INSERT INTO net_endpoints VALUES (?,?,?,?,?,?,?,?)",
                                     (r.container_id, r.network_id, r.endpoint_id, r.ifname, r.veth, r.ip, r.mac,
                                      json.dumps(r.aliases)))
                    primary_ip = rows[0].ip
                    for b in bound:
                        conn.execute("INSERT INTO net_ports VALUES (?,?,?,?,?,?)",
                                     (container_id, b.protocol, b.host_ip, b.host_port, b.container_port, primary_ip))
            try:
                links = []
                first_gateway = True
                for r, n in zip(rows, nets, strict=True):
                    gw = None
                    if first_gateway and not n.internal:
                        gw, first_gateway = n.gateway, False
                    links.append(bridge.EndpointLink(
                        veth=r.veth, ifname=r.ifname, bridge=n.bridge, ip=r.ip,
                        prefixlen=ipaddress.ip_network(n.subnet).prefixlen, mac=r.mac, gateway=gw, mtu=_mtu(n)))
                if netns.is_netns(ns_path):  # prepared before and half torn down: attach one by one
                    for link in links:
                        bridge.add_endpoint(ipr, ns_path, link)
                else:
                    bridge.create_netns_with_endpoints(ipr, ns_path, links)
                if bound:
                    self.firewall.add_ports(container_id, [(b.protocol, b.host_ip, b.host_port, rows[0].ip,
                                                            b.container_port) for b in bound])
                    bridge.set_hairpin(ipr, rows[0].veth)
                self._write_etc(container_id, spec, hostname, host_conf)
            except BaseException as exc:
                self.release_container(container_id)
                err = _as_network_error(exc, f"cannot attach container {spec.name} to its networks")
                if err is exc:
                    raise
                raise err from exc
            return self._current(container_id, spec)
        finally:
            ipr.close()

    def _ensure_network_objects(self, ipr: bridge.Rtnl, n: NetworkRow) -> None:
        """Recreate a network's bridge and rules if they are gone (a reboot empties the kernel, not the
        state database)."""
        if bridge.link_index(ipr, n.bridge) is not None:
            return
        bridge.ensure_bridge(ipr, n.bridge, n.gateway, ipaddress.ip_network(n.subnet).prefixlen, _mtu(n))
        self._ensure_firewall(n)
        if not n.internal:
            enable_ip_forward()

    def _restore(self, container_id: str) -> None:
        """Rebuild a prepared container's netns, endpoints and port rules (same addresses) when its netns is
        gone, e.g. after a reboot; nothing to do otherwise."""
        row = self.store.container(container_id)
        if row is None or row.mode != "bridge" or netns.is_netns(Path(row.netns)):
            return
        with self._lock():
            ipr = bridge.iproute()
            try:
                links = []
                first_gateway = True
                for e in self.store.endpoints_of_container(container_id):
                    n = self.store.find_network(e.network_id)
                    if n is None:
                        continue
                    self._ensure_network_objects(ipr, n)
                    bridge.delete_link(ipr, e.veth)  # a host end left behind by a crash
                    gw = None
                    if first_gateway and not n.internal:
                        gw, first_gateway = n.gateway, False
                    links.append(bridge.EndpointLink(
                        veth=e.veth, ifname=e.ifname, bridge=n.bridge, ip=e.ip,
                        prefixlen=ipaddress.ip_network(n.subnet).prefixlen, mac=e.mac, gateway=gw, mtu=_mtu(n)))
                bridge.create_netns_with_endpoints(ipr, Path(row.netns), links)
            finally:
                ipr.close()
            bound = self.store.ports(container_id)
            if bound:
                self.firewall.remove_ports(container_id)
                self.firewall.add_ports(container_id, [(p.protocol, p.host_ip, p.host_port, p.container_ip,
                                                        p.container_port) for p in bound])
                ipr = bridge.iproute()
                try:
                    for link in links:
                        bridge.set_hairpin(ipr, link.veth)
                finally:
                    ipr.close()

    def _allocate(self, container_id: str, ifname: str, n: NetworkRow, ep: EndpointSpec) -> EndpointRow:
        if ep.ipv6_address:
            raise InvalidSpec(f"network {n.name}: ipv6_address {ep.ipv6_address} cannot be set, hoist's bridge "
                              "networks are IPv4 only", hint="remove ipv6_address")
        used = [e.ip for e in self.store.endpoints_of_network(n.id)]
        addressing = ipam.NetworkAddressing(ipaddress.IPv4Network(n.subnet), ipaddress.IPv4Address(n.gateway),
                                            ipaddress.IPv4Network(n.ip_range),
                                            tuple(ipaddress.IPv4Address(a) for a in n.reserved))
        ip = ipam.allocate_address(addressing, used, ep.ipv4_address)
        endpoint_id = os.urandom(32).hex()
        return EndpointRow(container_id=container_id, network_id=n.id, endpoint_id=endpoint_id, ifname=ifname,
                           veth=naming.veth_host_name(self.root, endpoint_id), ip=str(ip),
                           mac=(ep.mac_address or ipam.mac_for(ip)).lower(), aliases=list(ep.aliases))

    def _default_network(self) -> NetworkRow:
        """The network of containers that name none. Made on demand and marked implicit, so it goes again
        with its last container: an idle root keeps no bridge (and tests see no leftover link)."""
        row = self.store.find_network(DEFAULT_NETWORK)
        if row is None or row.name != DEFAULT_NETWORK:
            try:
                self.create_network(NetworkSpec(name=DEFAULT_NETWORK, labels={IMPLICIT_LABEL: "true"}))
            except Conflict:
                pass  # created concurrently
            row = self._network(DEFAULT_NETWORK)
        return row

    def _write_etc(self, container_id: str, spec: ContainerSpec, hostname: str,
                   host_conf: etcfiles.HostResolvConf) -> dict[str, Path]:
        eps = self.store.endpoints_of_container(container_id)
        gateway = None
        for e in eps:
            n = self.store.find_network(e.network_id)
            if n is not None:
                gateway = n.gateway
                break
        hosts = etcfiles.render_hosts(hostname, spec.domainname or "", [e.ip for e in eps], spec.extra_hosts,
                                      gateway)
        resolv = etcfiles.render_resolv_conf(spec.dns_search, spec.dns_opt, host_conf)
        return etcfiles.write_etc_files(self.container_dir(container_id), hostname, hosts, resolv)

    def _endpoint_states(self, container_id: str) -> builtins.list[EndpointState]:
        out = []
        for e in self.store.endpoints_of_container(container_id):
            n = self.store.find_network(e.network_id)
            if n is None:
                continue
            out.append(EndpointState(network=n.name, network_id=n.id, ip_address=e.ip,
                                     prefix_len=ipaddress.ip_network(n.subnet).prefixlen, gateway=n.gateway,
                                     mac_address=e.mac, aliases=list(e.aliases)))
        return out

    def container_ports(self, container_id: str) -> builtins.list[PortBinding]:
        return [PortBinding(container_port=p.container_port, protocol=p.protocol,  # type: ignore[arg-type]
                            host_ip=p.host_ip, host_port=p.host_port) for p in self.store.ports(container_id)]

    def check_host_ports(self, bindings: builtins.list[PortBinding], owner: str = "") -> builtins.list[PortBinding]:
        """The bindings with random ports chosen, or Conflict if one is taken (by a process or another
        container): lets a caller check a whole project's ports before it starts anything."""
        return ports.resolve_host_ports(bindings, self.store.ports(), owner=owner)

    def container_network(self, container_id: str) -> ContainerNetwork:
        """The container's current netns, etc files, endpoints and ports (after connect/disconnect too)."""
        return self._current(container_id, None)

    def _current(self, container_id: str, spec: ContainerSpec | None) -> ContainerNetwork:
        cdir = self.container_dir(container_id)
        files = {"/etc/hostname": cdir / "hostname", "/etc/hosts": cdir / "hosts",
                 "/etc/resolv.conf": cdir / "resolv.conf"}
        row = self.store.container(container_id)
        return ContainerNetwork(row.netns if row else None, files, self._endpoint_states(container_id),
                                self.container_ports(container_id))

    def release_container(self, container_id: str, *, scope: TeardownScope | None = None) -> None:
        """Remove ports, endpoints, the netns and the rows; safe twice and after a crash half-way.

        With ``scope`` (a teardown in progress, see TeardownScope) the released netns stays alive until the
        scope ends, so that its veths can go in one batch with the network's bridge; and a network of the
        scope's labels left without endpoints starts its teardown at once, in the background."""
        # Read without the lock: only this container's own operations change its rows, and it is being
        # removed. The lock is for the firewall (shared tables, read then rewritten), when there are ports:
        # the parallel removals of a `down` no longer queue for it twice each.
        eps = self.store.endpoints_of_container(container_id)
        published = self.store.ports(container_id)
        if published:
            with self._lock():
                self.firewall.remove_ports(container_id)
                forget_udp_flows([p.host_port for p in published if p.protocol == "udp"])
        # The netns and its veths are this container's alone: they go outside the lock, so that the removals
        # of a `down` overlap. Released, the netns takes its veth pairs with it in one kernel batch (far
        # cheaper than a netlink delete each); a veth that outlives that (netns already gone after a crash,
        # or still held) is deleted directly.
        ns_path = self.netns_path(container_id)
        veths = [e.veth for e in eps]
        if scope is None or not scope.held.release(ns_path, veths):
            had_netns = netns.remove(ns_path)
            # Waited for (bounded) while the kernel takes them; with no netns (gone after a crash), whatever
            # is left is deleted right away.
            self.settle_released_links(veths, VETH_GONE_TIMEOUT if had_netns else 0.0)
        # The rows are this container's alone, deleted in one transaction: no network lock for them. (With it,
        # the removals of a `down` queued behind a network's early teardown, which holds the lock for its
        # whole kernel batch, ~50 ms.) Only dropping an idle implicit network needs the lock.
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM net_ports WHERE container_id = ?", (container_id,))
            conn.execute("DELETE FROM net_endpoints WHERE container_id = ?", (container_id,))
            conn.execute("DELETE FROM net_containers WHERE container_id = ?", (container_id,))
        networks = [n for n in (self.store.find_network(net_id) for net_id in {e.network_id for e in eps})
                    if n is not None]
        implicit = {n.id for n in networks if n.labels.get(IMPLICIT_LABEL) == "true"}
        if implicit:
            with self._lock():
                self._drop_idle_implicit(implicit)
        # Read without the lock: an early teardown checks again under it before it removes anything.
        idle = [] if scope is None or scope.labels is None else [
            n for n in networks if labels_match(n.labels, scope.labels) and not self.store.endpoints_of_network(n.id)]
        if scope is not None:
            for n in idle:
                scope.start_early(n.id, functools.partial(self._tear_down_early, scope, n))

    def settle_released_links(self, veths: builtins.list[str], timeout: float = VETH_GONE_TIMEOUT) -> None:
        """Wait (bounded) until the host ends ``veths`` of released netns are gone; delete any that outlive
        the wait (its netns still held by some other process)."""
        for veth in bridge.wait_links_gone(veths, timeout):
            bridge.delete_link_by_name(veth)

    def _drop_idle_implicit(self, network_ids: set[str]) -> None:
        for net_id in network_ids:
            n = self.store.find_network(net_id)
            if n is not None and n.labels.get(IMPLICIT_LABEL) == "true" and not self.store.endpoints_of_network(
                    net_id):
                self._remove_network_locked(n)

    # ------------------------------------------------------------------------ connect / disconnect

    def connect(self, network: str, container_id: str, endpoint: EndpointSpec) -> EndpointState:
        n = self._network(network)
        row = self.store.container(container_id)
        if row is None or row.mode != "bridge" or not row.netns:
            raise InvalidSpec(f"container {container_id[:12]} does not use bridge networking",
                              hint="only containers with their own network namespace can join networks")
        if not netns.is_netns(Path(row.netns)):
            raise NetworkError(f"network namespace of container {row.name} is gone",
                               hint="recreate the container")
        with self._lock():
            eps = self.store.endpoints_of_container(container_id)
            if any(e.network_id == n.id for e in eps):
                raise Conflict(f"endpoint with name {row.name} already exists in network {n.name}")
            used_names = {e.ifname for e in eps}
            ifname = next(f"eth{i}" for i in range(len(eps) + 1) if f"eth{i}" not in used_names)
            r = self._allocate(container_id, ifname, n, endpoint)
            with self.db.transaction() as conn:
                conn.execute("INSERT INTO net_endpoints VALUES (?,?,?,?,?,?,?,?)",
                             (r.container_id, r.network_id, r.endpoint_id, r.ifname, r.veth, r.ip, r.mac,
                              json.dumps(r.aliases)))
        has_gateway = any(not (self.store.find_network(e.network_id) or n).internal for e in eps)
        ipr = bridge.iproute()
        try:
            bridge.add_endpoint(ipr, Path(row.netns), bridge.EndpointLink(
                veth=r.veth, ifname=r.ifname, bridge=n.bridge, ip=r.ip,
                prefixlen=ipaddress.ip_network(n.subnet).prefixlen, mac=r.mac,
                gateway=None if (has_gateway or n.internal) else n.gateway, mtu=_mtu(n)))
        except BaseException as exc:
            bridge.delete_link(ipr, r.veth)
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM net_endpoints WHERE container_id = ? AND network_id = ?",
                             (container_id, n.id))
            err = _as_network_error(exc, f"cannot connect {row.name} to network {n.name}")
            if err is exc:
                raise
            raise err from exc
        finally:
            ipr.close()
        self._refresh_hosts(container_id)
        return next(s for s in self._endpoint_states(container_id) if s.network_id == n.id)

    def disconnect(self, network: str, container_id: str) -> None:
        n = self._network(network)
        with self._lock():
            eps = self.store.endpoints_of_container(container_id)
            ep = next((e for e in eps if e.network_id == n.id), None)
            if ep is None:
                raise NotFound(f"container {container_id[:12]} is not connected to network {n.name}")
            ipr = bridge.iproute()
            try:
                bridge.delete_link(ipr, ep.veth)
            finally:
                ipr.close()
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM net_endpoints WHERE container_id = ? AND network_id = ?",
                             (container_id, n.id))
                left = [e for e in eps if e.network_id != n.id]
                # Published ports follow the container to its remaining first network.
                conn.execute("UPDATE net_ports SET container_ip = ? WHERE container_id = ?",
                             (left[0].ip if left else "", container_id))
            bound = self.store.ports(container_id)
            if bound:
                self.firewall.remove_ports(container_id)
                if left:
                    self.firewall.add_ports(container_id, [(p.protocol, p.host_ip, p.host_port, p.container_ip,
                                                            p.container_port) for p in bound])
                    ipr = bridge.iproute()
                    try:
                        bridge.set_hairpin(ipr, left[0].veth)
                    finally:
                        ipr.close()
            self._drop_idle_implicit({n.id})
        self._refresh_hosts(container_id)

    def _refresh_hosts(self, container_id: str) -> None:
        """Rewrite /etc/hosts with the container's current addresses (in place: it is bind-mounted)."""
        row = self.store.container(container_id)
        hosts_path = self.container_dir(container_id) / "hosts"
        if row is None or not hosts_path.exists():
            return
        old = hosts_path.read_text().splitlines(keepends=True)
        keep = [line for line in old if not line.rstrip("\n").endswith(f"\t{row.hostname}")
                and f"\t{row.hostname}." not in line]
        ips = [e.ip for e in self.store.endpoints_of_container(container_id)]
        etcfiles.write_in_place(hosts_path, "".join(keep) + "".join(f"{ip}\t{row.hostname}\n" for ip in ips))
