"""Entry point: global flags as docker compose has them, one module per command, one error boundary.

Start-up time is a feature: this module and every command module import only the standard library at
module level. Heavy libraries (networkx, jsonschema, rich) are imported inside ``run``.
"""

from __future__ import annotations

import gc
import os
import sys

from compose import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (and re, collections): start-up time
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import NoReturn

# Command name -> module under compose.cli.commands. Each module defines HELP, add_arguments(parser) and
# run(args) -> int. Aliases map to the same module.
COMMANDS: dict[str, str] = {
    # orchestration (issue 6)
    "up": "up",
    "down": "down",
    "create": "create",
    "start": "start",
    "stop": "stop",
    "restart": "restart",
    "kill": "kill",
    "pause": "pause",
    "unpause": "unpause",
    "rm": "rm",
    "ps": "ps",
    "logs": "logs",
    "exec": "exec",
    "run": "run",
    "top": "top",
    "stats": "stats",
    "port": "port",
    "events": "events",
    "wait": "wait",
    "ls": "ls",
    "images": "images",
    "volumes": "volumes",
    "attach": "attach",
    "cp": "cp",
    "commit": "commit",
    "export": "export",
    "scale": "scale",
    "build": "build",
    "pull": "pull",
    "push": "push",
    "version": "version",
    # watch mode (issue 8)
    "watch": "watch",
    # engine (issue 4)
    "image": "image",
    "container": "container",
    "volume": "volume",
    "system": "system",
    # networking (issue 5)
    "network": "network",
    # registries (issue 7)
    "login": "login",
    "logout": "logout",
    # compose files (issue 3)
    "config": "config",
}
ALIASES: dict[str, str] = {"convert": "config"}

GLOBAL_FLAGS_WITH_VALUE = frozenset({
    "-f", "--file", "-p", "--project-name", "--project-directory", "--profile", "--env-file", "--parallel",
    "--progress", "--ansi", "--root",
})
PROGRESS_MODES = ("auto", "tty", "plain", "json", "quiet")
ANSI_MODES = ("never", "always", "auto")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only`` (the command being run) the other commands' modules are not imported
    and their flags not built — that halves the start-up time of every command. Without ``only`` every
    lazily built sub-command parser (compose.cli.parsers) is built too: help and the docs read them all."""
    import argparse
    import importlib

    from compose.cli import parsers

    parsers.cache_translations()
    parser = argparse.ArgumentParser(
        prog="hoist",
        description="hoist: define and run multi-container applications (a docker compose work-alike with "
        "its own container runtime).",
        epilog="Run 'hoist COMMAND --help' for more information on a command. "
        "'hoist compose COMMAND' is accepted too.",
    )
    parser.add_argument("-v", "--version", action="store_true", help="show the hoist version and exit")
    add_global_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, module_name in COMMANDS.items():
        aliases = [a for a, target in ALIASES.items() if target == name]
        if only is not None and only not in (name, *aliases):
            # No parser at all for the others: ``only`` is the command word argparse will see (invoked_command
            # skips the global flags as argparse does), and no message of the top-level parser lists choices.
            continue
        module = importlib.import_module(f"compose.cli.commands.{module_name}")
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP, aliases=aliases)
        module.add_arguments(cmd)
        # Global flags are accepted after the command too (cobra's persistent flags allow that).
        add_global_flags(cmd, after_command=True)
        cmd.set_defaults(_module=module)
    if only is None:
        parsers.populate_all(parser)
    return parser


def add_global_flags(parser: argparse.ArgumentParser, *, after_command: bool = False) -> None:
    g = parser.add_argument_group("global options")
    if after_command:
        # SUPPRESS: a flag not given after the command must not reset the value given before it.
        g = _SuppressingGroup(g)  # type: ignore[assignment]
    g.add_argument("-f", "--file", dest="files", action="append", default=None, metavar="FILE",
                   help="compose configuration file (repeatable; '-' reads standard input)")
    g.add_argument("-p", "--project-name", dest="project_name", metavar="NAME", help="project name")
    g.add_argument("--project-directory", dest="project_directory", metavar="DIR",
                   help="alternate working directory (default: the directory of the first compose file)")
    g.add_argument("--profile", dest="profiles", action="append", default=None, metavar="PROFILE",
                   help="enable a profile (repeatable)")
    g.add_argument("--env-file", dest="env_files", action="append", default=None, metavar="FILE",
                   help="alternate environment file (repeatable)")
    g.add_argument("--parallel", type=int, default=int(os.environ.get("COMPOSE_PARALLEL_LIMIT", "-1")),
                   metavar="N", help="maximum parallelism, -1 for unlimited")
    g.add_argument("--progress", choices=PROGRESS_MODES, default=os.environ.get("COMPOSE_PROGRESS", "auto"),
                   help="progress output type")
    g.add_argument("--ansi", choices=ANSI_MODES, default=os.environ.get("COMPOSE_ANSI", "auto"),
                   help="control when to print ANSI control characters")
    g.add_argument("--dry-run", action="store_true", help="show what would be done without doing it")
    g.add_argument("--compatibility", action="store_true", help="run in backward compatibility mode")
    g.add_argument("--root", default=None, metavar="DIR",
                   help="state root directory (default $HOIST_ROOT or /var/lib/hoist)")


class _SuppressingGroup:
    """Adds arguments whose default is SUPPRESS, and never a short flag that a command already uses."""

    def __init__(self, group: argparse._ArgumentGroup) -> None:
        self._group = group

    def add_argument(self, *flags: str, **kwargs: object) -> None:
        import argparse

        kwargs["default"] = argparse.SUPPRESS
        kwargs["help"] = argparse.SUPPRESS
        taken = self._group._option_string_actions  # shared with the parser
        free = [f for f in flags if f not in taken]
        if free:
            self._group.add_argument(*free, **kwargs)  # type: ignore[arg-type]


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """Accept ``hoist compose <command> ...`` (how tools call a docker CLI plugin) as ``hoist <command>``."""
    args = list(argv)
    # Global flags may come before "compose" too; drop the first bare "compose" that precedes a command.
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "compose":
            return args[:i] + args[i + 1:]
        if not arg.startswith("-"):
            break
        i += 2 if arg in GLOBAL_FLAGS_WITH_VALUE else 1
    return args


def invoked_command(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (after the global flags), if it names a known command."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            return None  # the top-level help lists every command: it needs the whole parser
        if not arg.startswith("-"):
            return arg if arg in COMMANDS or arg in ALIASES else None
        i += 2 if arg in GLOBAL_FLAGS_WITH_VALUE else 1
    return None


def main(argv: Sequence[str] | None = None) -> int:
    owns_process = argv is None  # the console script; in-process callers (tests) keep their own GC settings
    if owns_process:
        gc.disable()  # until the command runs: see _collect_from_here_on
    argv = normalize_argv(sys.argv[1:] if argv is None else argv)
    if argv in (["--version"], ["-v"]):
        # Fast path: no parser construction at all.
        print(f"hoist version v{__version__}")
        return 0
    if owns_process and "container" in argv[:3]:
        # `container run` through the root's warm run server when it can (see compose.cli.fastrun): before
        # any heavy import, which is what that path exists to avoid.
        from compose.cli import fastrun

        code = fastrun.try_run(argv)
        if code is not None:
            fastrun.exit_now(code)
    from compose.cli import codecache

    codecache.install()  # before any dataclass-heavy import: saves 60-75 ms per process (see the module)
    command = invoked_command(argv)
    if command is not None:
        from compose.cli.parsers import go_bool_argv

        argv = go_bool_argv(argv, argv[argv.index(command):])
    parser = build_parser(only=command)
    args = parser.parse_args(argv)
    if args.version:
        print(f"hoist version v{__version__}")
        return 0
    if args.root:
        os.environ["HOIST_ROOT"] = os.path.abspath(args.root)
    module = getattr(args, "_module", None)
    if module is None:
        parser.print_help()
        return 0
    from compose.cli.boundary import run_command

    if getattr(args, "dry_run", False):
        from compose import dryrun

        command = invoked_command(argv) or ""
        if command not in dryrun.ALLOWED:  # before it does anything: see compose/dryrun.py
            print(f"error: {dryrun.refusal(command)}", file=sys.stderr)
            return 1
    if owns_process:
        _collect_from_here_on()
    code = run_command(module, args)
    if owns_process and "compose.cli.fastrun" in sys.modules:
        sys.modules["compose.cli.fastrun"].spawn_pending()  # the run server for the next `container run`
    if owns_process and not os.environ.get("HOIST_FULL_EXIT"):
        _leave(code)
    return code


def _leave(code: int) -> NoReturn:
    """End the process as the interpreter's exit would, without its teardown of every module and object:
    3-6 ms of each command here (~10 ms under load), spent freeing memory the kernel takes back anyway.

    What that exit does that matters is done first: non-daemon threads are waited for, the atexit handlers
    run (the dataclass code cache's save, tempfile's and logging's cleanups), the standard streams are
    flushed. Nothing else is left to the teardown: files are written and closed where they are made, and
    SQLite's committed transactions are already in its WAL (the checkpoint on close is an optimisation the
    next connection makes instead). HOIST_FULL_EXIT=1 takes the interpreter's own exit (debugging leaks).
    """
    import atexit

    threading = sys.modules.get("threading")
    if threading is not None:
        current = threading.current_thread()
        for thread in threading.enumerate():
            if thread is not current and not thread.daemon:
                thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass  # a reader that went away: the interpreter's exit would not report it either
    os._exit(code)


def _collect_from_here_on() -> None:
    """Start the cyclic GC for the command itself, leaving out everything made until now.

    Start-up (imports, the parser) creates some 100k objects that live as long as the process: the GC's
    passes over them while they were made, and the final collection at exit, cost ~7% of a short command's
    CPU (``container run``: 26M of 367M instructions). ``gc.freeze`` moves them to the permanent generation,
    which no collection visits; whatever the command allocates from here on is collected as usual, so long
    commands (``up`` attached, ``logs -f``, ``watch``) behave as before.
    """
    gc.freeze()
    gc.enable()


if __name__ == "__main__":
    raise SystemExit(main())
