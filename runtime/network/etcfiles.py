"""/etc/hosts, /etc/resolv.conf and /etc/hostname of a container, rendered as Docker renders them on
user-defined networks (resolver at 127.0.0.11, ``options ndots:0``) and written under the container dir.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EMBEDDED_DNS = "127.0.0.11"
HOSTS_HEADER = ("127.0.0.1\tlocalhost\n"
                "::1\tlocalhost ip6-localhost ip6-loopback\n"
                "fe00::0\tip6-localnet\n"
                "ff00::0\tip6-mcastprefix\n"
                "ff02::1\tip6-allnodes\n"
                "ff02::2\tip6-allrouters\n")


@dataclass(frozen=True)
class HostResolvConf:
    nameservers: list[str]
    search: list[str]
    options: list[str]


def parse_resolv_conf(text: str) -> HostResolvConf:
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if not words:
            continue
        if words[0] == "nameserver" and len(words) > 1:
            servers.append(words[1])
        elif words[0] in ("search", "domain"):
            search = words[1:]
        elif words[0] == "options":
            options.extend(words[1:])
    return HostResolvConf(servers, search, options)


def host_resolv_conf(path: str = "/etc/resolv.conf") -> HostResolvConf:
    try:
        return parse_resolv_conf(Path(path).read_text())
    except OSError:
        return HostResolvConf([], [], [])


def upstream_servers(dns: Sequence[str], host: HostResolvConf) -> list[str]:
    """The embedded resolver's forwarders: the container's ``dns`` if any, else the host's nameservers.
    A host loopback resolver (systemd-resolved's 127.0.0.53) is fine: forwarding happens in the host netns."""
    return list(dns) if dns else list(host.nameservers)


def render_resolv_conf(dns_search: Sequence[str], dns_opt: Sequence[str], host: HostResolvConf) -> str:
    lines = [f"nameserver {EMBEDDED_DNS}"]
    search = list(dns_search) or host.search
    if search:
        lines.append("search " + " ".join(search))
    # ndots:0 as Docker sets it; options the user gave win over it.
    options = list(dns_opt) if dns_opt else []
    if not any(o.startswith("ndots:") for o in options):
        options.insert(0, "ndots:0")
    lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"


def render_hosts(hostname: str, domainname: str, addresses: Sequence[str],
                 extra_hosts: Sequence[tuple[str, str]], host_gateway: str | None) -> str:
    """localhost entries, then extra_hosts (``host-gateway`` resolved), then this container's addresses."""
    text = HOSTS_HEADER
    for name, ip in extra_hosts:
        if ip == "host-gateway":
            if not host_gateway:
                continue  # no network with a gateway (network_mode none): nothing to map it to
            ip = host_gateway
        text += f"{ip}\t{name}\n"
    names = f"{hostname}.{domainname}\t{hostname}" if domainname else hostname
    for addr in addresses:
        text += f"{addr}\t{names}\n"
    if not addresses:
        text += f"127.0.0.1\t{names}\n" if hostname else ""
    return text


def write_in_place(path: Path, text: str) -> None:
    """Rewrite keeping the inode: a running container has the file bind-mounted, and a rename would leave
    it seeing the old content (Docker updates these files in place for the same reason)."""
    with open(path, "a+") as f:
        f.seek(0)
        f.truncate()
        f.write(text)


def write_etc_files(container_dir: Path, hostname: str, hosts: str, resolv: str) -> dict[str, Path]:
    container_dir.mkdir(parents=True, exist_ok=True)
    files = {"/etc/hostname": container_dir / "hostname", "/etc/hosts": container_dir / "hosts",
             "/etc/resolv.conf": container_dir / "resolv.conf"}
    write_in_place(files["/etc/hostname"], hostname + "\n")
    write_in_place(files["/etc/hosts"], hosts)
    write_in_place(files["/etc/resolv.conf"], resolv)
    return files
