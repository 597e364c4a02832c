"""Nothing of hoist's own (Python warnings, signal wakeup errors) may reach a container's log, and the
container's command starts with default signal dispositions and an empty signal mask, as under runc."""

from __future__ import annotations

import pytest

from runtime.api import ContainerSpec
from tests.integration.runtime.conftest import errors, output


def _run(engine, spec: ContainerSpec, times: int = 1) -> None:
    engine.container_create(spec)
    for _ in range(times):
        engine.container_start(spec.name)
        assert engine.container_wait(spec.name, timeout=30) == 0


@pytest.mark.parametrize("init", [True, False])
def test_a_one_shot_container_logs_only_what_it_printed(engine, busybox_image, unique_id, init):
    # Children that exit send SIGCHLD to PID 1: with init: true, PID 1 is hoist's reaper (forked from the
    # supervisor), which must not inherit the supervisor's signal wakeup fd or handlers.
    spec = ContainerSpec(name=f"o{unique_id}", image=busybox_image, network_mode="none", init=init,
                         command=["sh", "-c", "for i in 1 2 3 4 5; do sleep 0.01 & done; wait; echo done"])
    _run(engine, spec, times=3)
    assert errors(engine, spec.name) == ""
    assert output(engine, spec.name) == "done\n" * 3


@pytest.mark.parametrize("init", [True, False])
def test_the_command_starts_with_no_signal_ignored_or_blocked(engine, busybox_image, unique_id, init):
    # SIG_IGN survives execve: Python's ignored SIGPIPE would break `yes | head` in the container.
    spec = ContainerSpec(name=f"s{unique_id}", image=busybox_image, network_mode="none", init=init,
                         command=["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"])
    _run(engine, spec)
    assert output(engine, spec.name) == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
