"""Container faults: SIGKILL of a supervisor, of PID 1, of the CLI mid-create/start; a wiped run dir.

Each ends with the engine reporting the truth (checked against /proc) and nothing of the root left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from runtime import naming
from runtime import syscalls as sc
from runtime.api import ContainerSpec
from runtime.containers.cgroups import ContainerCgroups
from runtime.engine import Engine, open_engine

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _quick_launcher_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOIST_LAUNCHER_IDLE", "0.1")
    # A spare's PID 1 forked ahead is let go after a second by default; a loaded test machine may take
    # longer between two starts, and the tests below look at that PID 1.
    monkeypatch.setenv("HOIST_PID1_AHEAD_AGE", "60")


@pytest.fixture
def engine(hoist_root: Path) -> Iterator[Engine]:
    eng = open_engine(hoist_root)
    yield eng
    for state in open_engine(hoist_root).container_list(all=True):
        open_engine(hoist_root).container_remove(state.id, force=True, volumes=True)


@pytest.fixture
def sleeper(busybox_image: str, unique_id: str) -> ContainerSpec:
    return ContainerSpec(name=f"f{unique_id}", image=busybox_image, command=["sleep", "1000"], network_mode="none",
                         stop_grace_period=0.2)


def _status_file(engine: Engine, ref: str) -> dict:
    cid = engine.container_inspect(ref).id
    return json.loads((engine.container_dir(cid) / "status.json").read_text())


def _alive(pid: int) -> bool:
    return sc.process_start_time(pid) is not None


def _wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        time.sleep(0.01)


def test_supervisor_sigkill_keeps_the_container_known(engine, sleeper):
    engine.container_create(sleeper)
    state = engine.container_start(sleeper.name)
    supervisor = _status_file(engine, sleeper.name)["supervisor_pid"]
    os.kill(supervisor, signal.SIGKILL)
    _wait_gone(supervisor)
    fresh = open_engine(engine.root).container_inspect(sleeper.name)
    assert fresh.status == "running" and fresh.pid == state.pid and _alive(state.pid)
    stopped = open_engine(engine.root).container_stop(sleeper.name)
    assert stopped.status == "exited"
    assert stopped.exit_code == 255  # nobody was left to collect the real status: reported as unknown
    assert not _alive(state.pid)
    assert not ContainerCgroups(engine.root, state.id).exists()


def test_pid1_sigkill_is_recorded_by_the_supervisor(engine, sleeper):
    engine.container_create(sleeper)
    state = engine.container_start(sleeper.name)
    os.kill(state.pid, signal.SIGKILL)
    assert engine.container_wait(sleeper.name, timeout=10) == 137
    after = engine.container_inspect(sleeper.name)
    assert after.status == "exited" and not after.oom_killed and after.finished_at
    # and it starts again from the same state
    assert engine.container_start(sleeper.name).status == "running"


def test_wiped_run_dir_after_a_reboot_marks_containers_exited(engine, sleeper):
    engine.container_create(sleeper)
    state = engine.container_start(sleeper.name)
    status = _status_file(engine, sleeper.name)
    # A reboot: every process gone, /run empty, and the status file written in another boot.
    os.kill(status["supervisor_pid"], signal.SIGKILL)
    os.kill(state.pid, signal.SIGKILL)
    _wait_gone(state.pid)
    # The supervisor too: it holds the container's mount namespace, whose teardown is part of its exit, and
    # the owner lock until that is over.
    _wait_gone(status["supervisor_pid"])
    status["boot_id"] = "00000000-0000-0000-0000-000000000000"
    (engine.container_dir(state.id) / "status.json").write_text(json.dumps(status))
    shutil.rmtree(naming.run_dir(engine.root))
    fresh = open_engine(engine.root)
    after = fresh.container_inspect(sleeper.name)
    assert after.status == "exited" and after.exit_code == 255
    assert (naming.run_dir(engine.root) / "boot-id").read_text() == sc.boot_id()
    assert not ContainerCgroups(engine.root, state.id).exists()
    assert fresh.container_start(sleeper.name).status == "running"


CLI = [sys.executable, "-m", "compose.cli.main"]


@pytest.mark.parametrize("delay", [0.05, 0.12, 0.2, 0.3])
def test_cli_sigkill_mid_run_leaves_a_truthful_state(hoist_root, busybox_image, unique_id, delay):
    name = f"k{unique_id}"
    env = {**os.environ, "HOIST_ROOT": str(hoist_root), "HOIST_LAUNCHER_IDLE": "0.1"}
    proc = subprocess.Popen([*CLI, "container", "run", "-d", "--network", "none", "--name", name, busybox_image,
                             "sleep", "1000"], cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.kill()
    proc.wait()
    eng = open_engine(hoist_root)
    for state in eng.container_list(all=True):
        assert state.status in ("created", "running", "exited")
        if state.status == "running":
            assert _alive(state.pid)
            assert ContainerCgroups(hoist_root, state.id).pids()
        eng.container_remove(state.id, force=True)
    assert eng.container_list(all=True) == []


def test_directory_of_a_create_killed_before_its_row_is_collected(hoist_root, engine, sleeper):
    engine.container_create(sleeper)
    abandoned = hoist_root / "containers" / ("ab" * 32)
    (abandoned / "upper").mkdir(parents=True)
    in_progress = hoist_root / "containers" / ("cd" * 32)
    in_progress.mkdir()
    old = time.time() - 3600
    os.utime(abandoned, (old, old))
    assert [s.name for s in open_engine(hoist_root).container_list(all=True)] == [sleeper.name]
    assert not abandoned.exists()
    assert in_progress.exists()  # young: perhaps another process is creating it right now


def test_changed_runtime_code_gets_its_own_launcher(engine, busybox_image, unique_id, monkeypatch):
    """A launcher forks supervisors from the code it loaded: after an upgrade (another code tag), new
    containers go to a new launcher, while the old one keeps its running supervisors until they exit."""
    from runtime import launcher

    def spec(n: int) -> ContainerSpec:
        return ContainerSpec(name=f"v{n}{unique_id}", image=busybox_image, command=["sleep", "1000"],
                             network_mode="none", stop_grace_period=0.2)

    engine.container_create(spec(1))
    engine.container_start(spec(1).name)
    old_socket = launcher.socket_path(engine.root)
    assert old_socket.exists()
    monkeypatch.setattr(launcher, "_code_tag", "0badc0de")  # as if the sources had changed since
    fresh = open_engine(engine.root)
    fresh.container_create(spec(2))
    fresh.container_start(spec(2).name)
    new_socket = launcher.socket_path(engine.root)
    assert new_socket != old_socket and new_socket.exists() and old_socket.exists()
    sups = {_status_file(fresh, spec(n).name)["supervisor_pid"] for n in (1, 2)}
    parents = {_parent(Path(f"/proc/{p}/stat").read_text()) for p in sups}
    assert len(parents) == 2  # two launchers, one per code tag
    for n in (1, 2):
        assert fresh.container_inspect(spec(n).name).status == "running"
        fresh.container_remove(spec(n).name, force=True)
    deadline = time.monotonic() + 10  # both exit once idle (HOIST_LAUNCHER_IDLE=0.1 here)
    while old_socket.exists() or new_socket.exists():
        assert time.monotonic() < deadline, "a launcher outlived its supervisors"
        time.sleep(0.02)


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if _parent(stat) == pid:
                found.add(int(entry))
    return found


def _parent(stat: str) -> int:
    """The parent pid in the text of a /proc/<pid>/stat."""
    return int(stat.rsplit(")", 1)[1].split()[1])


def _await_spare(launcher_pid: int, supervisors: set[int]) -> int:
    deadline = time.monotonic() + 10
    while True:
        spares = _children(launcher_pid) - supervisors
        if spares:
            return spares.pop()
        assert time.monotonic() < deadline, "the launcher forked no spare supervisor while idle"
        time.sleep(0.01)


def _await_waiting(pid: int) -> None:
    """Until ``pid`` is blocked waiting for its start (a spare: recvmsg, or poll before it while it keeps a
    PID 1 forked ahead; x86-64 and arm64 numbers)."""
    waits = {"x86_64": ("47", "7", "271"), "aarch64": ("212", "73")}.get(os.uname().machine, ("47", "7", "271"))
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}/syscall").read_text().split()[0] not in waits:
        assert time.monotonic() < deadline, f"the spare {pid} never came to wait for a start"
        time.sleep(0.01)


def _await_candidate(spare: int) -> int:
    """The PID 1 a spare forks ahead (its only child while it waits)."""
    _await_waiting(spare)
    children = _children(spare)
    assert len(children) == 1, f"the spare {spare} has {len(children)} children, not one PID 1 forked ahead"
    return children.pop()


def _start(engine: Engine, spec: ContainerSpec) -> int:
    """Create and start ``spec``; its PID 1."""
    engine.container_create(spec)
    engine.container_start(spec.name)
    return engine.container_inspect(spec.name).pid


def _supervisor(engine: Engine, spec: ContainerSpec) -> int:
    return int(_status_file(engine, spec.name)["supervisor_pid"])


def _start_then_spare(engine: Engine, spec: ContainerSpec) -> tuple[int, int, int]:
    """Start ``spec``, then wait for the spare supervisor its launcher forks once idle: (the container's
    supervisor, the launcher, the spare)."""
    _start(engine, spec)
    supervisor = _supervisor(engine, spec)
    launcher_pid = _parent(Path(f"/proc/{supervisor}/stat").read_text())
    return supervisor, launcher_pid, _await_spare(launcher_pid, {supervisor})


def _numbered(spec: ContainerSpec, n: int, **changes: object) -> ContainerSpec:
    return replace(spec, name=f"{spec.name}-{n}", **changes)  # type: ignore[arg-type]


def test_a_spare_supervisor_takes_the_next_start_and_goes_with_its_launcher(engine, sleeper):
    """The launcher forks a supervisor ahead of need while idle; the next start is served by it (not by a
    fork on demand), with the PID 1 it forked ahead; a new spare follows, and a spare (and its PID 1 ahead)
    never outlives its launcher, even a SIGKILLed one."""
    first, launcher_pid, spare = _start_then_spare(engine, _numbered(sleeper, 1))
    ahead = _await_candidate(spare)
    second = _numbered(sleeper, 2)
    assert _start(engine, second) == ahead  # its PID 1 is the one the spare forked ahead
    assert _supervisor(engine, second) == spare
    next_spare = _await_spare(launcher_pid, {first, spare})
    next_ahead = _await_candidate(next_spare)
    os.kill(launcher_pid, signal.SIGKILL)
    _wait_gone(next_spare)
    _wait_gone(next_ahead)
    for n in (1, 2):
        assert engine.container_inspect(_numbered(sleeper, n).name).status == "running"  # supervisors go on
    third = _numbered(sleeper, 3)
    _start(engine, third)  # and the next start brings up a new launcher
    assert engine.container_inspect(third.name).status == "running"


def _held_netns(pid: int) -> set[int]:
    """The inodes of the network namespaces ``pid`` holds open by fd."""
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("net:["):
            held.add(int(target[5:-1]))
    return held


def _await_held_netns(pid: int) -> int:
    """The network namespace the spare ``pid`` made ahead, once it waits for its start (while it makes one,
    it holds its own namespace open too)."""
    _await_waiting(pid)
    held = _held_netns(pid)
    assert len(held) == 1, f"the spare {pid} holds {len(held)} network namespaces ahead, not one"
    return held.pop()


def _netns_of(pid: int) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def test_a_spare_makes_the_network_namespace_of_a_container_without_network_ahead(engine, sleeper):
    """After a start of a container without a network, the next spare makes such a container's network
    namespace (loopback up) while it waits: the next one joins exactly that namespace, a fresh one of its
    own, and nobody else keeps it. After a start with the host network, the spare makes none."""
    first_sup, launcher_pid, spare = _start_then_spare(engine, _numbered(sleeper, 1))
    made = _await_held_netns(spare)
    assert made not in (_netns_of(os.getpid()), _netns_of(engine.container_inspect(_numbered(sleeper, 1).name).pid))

    second = _start(engine, _numbered(sleeper, 2))
    assert _supervisor(engine, _numbered(sleeper, 2)) == spare
    assert _netns_of(second) == made
    assert not _held_netns(spare)  # the supervisor let its copy go: the container's PID 1 alone holds it
    sysfs = Path(f"/proc/{second}/root/sys/class/net")  # the container's /sys shows its own namespace
    assert sorted(os.listdir(sysfs)) == ["lo"]
    assert int((sysfs / "lo" / "flags").read_text(), 16) & 0x1  # IFF_UP, as in a namespace PID 1 made

    next_spare = _await_spare(launcher_pid, {first_sup, spare})
    _await_held_netns(next_spare)  # made after the second start; the third does not want it
    third = _start(engine, _numbered(sleeper, 3, network_mode="host"))
    assert _supervisor(engine, _numbered(sleeper, 3)) == next_spare
    assert _netns_of(third) == _netns_of(os.getpid())
    assert not _held_netns(next_spare)
    after_host = _await_spare(launcher_pid, {first_sup, spare, next_spare})
    _await_waiting(after_host)  # its set-up, a namespace made ahead included, is done before it waits
    assert not _held_netns(after_host)


def test_a_start_whose_pid1_forked_ahead_was_killed_forks_one(engine, sleeper):
    """SIGKILL of the PID 1 a spare forked ahead, while it waits: the next start gets a PID 1 forked for it
    and runs; the dead one is reaped."""
    _, _, spare = _start_then_spare(engine, _numbered(sleeper, 1))
    ahead = _await_candidate(spare)
    os.kill(ahead, signal.SIGKILL)
    # Dead, not dying: a PID 1 killed while a start is handing it its container fails that start, as one
    # killed just after a fork would.
    _wait_gone(ahead)
    second = _numbered(sleeper, 2)
    pid1 = _start(engine, second)
    assert _supervisor(engine, second) == spare
    assert engine.container_inspect(second.name).status == "running" and pid1 != ahead
    assert _children(spare) == {pid1}  # the dead one was reaped, not left a zombie
    assert os.stat(f"/proc/{pid1}/ns/pid").st_ino != os.stat("/proc/self/ns/pid").st_ino


def test_a_pid1_forked_ahead_is_let_go_once_it_is_older_than_its_age(engine, sleeper, monkeypatch):
    """A PID 1 shows its fork time as its start: the one forked ahead is reaped after HOIST_PID1_AHEAD_AGE
    seconds, and the next start forks a PID 1 of its own (its start time is the start's, not older)."""
    monkeypatch.setenv("HOIST_PID1_AHEAD_AGE", "0.3")
    _, _, spare = _start_then_spare(engine, _numbered(sleeper, 1))
    deadline = time.monotonic() + 10
    ahead = None
    while (children := _children(spare)) or ahead is None:
        ahead = ahead or next(iter(children), None)
        assert time.monotonic() < deadline, "the PID 1 forked ahead outlived its age"
        time.sleep(0.02)
    assert ahead is not None and not _alive(ahead)
    second = _numbered(sleeper, 2)
    engine.container_create(second)
    ticks = os.sysconf("SC_CLK_TCK")
    before = int(time.clock_gettime(time.CLOCK_BOOTTIME) * ticks)  # what /proc/<pid>/stat counts start from
    engine.container_start(second.name)
    state = engine.container_inspect(second.name)
    assert _supervisor(engine, second) == spare
    assert state.status == "running" and state.pid != ahead
    started = sc.process_start_time(state.pid)
    assert started is not None and started >= before - 1  # one tick of rounding; the one ahead was 30 older


def test_a_pid1_forked_ahead_that_a_start_cannot_use_is_discarded(engine, sleeper):
    """The spare's PID 1 forked ahead has a PID namespace of its own: a container that shares the host's
    gets a PID 1 forked for it, and the one forked ahead is killed and reaped, not left behind."""
    _, _, spare = _start_then_spare(engine, _numbered(sleeper, 1))
    ahead = _await_candidate(spare)
    host_pid = _numbered(sleeper, 2, pid_mode="host")
    pid1 = _start(engine, host_pid)
    assert _supervisor(engine, host_pid) == spare
    assert pid1 != ahead and not _alive(ahead)
    assert os.stat(f"/proc/{pid1}/ns/pid").st_ino == os.stat("/proc/self/ns/pid").st_ino
    assert _children(spare) == {pid1}
