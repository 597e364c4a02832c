"""The `up` (and `create`) flow: images, convergence under the project lock, then --wait, detach, or
attach to the logs with compose's Ctrl-C behaviour (first: graceful stop in reverse dependency order;
second: kill) and exit codes (130 on Ctrl-C, --exit-code-from, --abort-on-container-failure)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from compose.cli.boundary import EXIT_INTERRUPTED
from compose.cli.projectctx import ProjectContext, fail_on, parse_scale, progress, project_context
from compose.errors import OperationError, UsageError

if TYPE_CHECKING:
    from compose.model import Project
    from compose.orchestrator import UpOptions


@dataclass
class Interrupts:
    """SIGINT/SIGTERM while `up` runs: the first asks for a graceful stop, the second for a kill."""

    count: int = 0
    first: threading.Event = field(default_factory=threading.Event)
    second: threading.Event = field(default_factory=threading.Event)

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._handle)
            signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.count == 1:
            self.first.set()
            print("Gracefully stopping... (press Ctrl+C again to force)", file=sys.stderr, flush=True)
        else:
            self.second.set()


def _check_flags(args: argparse.Namespace) -> None:
    if args.force_recreate and args.no_recreate:
        raise UsageError("--force-recreate and --no-recreate are incompatible")
    if getattr(args, "always_recreate_deps", False) and args.no_recreate:
        raise UsageError("--always-recreate-deps and --no-recreate are incompatible")
    if args.build and args.no_build:
        raise UsageError("--build and --no-build are incompatible")
    aborting = args.abort_on_container_exit or args.abort_on_container_failure or args.exit_code_from
    if args.detach and aborting:
        raise UsageError("--abort-on-container-exit, --abort-on-container-failure and --exit-code-from cannot "
                         "be combined with -d/--detach or --wait")
    if args.abort_on_container_exit and args.abort_on_container_failure:
        raise UsageError("--abort-on-container-exit and --abort-on-container-failure are incompatible")


def run_up(args: argparse.Namespace) -> int:
    from compose.imagesync import ImagePolicy, ensure_images
    from compose.lock import project_lock
    from compose.orchestrator import UpOptions, select_services

    args.detach = bool(getattr(args, "detach", False) or getattr(args, "wait", False))
    for name in ("abort_on_container_exit", "abort_on_container_failure", "exit_code_from", "wait",
                 "no_deps", "timeout", "renew_anon_volumes"):
        if not hasattr(args, name):
            setattr(args, name, None if name in ("exit_code_from", "timeout") else False)
    _check_flags(args)
    if args.exit_code_from:
        args.abort_on_container_exit = True
    ctx = project_context(args)
    project = ctx.require_project()
    if args.exit_code_from and args.exit_code_from not in project.services:
        raise UsageError(f"--exit-code-from: no such service: {args.exit_code_from}")
    opts = UpOptions(services=list(args.services), no_deps=bool(args.no_deps),
                     force_recreate=args.force_recreate, no_recreate=args.no_recreate,
                     always_recreate_deps=bool(getattr(args, "always_recreate_deps", False)),
                     remove_orphans=args.remove_orphans, scale=parse_scale(args.scale),
                     start=not getattr(args, "no_start", False), timeout=args.timeout,
                     renew_anon_volumes=bool(args.renew_anon_volumes))
    if getattr(args, "dry_run", False):
        return _dry_run(ctx, opts)
    interrupts = Interrupts()
    interrupts.install()
    with project_lock(ctx.root, ctx.name):
        with progress(args, "Running") as sink:
            orch = ctx.orchestrator(sink)
            from compose.events import Reporter

            selected = select_services(project, opts.services, with_deps=not opts.no_deps)
            ensure_images(ctx.engine, project, selected,
                          ImagePolicy(build=args.build, no_build=args.no_build, pull=args.pull,
                                      quiet=bool(getattr(args, "quiet_build", False))), Reporter(sink))
            result = orch.up(opts, cancel=interrupts.first)
    if interrupts.first.is_set():
        return _stop_after_interrupt(args, ctx, selected, interrupts)
    fail_on(result.outcome, "up")
    if not result.changed and opts.start and getattr(args, "progress", "auto") not in ("quiet", "json"):
        print("Nothing to do: every service is up to date", file=sys.stderr)
    if not opts.start:
        return 0
    if args.wait:
        return _wait(args, ctx, project, selected)
    if args.detach:
        return 0
    return _attached(args, ctx, project, selected, interrupts)


def stop_after_watch(args: argparse.Namespace, ctx: ProjectContext, services: list[str]) -> None:
    """Attached `up --watch`'s stop once Ctrl-C ended watching (that was the first interrupt): each service
    with its grace period, and a kill when Ctrl-C comes again, as an attached `up`'s second Ctrl-C."""
    interrupts = Interrupts(count=1)
    interrupts.install()
    _stop_after_interrupt(args, ctx, services, interrupts)


def _stop_after_interrupt(args: argparse.Namespace, ctx: ProjectContext, services: list[str],
                          interrupts: Interrupts) -> int:
    with progress(args, "Stopping") as sink:
        orch = ctx.orchestrator(sink)
        stopper = threading.Thread(target=orch.stop, args=(services,), kwargs={"timeout": args.timeout},
                                   daemon=True)
        stopper.start()
        while stopper.is_alive():
            stopper.join(0.1)
            if interrupts.second.is_set():
                orch.kill(services)
                break
    return EXIT_INTERRUPTED


def _wait(args: argparse.Namespace, ctx: ProjectContext, project: Project, selected: list[str]) -> int:
    from compose.conditions import wait_ready
    from compose.events import Reporter, container_id
    from compose.labels import SERVICE

    containers = ctx.orchestrator().containers(services=selected)
    oneshot = {c.name for c in containers if (project.services[c.labels[SERVICE]].restart or "no") == "no"}
    with progress(args, "Waiting") as sink:
        rep = Reporter(sink)
        for c in containers:
            rep.working(container_id(c.name), "Waiting")
        failures = wait_ready(ctx.engine, containers, oneshot=oneshot, timeout=args.wait_timeout or None,
                              on_ready=lambda c: rep.done(container_id(c.name),
                                                          "Healthy" if c.health == "healthy" else
                                                          ("Exited" if c.status == "exited" else "Running")))
        for name, why in failures.items():
            rep.error(container_id(name), "Error", why)
    if failures:
        raise OperationError("not every service became ready:\n  " + "\n  ".join(failures.values()))
    return 0


def _attached(args: argparse.Namespace, ctx: ProjectContext, project: Project, selected: list[str],
              interrupts: Interrupts) -> int:
    from compose.attach import Attacher, Exit, display_name
    from compose.labels import SERVICE
    from compose.render.logs import LogPrinter

    attach_to = _attach_services(args, project, selected)
    orch = ctx.orchestrator()
    containers = orch.containers(services=attach_to)
    colour = not args.no_color and args.ansi != "never" and sys.stdout.isatty() or args.ansi == "always"
    printer = LogPrinter(sys.stdout, colour=colour, prefix=not args.no_log_prefix, timestamps=args.timestamps)
    for c in containers:
        printer.register(display_name(c))
    print("Attaching to " + ", ".join(display_name(c) for c in containers), flush=True)
    abort = threading.Event()
    state: dict[str, object] = {}

    def on_exit(e: Exit) -> None:
        service = e.container.labels.get(SERVICE)
        if args.exit_code_from and service == args.exit_code_from and "code" not in state:
            state["code"] = e.code
        if args.abort_on_container_exit or (args.abort_on_container_failure and e.code != 0):
            if "abort_by" not in state:
                state["abort_by"] = e
                if args.abort_on_container_failure:
                    state.setdefault("code", e.code)
            abort.set()

    attacher = Attacher(ctx.engine, printer, on_exit=on_exit)
    # In the order they started, so the output of one-shots that already ran comes first, as it happened.
    containers.sort(key=lambda c: c.started_at or "~")
    for c in containers:
        # Only this run's output, as compose attaches before starting: not what a previous run printed.
        attacher.attach(c, since=c.started_at or None)
    while not attacher.all_exited and not abort.is_set() and not interrupts.first.is_set():
        attacher.wait_any(0.2)
    if interrupts.first.is_set() or abort.is_set():
        if abort.is_set() and not interrupts.first.is_set():
            e = state["abort_by"]
            assert isinstance(e, Exit)
            printer.message(f"Aborting on container exit... ({display_name(e.container)} exited with code "
                            f"{e.code})")
        _stop_after_interrupt(args, ctx, selected, interrupts)
        if interrupts.first.is_set() and not abort.is_set():
            return EXIT_INTERRUPTED
    code = state.get("code", 0)
    return int(code) if isinstance(code, int) else 0


def attached_services(args: argparse.Namespace, project: Project, selected: list[str]) -> list[str]:
    """The services an attached `up` streams the logs of (also `up --watch`, compose/watch/session.py):
    --attach, --no-attach, --attach-dependencies and each service's ``attach:``, as compose decides."""
    return _attach_services(args, project, selected)


def _attach_services(args: argparse.Namespace, project: Project, selected: list[str]) -> list[str]:
    if args.attach:
        chosen = list(args.attach)
    elif args.services and not args.attach_dependencies:
        chosen = list(args.services)
    else:
        chosen = [s for s in selected if project.services[s].attach is not False]
    excluded = set(args.no_attach or [])
    return [s for s in chosen if s not in excluded]


def _dry_run(ctx: ProjectContext, opts: UpOptions) -> int:
    """--dry-run: the convergence plan, decided exactly as `up` decides it, and nothing touched."""
    _, plan = ctx.orchestrator().plan_up(opts)
    for line in plan.describe():
        print(f"DRY-RUN MODE - {line}", file=sys.stderr)
    for c in plan.orphans:
        print(f"DRY-RUN MODE - orphan {c.name}" + (" (would be removed)" if opts.remove_orphans else ""),
              file=sys.stderr)
    return 0
