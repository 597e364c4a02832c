"""One error hierarchy for the compose side. Only the CLI prints errors or chooses exit codes.

Every error says what went wrong, where (file:line:column, service, key) and, when it can, how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in a compose file something is: file, 1-based line and column, dotted key path."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None  # e.g. "services.web.ports[0]"

    def __str__(self) -> str:
        parts = []
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
            parts.append(where)
        if self.path:
            parts.append(self.path)
        return ": ".join(parts)


class ComposeError(Exception):
    """Base of every error the compose side raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code = 1

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location and str(self.location) else self.message
        if self.location and self.location.path and self.message.startswith(self.location.path):
            # The message already names the key path: print the place once ("f:3:5: services.web ...").
            place = str(Location(self.location.file, self.location.line, self.location.column))
            text = f"{place}: {self.message}" if place else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(ComposeError):
    """Bad command-line usage (unknown service, conflicting flags...)."""


class ConfigError(ComposeError):
    """Anything wrong with the compose files or their environment."""


class FileNotFound(ConfigError):
    """No compose file where one was expected."""


class YamlError(ConfigError):
    """A YAML syntax error or a duplicate key."""


class InterpolationError(ConfigError):
    """A bad ${...} expression or a required variable that is unset."""


class EnvFileError(ConfigError):
    """A .env or env_file that cannot be read or parsed."""


class SchemaError(ConfigError):
    """A value that the compose schema does not allow."""


class ReferenceError_(ConfigError):
    """A reference to an undefined service, network, volume, secret or config."""


class CycleError(ConfigError):
    """A dependency cycle (depends_on, extends, include)."""


class ConflictError(ConfigError):
    """Two parts of the project claim the same thing (a host port, a fixed container name for replicas)."""


class ProjectNameError(ConfigError):
    """An invalid project name."""


class OperationError(ComposeError):
    """An operation on the project failed (a container that would not start, an unhealthy dependency...)."""


class DependencyFailed(OperationError):
    """A dependency did not reach the condition its dependents wait for."""
