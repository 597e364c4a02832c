"""Find the kernel objects that belong to one hoist state root: mounts, links, netns, cgroups, processes.

Everything hoist creates is attributable to its root (see runtime.naming), so tests running in parallel
each check only their own objects.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from runtime import naming

CGROUP_FS = Path("/sys/fs/cgroup")
KINDS = ("mounts", "links", "netns", "cgroups", "processes", "rules")


@dataclass
class Snapshot:
    mounts: set[str] = field(default_factory=set)
    links: set[str] = field(default_factory=set)
    netns: set[str] = field(default_factory=set)
    cgroups: set[str] = field(default_factory=set)
    processes: set[str] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)

    def minus(self, before: Snapshot) -> Snapshot:
        return Snapshot(*(getattr(self, f) - getattr(before, f) for f in
                          KINDS))

    def describe(self) -> str:
        lines = []
        for kind in KINDS:
            for item in sorted(getattr(self, kind)):
                lines.append(f"  {kind[:-1] if kind != 'netns' else kind}: {item}")
        return "\n".join(lines)

    def __bool__(self) -> bool:
        return any(getattr(self, kind) for kind in KINDS)


def _mountpoints() -> list[str]:
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            points.append(line.split()[4].encode().decode("unicode_escape"))
    return points


def _links() -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = []
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@")[0])
    return names


def _firewall_rules(tag: str) -> set[str]:
    """iptables rules and chains of one root (hoist tags them with the root's instance tag)."""
    try:
        out = subprocess.run(["iptables-save"], capture_output=True, text=True, timeout=30).stdout
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return set()
    table = ""
    found = set()
    for line in out.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif f"hoist:{tag}" in line or f"HOIST-{tag}-" in line:
            found.add(f"{table}: {line}")
    return found


def _process_mentions(pid: str, needles: tuple[str, ...], cgroup_needle: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        if any(n in cmdline for n in needles):
            return True
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
        if any(f"HOIST_ROOT={n}" in environ for n in needles):
            return True
        return cgroup_needle in Path(f"/proc/{pid}/cgroup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False


def snapshot(root: Path) -> Snapshot:
    root = root.absolute()
    rundir = naming.run_dir(root)
    tag = naming.instance_tag(root)
    cg_parent = naming.cgroup_parent(root)
    snap = Snapshot()
    prefixes = (str(root) + "/", str(rundir) + "/")
    snap.mounts = {m for m in _mountpoints() if m.startswith(prefixes) or m in (str(root), str(rundir))}
    snap.links = {n for n in _links() if n.startswith(naming.link_prefix(root))}
    netns_dir = Path("/run/netns")
    if netns_dir.is_dir():
        snap.netns = {p.name for p in netns_dir.iterdir() if tag in p.name}
    if CGROUP_FS.is_dir():
        for hierarchy in CGROUP_FS.iterdir():
            parent = hierarchy / cg_parent
            if parent.is_dir():
                # os.walk, unlike Path.rglob, skips a directory the kernel removes while we look
                # (a container's cgroup going away mid-scan is normal, not an error)
                snap.cgroups.update(dirpath for dirpath, _dirs, _files in os.walk(parent))
    snap.rules = _firewall_rules(tag)
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if entry.isdigit() and entry != me and _process_mentions(entry, (str(root),), f"/{cg_parent}/"):
            try:
                comm = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
            except OSError:
                continue
            snap.processes.add(f"{entry} {comm.strip()}")
    return snap
