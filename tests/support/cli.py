"""Running the hoist CLI as a whole process on a compose project written into a temp dir (e2e tests)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
HOIST = [sys.executable, "-m", "compose.cli.main"]


@dataclass
class Result:
    rc: int
    out: str
    err: str


class Hoist:
    """``hoist -p <project> --progress plain ...`` in ``workdir`` against the test's state root."""

    def __init__(self, root: Path, workdir: Path, project: str) -> None:
        self.root = root
        self.workdir = workdir
        self.project = project
        self.env = {**os.environ, "HOIST_ROOT": str(root), "PYTHONPATH": str(PROJECT_DIR)}
        self.env.pop("COMPOSE_PROJECT_NAME", None)

    def write(self, text: str, name: str = "compose.yaml") -> Path:
        path = self.workdir / name
        path.write_text(text)
        return path

    def argv(self, *args: str) -> list[str]:
        return [*HOIST, "-p", self.project, "--progress", "plain", *args]

    def __call__(self, *args: str, timeout: float = 60, check: bool = True, input: str | None = None) -> Result:
        # stdin is never the test runner's: a terminal there would make `run` allocate a TTY.
        proc = subprocess.run(self.argv(*args), cwd=self.workdir, env=self.env, capture_output=True, text=True,
                              timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL)
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(f"hoist {' '.join(args)} exited {proc.returncode}\n{proc.stderr}\n{proc.stdout}")
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*args), cwd=self.workdir, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def ps(self, *services: str) -> list[dict[str, Any]]:
        out = self("ps", "-a", "--format", "json", *services).out
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def states(self) -> dict[str, str]:
        return {c["Name"]: c["State"] for c in self.ps()}


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Bounded poll: the predicate's first truthy value, or an AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def interrupt(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
