"""Running watch mode for the CLI: pick the watched services, wire rules, runner and loop, handle signals.

Used by ``hoist watch`` and ``hoist up --watch``. The first SIGINT/SIGTERM stops watching once the action in
progress is done; a second one interrupts it.

Logs, as docker compose: an attached ``up --watch`` streams the attached services' logs (``web-1 | ...``,
compose/watch/logs.py) interleaved with the watch events; ``hoist watch`` prints the watch events only
(compose's ``watch`` command starts the services without attaching and has no log flags; its docs point to
``up --watch`` for logs).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from compose.errors import UsageError
from compose.model import Project

if TYPE_CHECKING:
    import argparse

    from compose.watch.logs import ServiceLogs
    from runtime.api import EngineAPI


def has_watch(project: Project, service: str) -> bool:
    develop = project.services[service].develop
    return bool(develop and develop.watch)


def watched_services(project: Project, names: list[str]) -> list[str]:
    """The selected services (all when none are named) that have develop.watch rules."""
    for name in names:
        if name not in project.services:
            raise UsageError(f"no such service: {name}")
    chosen = names or list(project.services)
    watched = [s for s in chosen if has_watch(project, s)]
    if not watched:
        raise UsageError("none of the selected services is configured for watch",
                         hint="add a develop.watch section to a service (see `develop` in the compose spec)")
    return watched


def _printer() -> Callable[[str], None]:
    lock = threading.Lock()

    def out(line: str) -> None:
        with lock:
            print(line, flush=True)

    return out


def run_watch(engine: EngineAPI, project: Project, services: list[str], *, prune: bool = True,
              quiet: bool = False, printer: Callable[[str], None] | None = None) -> int:
    """Watch until interrupted; returns the exit code (0 after a Ctrl-C: stopping is the normal end).

    ``printer`` prints one watch event line (default: stdout under a lock of its own)."""
    from compose.watch.actions import ActionRunner
    from compose.watch.loop import WatchLoop
    from compose.watch.rules import compile_rules

    triggers = compile_rules(project, services)
    out = printer or _printer()
    runner = ActionRunner(engine, project, printer=out, prune=prune, quiet_build=quiet)
    loop = WatchLoop(triggers, runner, printer=out, services=services, base_dir=project.working_dir,
                     changes=engine.container_changes())
    stop = threading.Event()
    previous = _install_stop_handlers(stop)
    try:
        def ready() -> None:
            out("Watch enabled: " + "; ".join(t.describe() for t in triggers))

        loop.run(stop, ready=ready)
    except KeyboardInterrupt:
        pass
    finally:
        _restore(previous)
    print("Watch disabled", file=sys.stderr, flush=True)
    return 0


def _install_stop_handlers(stop: threading.Event) -> dict[int, object]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # second signal: interrupt the action in progress
        stop.set()
        print("Stopping watch... (press Ctrl+C again to interrupt)", file=sys.stderr, flush=True)

    previous: dict[int, object] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handle)
    return previous


def _restore(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]


def run_up_watch(args: object) -> int:
    """``up --watch``: ``up`` (detached), then watch the selected services that have rules. Without ``-d`` the
    attached services' logs stream meanwhile, and the services are stopped when watching ends (their last
    lines still shown), as an attached ``up`` does on Ctrl-C."""
    from compose.cli.projectctx import project_context
    from compose.cli.upflow import run_up, stop_after_watch
    from compose.orchestrator import select_services

    attached = not (getattr(args, "detach", False) or getattr(args, "wait", False))
    args.detach = True  # type: ignore[attr-defined]
    code = run_up(args)  # type: ignore[arg-type]
    if code:
        return code
    ctx = project_context(args)  # type: ignore[arg-type]
    project = ctx.require_project()
    selected = select_services(project, list(getattr(args, "services", [])))
    candidates = [s for s in selected if has_watch(project, s)]
    if not candidates:
        print("none of the selected services is configured for watch: nothing to watch", file=sys.stderr)
        return 0
    logs = _follow_logs(args, ctx.engine, project, selected) if attached else None  # type: ignore[arg-type]
    try:
        code = run_watch(ctx.engine, project, candidates, prune=True,
                         quiet=bool(getattr(args, "quiet_build", False)),
                         printer=_event_printer(logs) if logs is not None else None)
    except BaseException:
        if logs is not None:
            logs.close(timeout=0.0)  # the services keep running here: their followers are daemons
        raise
    if attached:
        from compose.cli.boundary import EXIT_INTERRUPTED

        stop_after_watch(args, ctx, selected)  # type: ignore[arg-type]
        if logs is not None:
            logs.close()  # after the stop: the last lines and "exited with code" of each are printed
        return EXIT_INTERRUPTED  # as an attached `up` ended by Ctrl-C
    return code


def _follow_logs(args: argparse.Namespace, engine: object, project: Project,
                 selected: list[str]) -> ServiceLogs | None:
    """Stream the logs of the services an attached `up` would attach to; None when there are none."""
    from compose.cli.upflow import attached_services
    from compose.render.logs import LogPrinter
    from compose.watch.logs import ServiceLogs

    services = attached_services(args, project, selected)
    if not services:
        return None
    ansi = getattr(args, "ansi", "auto")
    colour = (not args.no_color and ansi != "never" and sys.stdout.isatty()) or ansi == "always"
    printer = LogPrinter(sys.stdout, colour=colour, prefix=not args.no_log_prefix, timestamps=args.timestamps)
    logs = ServiceLogs(engine, project.name, services, printer,  # type: ignore[arg-type]
                       changes=engine.container_changes())  # type: ignore[attr-defined]

    def announce(names: list[str]) -> None:
        if names:
            printer.message("Attaching to " + ", ".join(names))

    logs.start(announce)
    return logs


def _event_printer(logs: ServiceLogs) -> Callable[[str], None]:
    """Watch events through the log printer (its lock: a log line and an event never mix mid-line); each
    event may follow a restart or recreate, so the followers look for new runs and containers at once."""
    def out(line: str) -> None:
        logs.printer.message(line)
        logs.nudge()

    return out
