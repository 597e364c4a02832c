"""Throw-away state roots for benchmarks, torn down as the tests' ``hoist_root`` fixture does.

A benchmark that deletes its root directory while containers or networks of that root still exist leaves
their kernel objects behind for good (netns mounts under /run/hoist-<tag>, hst<tag>* links, HOIST-<tag>
iptables chains): nothing knows them any more. So every benchmark root goes through ``bench_root``:

- containers, networks and volumes are removed through the engine first (their normal teardown);
- then whatever still carries the root's tag is swept (processes, mounts, links, cgroups, iptables chains,
  the run directory) and named on stderr, so a leak is visible instead of silent;
- SIGTERM (``timeout``, a CI runner) becomes SystemExit, so ``finally`` blocks run then too.

Roots go under ``bench_dir()`` (/var/tmp, or $HOIST_BENCH_DIR), not /tmp. On the development VMs the
root filesystem is ext4 without a journal, which before reusing an inode looks at every recently freed
one of its block group; /tmp, where every test run creates and deletes its files, then takes 280-350 us
per new file against 13-20 us in /var/tmp, /var/lib or /root (measured side by side). A container's
start creates a dozen files (its directory, overlay dirs, plan, status, lock, log, etc files), so in /tmp
a benchmark measured the directory more than hoist, whose own default root is /var/lib/hoist.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def bench_root(prefix: str) -> Iterator[tuple[Path, Path]]:
    """``(base, root)``: a temp directory and the state root inside it; torn down whatever happens."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir=bench_dir()))
    root = base / "root"
    root.mkdir()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield base, root
    finally:
        try:
            teardown_root(root)
        finally:
            shutil.rmtree(base, ignore_errors=True)
            signal.signal(signal.SIGTERM, previous)


def bench_dir() -> str:
    """Where benchmarks put their roots and files (see the module's docstring for why not /tmp)."""
    return os.environ.get("HOIST_BENCH_DIR", "/var/tmp")


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def teardown_root(root: Path) -> list[str]:
    """Remove everything of ``root`` from the kernel; returns (and reports) what had to be swept."""
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    _remove_through_the_engine(root)
    swept = sweep_tag(root)
    if swept:
        print(f"benchmark teardown: swept leftovers of {root}:\n  " + "\n  ".join(swept), file=sys.stderr)
    return swept


def _remove_through_the_engine(root: Path) -> None:
    from runtime.engine import open_engine

    if not (root / "state.db").exists():
        return
    engine = open_engine(root)
    for state in engine.container_list(all=True):
        with contextlib.suppress(Exception):
            engine.container_remove(state.id, force=True, volumes=True)
    with contextlib.suppress(Exception):
        manager = engine.network_manager()
        for info in manager.list_networks():
            with contextlib.suppress(Exception):
                manager.remove_network(info.id)
    for vol in engine.volume_list():
        with contextlib.suppress(Exception):
            engine.volume_remove(vol.name, force=True)


def sweep_tag(root: Path, settle: float = 3.0) -> list[str]:
    """Kernel objects still carrying ``root``'s tag after a short settle (supervisors finishing), removed."""
    from runtime import naming
    from tests.support import leaks

    deadline = time.monotonic() + settle
    left = leaks.snapshot(root)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = leaks.snapshot(root)
    swept = []
    for entry in sorted(left.processes):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(entry.split()[0]), signal.SIGKILL)
            swept.append(f"process {entry}")
    for mount in sorted(left.mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)
        swept.append(f"mount {mount}")
    for link in sorted(left.links):
        subprocess.run(["ip", "link", "del", link], capture_output=True)
        swept.append(f"link {link}")
    for ns in sorted(left.netns):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        swept.append(f"netns {ns}")
    for cg in sorted(left.cgroups, key=len, reverse=True):
        for _ in range(20):  # killed processes leave their cgroup a moment later
            try:
                os.rmdir(cg)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)
        swept.append(f"cgroup {cg}")
    swept += sweep_firewall(naming.instance_tag(root))
    rundir = naming.run_dir(root)
    if rundir != naming.DEFAULT_RUN_DIR:
        shutil.rmtree(rundir, ignore_errors=True)
    return swept


def sweep_firewall(tag: str) -> list[str]:
    """The root's iptables chains and the jumps into them (rules of its networks live in those chains)."""
    from runtime.network.firewall import Chains, Firewall, chain_exists

    chains = Chains(tag)
    present = [c for t, c in (("filter", chains.fwd), ("nat", chains.dnat), ("nat", chains.post))
               if chain_exists(t, c)]
    if present:
        Firewall(tag).remove_base()
    return [f"iptables chain {c}" for c in present]
