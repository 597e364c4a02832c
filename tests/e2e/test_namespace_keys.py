"""Compose keys that pick namespaces and cgroups, on the real runtime: ``external_links`` to another project's
container over an external network, ``uts: host``, ``cgroup: host`` and ``cgroup_parent``; ``down`` leaves
nothing (the hoist_root fixture's leak checker, and the parent cgroup hoist made)."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support.cli import Hoist


def test_external_links_uts_and_cgroup_parent(hoist_root: Path, busybox_image: str, project_name: str,
                                              tmp_path: Path, subnet) -> None:
    network = f"{project_name}-shared"
    parent = f"{project_name}-apps"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    other = Hoist(hoist_root, tmp_path / "a", f"{project_name}a")
    ours = Hoist(hoist_root, tmp_path / "b", f"{project_name}b")
    other.write(f"""services:
  db:
    image: {busybox_image}
    init: true
    command: ["sleep", "1000"]
    networks: [shared]
networks:
  shared:
    name: {network}
    ipam:
      config: [{{subnet: "{subnet}"}}]
""")
    ours.write(f"""services:
  web:
    image: {busybox_image}
    init: true
    command: ["sleep", "1000"]
    uts: host
    cgroup: host
    cgroup_parent: {parent}
    external_links: ["{project_name}a-db-1:database"]
    networks: [shared]
    dns: ["127.0.0.1"]
networks:
  shared:
    name: {network}
    external: true
""")
    try:
        other("up", "-d", timeout=120)
        ours("up", "-d", timeout=120)
        lookup = ours("exec", "-T", "web", "nslookup", "database", check=False)
        db = other("exec", "-T", "db", "hostname", "-i").out.split()[0]
        assert db in lookup.out.split("Name:")[-1], lookup
        assert ours("exec", "-T", "web", "hostname").out.strip() == socket.gethostname()
        cgroup = ours("exec", "-T", "web", "cat", "/proc/1/cgroup").out
        memory = next(line for line in cgroup.splitlines() if ":memory:" in line)
        assert memory.split(":", 2)[2].startswith(f"/{parent}/")
        assert Path("/sys/fs/cgroup/memory", parent).is_dir()
        inspect = ours("container", "inspect", f"{project_name}b-web-1").out
        assert f'"CgroupParent": "{parent}"' in inspect and '"UTSMode": "host"' in inspect
        ours("down", "-t", "0")
        assert not Path("/sys/fs/cgroup/memory", parent).exists()
    finally:
        ours("down", "-t", "0", check=False)
        other("down", "-t", "0", check=False)
