"""Making sure every service's image is there before `up`/`create`/`run`: build the ones with ``build:``
(as ``<project>-<service>`` unless ``image:`` names it), pull the others, as --build/--no-build/--pull and
each service's ``pull_policy`` say."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from compose import convert
from compose import events as ev
from compose.errors import OperationError
from compose.model import Project, Service
from runtime.api import EngineAPI


@dataclass(frozen=True)
class ImagePolicy:
    """How commands that need images (up, run, scale, build, watch) get them: --build/--no-build/--pull etc."""

    build: bool = False  # --build
    no_build: bool = False  # --no-build
    pull: str | None = None  # --pull always|missing|never|policy (None: the service's pull_policy)
    no_cache: bool = False
    build_args: tuple[tuple[str, str], ...] = ()
    quiet: bool = False


def _optional(module: str, attr: str) -> Callable[..., Any] | None:
    """A function of another area's module, or None while that module does not exist yet."""
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def decide(service: Service, exists: bool, policy: ImagePolicy) -> str:
    """"build", "pull" or "" (use what is there) for one service."""
    pull_policy = policy.pull if policy.pull not in (None, "policy") else (service.pull_policy or "missing")
    if service.build is not None:
        if policy.no_build:
            return ""
        if policy.build or pull_policy == "build" or not exists:
            return "build"
        return ""
    if pull_policy == "always":
        return "pull"
    if pull_policy == "never":
        return ""
    return "" if exists else "pull"


def ensure_images(engine: EngineAPI, project: Project, services: list[str], policy: ImagePolicy,
                  report: ev.Reporter) -> None:
    # Refs known to be in the store: services often share one image, each look-up reads and parses the
    # store's index, and nothing here removes an image.
    present: set[str] = set()
    for name in services:
        svc = project.services[name]
        ref = convert.image_name(project, svc)
        exists = ref in present or engine.image_exists(ref)
        what = decide(svc, exists, policy)
        if what == "build":
            build_service(engine, project, svc, policy, report)
        elif what == "pull":
            pull_image(engine, ref, report, rid=f"Image {ref}")
        elif exists:
            present.add(ref)
            continue
        if not engine.image_exists(ref):
            raise OperationError(f'image "{ref}" of service "{name}" is not available',
                                 hint="pull or import it (hoist image import / hoist pull), or give the service "
                                 "a build: section" if svc.build is None else "build it with `hoist build`")
        present.add(ref)


def build_service(engine: EngineAPI, project: Project, svc: Service, policy: ImagePolicy,
                  report: ev.Reporter) -> str:
    ref = convert.image_name(project, svc)
    builder = _optional("runtime.images.build.builder", "build_service_image")
    if builder is None:
        raise OperationError(f'cannot build service "{svc.name}": the image builder is not available',
                             hint="provide the image another way (hoist image import) and drop --build")
    assert svc.build is not None
    rid = ev.image_id(ref)
    report.working(rid, ev.BUILDING)
    builder(engine, svc.build, ref, no_cache=policy.no_cache, pull=policy.pull == "always",
            build_args=dict(policy.build_args), quiet=policy.quiet)
    for tag in svc.build.tags:
        engine.image_tag(ref, tag)
    report.done(rid, ev.BUILT)
    return ref


def pull_image(engine: EngineAPI, ref: str, report: ev.Reporter, *, rid: str) -> None:
    pull = _optional("runtime.images.pull", "pull_image")
    if pull is None:
        raise OperationError(f'image "{ref}" is not in the store and pulling is not available',
                             hint="import it with `hoist image import` or `hoist image load`")
    report.working(rid, ev.PULLING)
    pull(engine.root, ref)
    report.done(rid, ev.PULLED)


def push_image(engine: EngineAPI, ref: str, report: ev.Reporter) -> None:
    push = _optional("runtime.images.push", "push_image")
    if push is None:
        raise OperationError(f'cannot push "{ref}": pushing is not available')
    rid = ev.image_id(ref)
    report.working(rid, "Pushing")
    push(engine.root, ref)
    report.done(rid, "Pushed")
