from __future__ import annotations

import pytest

from compose.errors import CycleError
from compose.graph import ServiceGraph


def _graph() -> ServiceGraph:
    return ServiceGraph.from_services({
        "web": {"depends_on": {"api": {}}, "links": ["cache:c"]},
        "api": {"depends_on": ["db"], "volumes_from": ["data:ro", "container:abc"]},
        "db": {}, "cache": {}, "data": {},
        "sidecar": {"network_mode": "service:web", "pid": "service:api"},
    })


def test_start_generations_and_reverse_for_stop() -> None:
    g = _graph()
    assert g.start_generations() == [["cache", "data", "db"], ["api"], ["web"], ["sidecar"]]
    assert g.stop_generations() == [["sidecar"], ["web"], ["api"], ["cache", "data", "db"]]


def test_subset_brings_what_it_needs() -> None:
    assert _graph().start_order(["api"]) == ["data", "db", "api"]


def test_dependencies_and_dependents() -> None:
    g = _graph()
    assert g.dependencies("web") == {"api", "cache", "db", "data"}
    assert g.dependencies("web", transitive=False) == {"api", "cache"}
    assert g.dependents("db") == {"api", "web", "sidecar"}


@pytest.mark.parametrize("services,cycle", [
    ({"a": {"depends_on": ["b"]}, "b": {"depends_on": ["c"]}, "c": {"depends_on": ["a"]}}, "a -> b -> c -> a"),
    ({"a": {"depends_on": ["a"]}}, "a -> a"),
    ({"a": {"network_mode": "service:b"}, "b": {"links": ["a"]}}, "a -> b -> a"),
])
def test_cycles_are_reported_with_their_path(services: dict, cycle: str) -> None:
    with pytest.raises(CycleError) as info:
        ServiceGraph.from_services(services).start_generations()
    assert f"dependency cycle detected: {cycle}" in str(info.value)
