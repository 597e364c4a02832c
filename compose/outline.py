"""What the label-driven teardown commands (`down`) need of the compose file: which services it declares
(enabled and disabled, to tell orphans apart) and their ``stop_grace_period``.

Why not the typed model: on an unchanged project the load cache hands back the canonical document, and
reading these few keys from it spares `down` the model's import and build (~10 ms measured), all of it
before the first stop signal goes out. The values are the model's own: the same document, the same duration
parser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compose.model import Project


@dataclass(frozen=True)
class ProjectOutline:
    services: frozenset[str]  # enabled
    disabled: frozenset[str]  # switched off by profiles: their containers are not orphans
    stop_grace_periods: dict[str, float] = field(default_factory=dict)  # enabled services that set one

    @property
    def known(self) -> frozenset[str]:
        return self.services | self.disabled

    @classmethod
    def from_project(cls, project: Project) -> ProjectOutline:
        return cls(frozenset(project.services), frozenset(project.disabled_services),
                   {name: svc.stop_grace_period for name, svc in project.services.items()
                    if svc.stop_grace_period is not None})

    @classmethod
    def from_document(cls, document: Mapping[str, Any], disabled: Mapping[str, Any]) -> ProjectOutline:
        """From a canonical (validated) document, as the load cache keeps it."""
        from compose.units import parse_duration

        services = document.get("services") or {}
        graces = {}
        for name, svc in services.items():
            value = (svc or {}).get("stop_grace_period")
            if value is not None:
                graces[name] = parse_duration(value)  # what the model's float conversion calls
        return cls(frozenset(services), frozenset(disabled or {}), graces)
