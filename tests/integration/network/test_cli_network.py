"""`hoist network ...` as a process, on the test's root."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

HOIST = str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "hoist")


def hoist(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([HOIST, *args], capture_output=True, text=True, timeout=60)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_network_create_ls_inspect_rm_prune(hoist_root: Path, subnet, unique_id: str) -> None:
    name = f"net{unique_id}"
    gateway = str(subnet.network_address + 254)
    net_id = hoist("network", "create", "--subnet", str(subnet), "--gateway", gateway, "--internal",
                   "--label", "team=blue", name).stdout.strip()
    assert len(net_id) == 64
    again = hoist("network", "create", name, ok=False)
    assert again.returncode != 0 and "already exists" in again.stderr and "Traceback" not in again.stderr
    assert hoist("network", "ls", "-q", "--filter", "label=team=blue").stdout.split() == [net_id[:12]]
    assert hoist("network", "ls", "-q", "--filter", "label=team=red").stdout.split() == []
    doc = json.loads(hoist("network", "inspect", name).stdout)[0]
    assert doc["Id"] == net_id and doc["Internal"] is True and doc["Labels"] == {"team": "blue"}
    assert doc["IPAM"]["Config"] == [{"Subnet": str(subnet), "Gateway": gateway}]
    links = subprocess.run(["ip", "-o", "addr", "show", doc["Options"]["com.docker.network.bridge.name"]],
                           capture_output=True, text=True).stdout
    assert f"{gateway}/24" in links
    assert hoist("network", "prune", "-f").stdout.split() == ["Deleted", "Networks:", name]
    missing = hoist("network", "rm", name, ok=False)
    assert missing.returncode != 0 and "not found" in missing.stderr
    hoist("network", "rm", "-f", name)


def test_network_create_rejects_bad_flags(hoist_root: Path) -> None:
    bad = hoist("network", "create", "--gateway", "10.1.1.1", "x", ok=False)
    assert bad.returncode != 0 and "need a --subnet" in bad.stderr
    bad = hoist("network", "create", "-d", "overlay", "x", ok=False)
    assert bad.returncode != 0 and "not supported" in bad.stderr


def test_network_rm_refuses_predefined_networks(hoist_root: Path) -> None:
    for name in ("host", "none"):
        refused = hoist("network", "rm", name, ok=False)
        assert refused.returncode == 1, refused.stderr
        assert f"{name} is a pre-defined network and cannot be removed" in refused.stderr
        assert "Traceback" not in refused.stderr
