"""Container life cycle against the kernel: stop/kill, limits enforced, restart policies, health, logs, exec."""

from __future__ import annotations

import os
import time
from dataclasses import replace

import pytest

from runtime.api import ContainerSpec, ExecSpec, Healthcheck, Resources, RestartPolicy
from runtime.errors import Conflict, SetupError, StateError
from tests.integration.runtime.conftest import output, wait_for


def _seconds(rfc3339: str) -> float:
    from datetime import datetime

    whole, frac = rfc3339.rstrip("Z").split(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + frac)


@pytest.fixture
def spec(busybox_image, unique_id):
    return ContainerSpec(name=f"c{unique_id}", image=busybox_image, command=["sleep", "1000"], network_mode="none",
                         labels={"test.owner": unique_id})


def test_stop_sigterm_ignoring_pid1_is_killed_after_the_grace_period(engine, spec):
    # busybox sleep as PID 1 has no SIGTERM handler: the kernel drops the signal, as with Docker.
    engine.container_create(replace(spec, stop_grace_period=0.5))
    engine.container_start(spec.name)
    started = time.monotonic()
    state = engine.container_stop(spec.name)
    took = time.monotonic() - started
    assert state.status == "exited" and state.exit_code == 137
    assert 0.5 <= took < 5


def test_init_reaper_forwards_sigterm(engine, spec):
    engine.container_create(replace(spec, init=True, command=["sh", "-c", "sleep 1000 & sleep 1000; wait"]))
    engine.container_start(spec.name)
    started = time.monotonic()
    state = engine.container_stop(spec.name, timeout=20)
    assert time.monotonic() - started < 10  # delivered to the child, not dropped at PID 1
    assert state.exit_code == 143


def test_kill_pause_unpause_restart_and_name_conflict(engine, spec):
    engine.container_create(spec)
    with pytest.raises(Conflict):
        engine.container_create(spec)
    first = engine.container_start(spec.name)
    assert first.status == "running" and first.pid > 0
    engine.container_pause(spec.name)
    assert engine.container_inspect(spec.name).status == "paused"
    with pytest.raises(StateError):
        engine.container_exec(spec.name, ExecSpec(command=["true"]))
    engine.container_unpause(spec.name)
    assert engine.container_inspect(spec.name).status == "running"
    restarted = engine.container_restart(spec.name, timeout=0)
    assert restarted.status == "running" and restarted.pid != first.pid
    engine.container_kill(spec.name, signal="SIGKILL")
    state = engine.container_inspect(spec.name)
    assert state.status == "exited" and state.exit_code == 137
    second = replace(spec, name=spec.name + "b")
    engine.container_create(second)
    engine.container_start(second.name)
    with pytest.raises(Conflict):
        engine.container_remove(second.name)  # running: needs force
    assert {s.name for s in engine.container_list(labels={"test.owner": spec.labels["test.owner"]}, all=False)} \
        == {spec.name + "b"}


def test_exec_runs_in_the_container_with_user_env_workdir_and_exit_code(engine, spec, tmp_path):
    engine.container_create(replace(spec, env={"FROM_SPEC": "yes"}))
    engine.container_start(spec.name)
    out = tmp_path / "out"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT)
    try:
        code = engine.container_exec(spec.name, ExecSpec(
            command=["sh", "-c", "id -u; pwd; echo $FROM_SPEC $EXTRA; hostname; readlink /proc/self/ns/pid; exit 7"],
            env={"EXTRA": "x"}, user="1000", working_dir="/tmp"), stdio=(0, fd, fd))
    finally:
        os.close(fd)
    uid, cwd, env, hostname, pidns = out.read_text().split("\n")[:5]
    assert code == 7
    assert (uid, cwd, env) == ("1000", "/tmp", "yes x")
    state = engine.container_inspect(spec.name)
    assert pidns == os.readlink(f"/proc/{state.pid}/ns/pid")
    with pytest.raises(SetupError):
        engine.container_exec(spec.name, ExecSpec(command=["/no/such/binary"]))


def test_limits_are_visible_in_the_container_cgroup(probe):
    code, out = probe("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
                      "/sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares",
                      resources=Resources(memory=64 * 1024 * 1024, pids_limit=50, cpus=0.5, cpu_shares=512))
    assert out.split() == [str(64 * 1024 * 1024), "50", "50000", "512"]


def test_memory_hog_is_oom_killed_and_reported(engine, spec, debian_image):
    hog = "x = bytearray(200 * 1024 * 1024); print('survived')"
    engine.container_create(replace(spec, image=debian_image, command=["python3", "-c", hog],
                                    resources=Resources(memory=32 * 1024 * 1024, memory_swap=32 * 1024 * 1024)))
    engine.container_start(spec.name)
    assert engine.container_wait(spec.name, timeout=60) == 137
    state = engine.container_inspect(spec.name)
    assert state.oom_killed
    assert "survived" not in output(engine, spec.name)


FORK_BOMB = """
import os, signal, time
forked = refused = 0
for _ in range(30):
    try:
        pid = os.fork()
    except OSError:
        refused += 1
        continue
    if pid == 0:
        time.sleep(10)
        os._exit(0)
    forked += 1
print(forked, refused, open("/sys/fs/cgroup/pids/pids.current").read().strip(), flush=True)
os.kill(-1, signal.SIGKILL)
"""


def test_fork_bomb_stops_at_pids_limit(engine, spec, debian_image):
    engine.container_create(replace(spec, image=debian_image, command=["python3", "-c", FORK_BOMB],
                                    resources=Resources(pids_limit=10)))
    engine.container_start(spec.name)
    assert engine.container_wait(spec.name, timeout=60) == 0
    forked, refused, current = (int(x) for x in output(engine, spec.name).split())
    assert forked == 9 and refused == 21  # PID 1 counts too
    assert current == 10


def test_restart_on_failure_follows_the_backoff(engine, spec):
    engine.container_create(replace(spec, command=["sh", "-c", "echo started; exit 3"],
                                    restart=RestartPolicy("on-failure", max_retries=3)))
    engine.container_start(spec.name)
    assert engine.container_wait(spec.name, timeout=30) == 3
    wait_for(lambda: engine.container_inspect(spec.name).status == "exited", what="the final exit")
    state = engine.container_inspect(spec.name)
    assert state.restart_count == 3
    starts = [_seconds(r.time) for r in engine.container_logs(spec.name)]
    assert len(starts) == 4
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # 100 ms, 200 ms, 400 ms (plus the start cost each time).
    for gap, delay in zip(gaps, (0.1, 0.2, 0.4), strict=True):
        assert delay <= gap < delay + 1.0


def test_restart_always_stops_when_stopped_manually(engine, spec):
    engine.container_create(replace(spec, command=["sh", "-c", "sleep 0.05"], restart=RestartPolicy("always")))
    engine.container_start(spec.name)
    wait_for(lambda: engine.container_inspect(spec.name).restart_count >= 2, what="two restarts")
    state = engine.container_stop(spec.name, timeout=1)
    assert state.status == "exited"
    time.sleep(0.5)  # a restart would have happened within the backoff (<= 0.8 s here)
    assert engine.container_inspect(spec.name).status == "exited"


def test_healthcheck_goes_healthy_then_unhealthy(engine, spec):
    hc = Healthcheck(test=["CMD-SHELL", "test -e /tmp/ok && echo fine"], interval=0.2, timeout=2, retries=2,
                     start_interval=0.1)
    engine.container_create(replace(spec, healthcheck=hc))
    engine.container_start(spec.name)
    assert engine.container_inspect(spec.name).health == "starting"
    engine.container_exec(spec.name, ExecSpec(command=["touch", "/tmp/ok"]))
    healthy = wait_for(lambda: (s := engine.container_inspect(spec.name)).health == "healthy" and s, what="healthy")
    assert healthy.health_log[-1].exit_code == 0 and healthy.health_log[-1].output == "fine\n"
    engine.container_exec(spec.name, ExecSpec(command=["rm", "/tmp/ok"]))
    unhealthy = wait_for(lambda: (s := engine.container_inspect(spec.name)).health == "unhealthy" and s,
                         what="unhealthy")
    assert len(unhealthy.health_log) <= 5
    assert unhealthy.health_log[-1].exit_code == 1


def test_healthcheck_timeout_counts_as_failure(engine, spec):
    hc = Healthcheck(test=["CMD", "sleep", "10"], interval=0.1, timeout=0.2, retries=1)
    engine.container_create(replace(spec, healthcheck=hc))
    engine.container_start(spec.name)
    state = wait_for(lambda: (s := engine.container_inspect(spec.name)).health == "unhealthy" and s,
                     what="unhealthy")
    assert state.health_log[-1].exit_code == -1
    assert "timeout" in state.health_log[-1].output


def test_logs_survive_rotation(engine, spec):
    script = "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done; echo err >&2"
    engine.container_create(replace(spec, command=["sh", "-c", script], log_max_size=4096, log_max_files=3))
    engine.container_start(spec.name)
    engine.container_wait(spec.name, timeout=30)
    records = list(engine.container_logs(spec.name))
    lines = [r.text.strip() for r in records if r.stream == "stdout"]
    assert lines[-1] == "line-399"
    assert lines == [f"line-{i}" for i in range(400 - len(lines), 400)]  # a contiguous, newest window
    assert [r.text for r in records if r.stream == "stderr"] == ["err\n"]
    tail = list(engine.container_logs(spec.name, tail=2))
    assert [r.text for r in tail] == ["line-399\n", "err\n"]
    cdir = engine.container_dir(engine.container_inspect(spec.name).id)
    assert sorted(p.name for p in cdir.glob("container.log*")) == ["container.log", "container.log.1",
                                                                   "container.log.2"]


def test_logs_follow_streams_until_the_container_exits(engine, spec):
    engine.container_create(replace(spec, command=["sh", "-c", "for i in 1 2 3; do echo tick-$i; sleep 0.1; done"]))
    engine.container_start(spec.name)
    seen = [r.text for r in engine.container_logs(spec.name, follow=True)]
    assert seen == ["tick-1\n", "tick-2\n", "tick-3\n"]
    assert engine.container_inspect(spec.name).status == "exited"


def test_stop_uses_the_stop_signal_and_its_override(engine, spec):
    script = "trap 'exit 7' USR1; trap 'exit 8' USR2; echo ready; while true; do sleep 0.05; done"
    engine.container_create(replace(spec, command=["sh", "-c", script], stop_signal="SIGUSR1"))

    def start_and_wait_ready(runs: int) -> None:
        engine.container_start(spec.name)  # the traps must be set before the signal comes
        wait_for(lambda: output(engine, spec.name).count("ready") == runs, what="the traps")

    start_and_wait_ready(1)
    assert engine.container_stop(spec.name, timeout=10).exit_code == 7
    start_and_wait_ready(2)
    assert engine.container_stop(spec.name, timeout=10, signal="USR2").exit_code == 8
