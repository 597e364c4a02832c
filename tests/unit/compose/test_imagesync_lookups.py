"""ensure_images asks the store once per image the services share, and still checks what it pulled."""

from __future__ import annotations

from typing import Any

import pytest

from compose import events as ev
from compose import imagesync
from compose.errors import OperationError
from compose.imagesync import ImagePolicy, ensure_images
from compose.model import Project, Service
from tests.support.fake_engine import FakeEngine


class _Sink:
    def emit(self, event: Any) -> None:
        pass


class _CountingEngine(FakeEngine):
    def __init__(self) -> None:
        super().__init__()
        self.lookups: list[str] = []

    def image_exists(self, ref: str) -> bool:
        self.lookups.append(ref)
        return super().image_exists(ref)


def _project(*images: str) -> Project:
    return Project(name="p", working_dir="/", services={f"s{i}": Service(name=f"s{i}", image=image)
                                                        for i, image in enumerate(images)})


def test_one_look_up_per_shared_image() -> None:
    engine = _CountingEngine()
    engine.add_image("busybox")
    engine.add_image("alpine")
    project = _project("busybox", "busybox", "alpine", "busybox")
    ensure_images(engine, project, list(project.services), ImagePolicy(), ev.Reporter(_Sink()))  # type: ignore[arg-type]
    assert sorted(engine.lookups) == ["alpine", "busybox"]


def test_a_pulled_image_is_checked_and_then_known(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _CountingEngine()
    pulled: list[str] = []

    def pull(_engine: Any, ref: str, _report: Any, *, rid: str) -> None:
        pulled.append(ref)
        engine.add_image(ref)

    monkeypatch.setattr(imagesync, "pull_image", pull)
    project = _project("busybox", "busybox")
    ensure_images(engine, project, list(project.services), ImagePolicy(), ev.Reporter(_Sink()))  # type: ignore[arg-type]
    assert pulled == ["busybox"]
    assert engine.lookups == ["busybox", "busybox"]  # before the pull, and the check after it


def test_a_missing_image_that_is_not_pulled_is_an_error() -> None:
    engine = _CountingEngine()
    project = _project("busybox")
    with pytest.raises(OperationError, match='image "busybox" of service "s0" is not available'):
        ensure_images(engine, project, list(project.services), ImagePolicy(pull="never"),  # type: ignore[arg-type]
                      ev.Reporter(_Sink()))
