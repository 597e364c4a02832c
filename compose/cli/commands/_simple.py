"""Shared shape of the simple lifecycle commands (start, stop, restart, pause, unpause, kill)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def run_lifecycle(args: argparse.Namespace, title: str, op: Callable[[Any], Any], *,
                  need_file: bool = False) -> int:
    from compose.cli.projectctx import check_services, fail_on, progress, project_context

    ctx = project_context(args, need_file=need_file)
    check_services(ctx, list(getattr(args, "services", [])))
    with progress(args, title) as sink:
        outcome = op(ctx.orchestrator(sink))
    fail_on(outcome, title.lower())
    return 0
