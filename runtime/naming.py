"""Names of the kernel objects one hoist root creates.

Every link, cgroup and run directory carries a short tag derived from the state root, so several roots
(parallel test runs, a user's second installation) never collide, and a leak is attributable to its root.
"""

from __future__ import annotations

import os
from pathlib import Path

from runtime.sha256 import sha256

DEFAULT_ROOT = Path("/var/lib/hoist")
DEFAULT_RUN_DIR = Path("/run/hoist")
IFNAME_MAX = 15  # IFNAMSIZ - 1


def resolve_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The state root: explicit argument, else $HOIST_ROOT, else /var/lib/hoist."""
    if root is None:
        root = os.environ.get("HOIST_ROOT") or DEFAULT_ROOT
    return Path(root).absolute()


def instance_tag(root: Path) -> str:
    """Five hex digits identifying a state root in kernel object names."""
    return sha256(str(root.absolute()).encode()).hexdigest()[:5]


def run_dir(root: Path) -> Path:
    """The volatile directory (pids, sockets, netns mounts, boot marker) that goes with a root."""
    if root.absolute() == DEFAULT_ROOT:
        return DEFAULT_RUN_DIR
    return Path(f"/run/hoist-{instance_tag(root)}")


def link_prefix(root: Path) -> str:
    """Prefix of every network interface this root creates on the host (``hst`` + tag)."""
    return f"hst{instance_tag(root)}"


def bridge_name(root: Path, network_id: str) -> str:
    return f"{link_prefix(root)}b{network_id[:6]}"[:IFNAME_MAX]


def veth_host_name(root: Path, endpoint_id: str) -> str:
    return f"{link_prefix(root)}v{endpoint_id[:6]}"[:IFNAME_MAX]


def cgroup_parent(root: Path) -> str:
    """Relative cgroup path (under each hierarchy) that holds this root's containers."""
    return f"hoist-{instance_tag(root)}"
