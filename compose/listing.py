"""Finding a project's containers through its labels — the one query `ps`, `down`, `logs` ... start from.
Kept apart from the orchestrator so read-only commands need not import the model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from compose import labels as L

if TYPE_CHECKING:
    from runtime.api import ContainerState, EngineAPI


def project_containers(engine: EngineAPI, project: str, *, services: Iterable[str] = (),
                       oneoff: bool | None = False, all: bool = True) -> list[ContainerState]:
    """The project's containers (``oneoff``: False = service containers, True = `run` ones, None = both),
    optionally of some services, ordered by service then replica number."""
    found = engine.container_list(labels=L.project_filter(project, oneoff=oneoff), all=all)
    wanted = set(services)
    if wanted:
        found = [c for c in found if c.labels.get(L.SERVICE) in wanted]
    return sorted(found, key=lambda c: (c.labels.get(L.SERVICE, ""), L.container_number(c.labels)))
