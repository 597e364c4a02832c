"""Registries for the registry tests: one plain-HTTP and one HTTPS + basic-auth server per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.registry_server import TEST_PASSWORD, TEST_USER, RegistryServer


@pytest.fixture(scope="session")
def registry() -> Iterator[RegistryServer]:
    server = RegistryServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def secure_registry() -> Iterator[RegistryServer]:
    server = RegistryServer(tls=True, user=TEST_USER, password=TEST_PASSWORD).start()
    yield server
    server.stop()
