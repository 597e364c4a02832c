"""Healthcheck state as Docker keeps it: status, failing streak and the last 5 results (moby daemon/health.go).

Pure logic with an injectable clock; the supervisor runs the probes and feeds results in. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.containers.plan import HealthPlan

MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096
DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_START_INTERVAL = 5.0
DEFAULT_RETRIES = 3
EXIT_TIMEOUT = -1


def probe_argv(test: list[str]) -> list[str] | None:
    """["CMD", ...] runs as is, ["CMD-SHELL", "x"] through /bin/sh -c; NONE (or nothing) disables."""
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return list(test[1:]) or None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return ["/bin/sh", "-c", " ".join(test)]  # a bare string, as the docker CLI accepts


@dataclass
class HealthState:
    plan: HealthPlan
    started_at: float  # the container's start, on the same clock as the probe times
    status: str = "starting"
    failing_streak: int = 0
    log: list[dict[str, object]] = field(default_factory=list)

    @property
    def interval(self) -> float:
        return self.plan.interval if self.plan.interval > 0 else DEFAULT_INTERVAL

    @property
    def timeout(self) -> float:
        return self.plan.timeout if self.plan.timeout > 0 else DEFAULT_TIMEOUT

    @property
    def retries(self) -> int:
        return self.plan.retries if self.plan.retries > 0 else DEFAULT_RETRIES

    def in_start_period(self, now: float) -> bool:
        return now - self.started_at < self.plan.start_period

    def next_delay(self, now: float) -> float:
        """Seconds until the next probe: start_interval while starting inside the start period."""
        if self.status == "starting" and self.in_start_period(now):
            return self.plan.start_interval if self.plan.start_interval > 0 else DEFAULT_START_INTERVAL
        return self.interval

    def record(self, start: float, end: float, exit_code: int, output: str, start_iso: str,
               end_iso: str) -> None:
        self.log.append({"Start": start_iso, "End": end_iso, "ExitCode": exit_code,
                         "Output": output[:MAX_OUTPUT]})
        del self.log[:-MAX_LOG_ENTRIES]
        if exit_code == 0:
            self.failing_streak = 0
            self.status = "healthy"
            return
        if self.status == "starting" and self.in_start_period(start):
            return  # failures inside the start period do not count
        self.failing_streak += 1
        if self.failing_streak >= self.retries:
            self.status = "unhealthy"

    def to_dict(self) -> dict[str, object]:
        return {"Status": self.status, "FailingStreak": self.failing_streak, "Log": list(self.log)}
