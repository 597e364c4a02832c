"""Helpers for the container runtime's integration tests: an engine on the test's root, probe runners."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from runtime.api import ContainerSpec
from runtime.engine import Engine, open_engine


@pytest.fixture(autouse=True)
def _quick_launcher_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The launcher lingers for the next start; in tests it should be gone by the leak check."""
    monkeypatch.setenv("HOIST_LAUNCHER_IDLE", "0.1")


@pytest.fixture
def engine(hoist_root: Path) -> Iterator[Engine]:
    eng = open_engine(hoist_root)
    yield eng
    # Whatever a test left (failed assertions included) goes, so the leak check sees only real leaks.
    for state in eng.container_list(all=True):
        try:
            eng.container_remove(state.id, force=True, volumes=True)
        except Exception:  # noqa: BLE001
            pass


def output(engine: Engine, ref: str) -> str:
    return "".join(r.text for r in engine.container_logs(ref) if r.stream == "stdout")


def errors(engine: Engine, ref: str) -> str:
    return "".join(r.text for r in engine.container_logs(ref) if r.stream == "stderr")


@pytest.fixture
def probe(engine: Engine, busybox_image: str, unique_id: str) -> Callable[..., tuple[int, str]]:
    """Run a shell snippet in a fresh busybox container to its end: (exit code, stdout)."""
    counter = iter(range(1000))

    def run(script: str, **spec: Any) -> tuple[int, str]:
        base = ContainerSpec(name=f"p{unique_id}{next(counter)}", image=spec.pop("image", busybox_image),
                             command=["sh", "-c", script], network_mode="none")
        state = engine.container_create(replace(base, **spec))
        engine.container_start(state.id)
        code = engine.container_wait(state.id, timeout=60)
        return code, output(engine, state.id)

    return run


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """A bounded poll: the value of ``check()`` once truthy, else a failure naming ``what``."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
