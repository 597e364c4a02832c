"""The runtime's error hierarchy. Every error carries a message a user can act on."""

from __future__ import annotations


class RuntimeErrorBase(Exception):
    """Base of every error the engine raises on purpose.

    ``hint`` says how to fix it when there is something the user can do.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class NotFound(RuntimeErrorBase):
    """A container, image, network or volume that does not exist."""


class Conflict(RuntimeErrorBase):
    """A name already in use, a port already taken, an object still in use."""


class InvalidSpec(RuntimeErrorBase):
    """A spec the engine cannot honour (bad limit, unknown capability, ulimit above the hard limit...)."""


class StateError(RuntimeErrorBase):
    """An operation not valid in the object's current state (start a running container...)."""


class SetupError(RuntimeErrorBase):
    """A container could not be set up; ``step`` names the setup step that failed."""

    def __init__(self, message: str, *, step: str = "", hint: str | None = None) -> None:
        super().__init__(f"{step}: {message}" if step else message, hint=hint)
        self.step = step


class ImageError(RuntimeErrorBase):
    """A corrupt, truncated or unsupported image archive or manifest."""


class RegistryError(RuntimeErrorBase):
    """A registry refused or failed a request."""


class BuildError(RuntimeErrorBase):
    """An image build step failed."""


class NetworkError(RuntimeErrorBase):
    """A network could not be created, connected or torn down."""
