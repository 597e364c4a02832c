"""Restart policies with moby's backoff (restartmanager.go): 100 ms doubling to 1 min, reset after 10 s up."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_DELAY = 0.1
MAX_DELAY = 60.0
BACKOFF_MULTIPLIER = 2
RESET_AFTER = 10.0


@dataclass
class RestartManager:
    policy: str  # no, always, on-failure, unless-stopped
    max_retries: int = 0
    restart_count: int = 0
    delay: float = 0.0  # the last delay used; 0 before the first restart

    def should_restart(self, exit_code: int, manually_stopped: bool, ran_for: float) -> float | None:
        """The delay before restarting, or None for no restart. A manual stop cancels every policy."""
        if self.policy in ("", "no") or manually_stopped:
            return None
        if ran_for >= RESET_AFTER:
            self.delay = 0.0
        if self.delay == 0.0:
            self.delay = DEFAULT_DELAY
        elif self.delay < MAX_DELAY:
            self.delay *= BACKOFF_MULTIPLIER
        self.delay = min(self.delay, MAX_DELAY)
        if self.policy in ("always", "unless-stopped"):
            restart = True
        elif self.policy == "on-failure":
            restart = exit_code != 0 and (self.max_retries <= 0 or self.restart_count < self.max_retries)
        else:
            restart = False
        if not restart:
            return None
        self.restart_count += 1
        return self.delay
