"""Registry commands: ``hoist login``/``hoist logout`` and the ``pull``/``push`` verbs of ``hoist image``.

``login``/``logout`` are registered as top-level commands through the thin modules ``login.py`` and
``logout.py``; ``hoist image pull|push`` are dispatched here by the ``hoist image`` group. Flags mean what
they mean for ``docker login``, ``docker image pull`` and ``docker image push``; ``--ca-file`` is hoist's
(Docker reads CAs only from certs.d, which hoist also does: ``<root>/certs.d/<host>/ca.crt``).

Module level imports only the standard library (CLI start-up time); rich and the engine are imported in the
functions that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Any

# ----------------------------------------------------------------------------------------- login/logout

LOGIN_HELP = "Log in to a registry"
LOGOUT_HELP = "Log out from a registry"
DEFAULT_SERVER = "docker.io"


def add_login_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", nargs="?", default=None, metavar="SERVER",
                        help="registry host[:port] (default: Docker Hub)")
    parser.add_argument("-u", "--username", default=None, help="user name")
    parser.add_argument("-p", "--password", default=None, help="password (prefer --password-stdin)")
    parser.add_argument("--password-stdin", action="store_true", help="take the password from stdin")


def add_logout_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", nargs="?", default=None, metavar="SERVER",
                        help="registry host[:port] (default: Docker Hub)")


def server_name(text: str | None) -> str:
    """``https://host:5000/v2/`` and ``host:5000`` both mean ``host:5000``; Docker Hub's aliases mean docker.io."""
    if not text:
        return DEFAULT_SERVER
    bare = text.split("://", 1)[-1].split("/", 1)[0]
    return DEFAULT_SERVER if bare in ("index.docker.io", "registry-1.docker.io") else bare


def run_login(args: argparse.Namespace) -> int:
    from runtime import naming
    from runtime.errors import RegistryError
    from runtime.images.auth import Credentials, store_credentials
    from runtime.images.registry import client_for

    server = server_name(args.server)
    username, password = args.username, args.password
    if args.password_stdin:
        if args.password is not None:
            raise RegistryError("--password and --password-stdin are mutually exclusive",
                                hint="give the password one way only")
        if not username:
            raise RegistryError("must provide --username with --password-stdin", hint="add -u USER")
        password = sys.stdin.read().rstrip("\r\n")
    elif password is not None:
        print("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", file=sys.stderr)
    if not username:
        username = _prompt("Username: ")
    if password is None:
        password = _prompt("Password: ", secret=True)
    if not username or not password:
        raise RegistryError("a user name and a password are required to log in",
                            hint="hoist login -u USER --password-stdin SERVER < password-file")
    root = naming.resolve_root()
    client = client_for(root, server)
    client.credentials = Credentials(username, password)
    try:
        client.check_login()
    finally:
        client.close()
    store_credentials(root, server, Credentials(username, password))
    print("Login Succeeded")
    return 0


def run_logout(args: argparse.Namespace) -> int:
    from runtime import naming
    from runtime.images.auth import config_key, remove_credentials

    server = server_name(args.server)
    if remove_credentials(naming.resolve_root(), server):
        print(f"Removing login credentials for {config_key(server)}")
    else:
        print(f"Not logged in to {config_key(server)}")
    return 0


def _prompt(label: str, *, secret: bool = False) -> str:
    from runtime.errors import RegistryError

    if not sys.stdin.isatty():
        raise RegistryError("cannot prompt for credentials: standard input is not a terminal",
                            hint="pass -u USER and --password-stdin")
    if secret:
        import getpass

        return getpass.getpass(label)
    return input(label).strip()


# -------------------------------------------------------------------------------------------- pull/push

PULL_HELP = "Download an image from a registry"
PUSH_HELP = "Upload an image to a registry"


def add_pull_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME[:TAG|@DIGEST]", help="the image to pull")
    parser.add_argument("-a", "--all-tags", action="store_true", help="download all tagged images in the repository")
    parser.add_argument("--platform", default=os.environ.get("DOCKER_DEFAULT_PLATFORM") or None,
                        help="pick this platform (os/arch[/variant]) from a multi-platform image")
    parser.add_argument("-q", "--quiet", action="store_true", help="suppress verbose output")
    parser.add_argument("--ca-file", type=Path, default=None,
                        help="PEM file with the CA certificate of the registry (added to the system CAs)")


def add_push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME[:TAG]", help="the image to push")
    parser.add_argument("-a", "--all-tags", action="store_true", help="push all local tags of the repository")
    parser.add_argument("-q", "--quiet", action="store_true", help="suppress verbose output")
    parser.add_argument("--ca-file", type=Path, default=None,
                        help="PEM file with the CA certificate of the registry (added to the system CAs)")


def run_pull(args: argparse.Namespace) -> int:
    from runtime import naming
    from runtime.errors import RegistryError
    from runtime.images import reference
    from runtime.images.pull import pull_image
    from runtime.images.registry import client_for
    from runtime.images.store import ImageStore

    store = ImageStore(naming.resolve_root())
    parsed = reference.parse(args.name, default_tag=not args.all_tags)
    refs = [str(parsed)]
    if args.all_tags:
        if parsed.tag or parsed.digest:
            raise RegistryError("tag can't be used with --all-tags/-a", hint="give the repository name only")
        client = client_for(store.root, parsed.domain, ca_file=args.ca_file)
        try:
            refs = [f"{parsed.repository}:{tag}" for tag in client.list_tags(parsed.path)]
        finally:
            client.close()
    with TransferDisplay(_mode(args)) as display:
        for ref in refs:
            pull_image(store, ref, platform=args.platform, progress=display.event, ca_file=args.ca_file)
            display.finish_image()
    if args.quiet or _mode(args) == "quiet":
        print(parsed.repository if args.all_tags else str(parsed))
    return 0


def run_push(args: argparse.Namespace) -> int:
    from runtime import naming
    from runtime.errors import NotFound
    from runtime.images import reference
    from runtime.images.push import push_image
    from runtime.images.store import ImageStore

    store = ImageStore(naming.resolve_root())
    parsed = reference.parse(args.name, default_tag=not args.all_tags)
    refs = [str(parsed)]
    if args.all_tags:
        refs = sorted({tag for image in store.list() for tag in image.tags
                       if tag.rsplit(":", 1)[0] == parsed.repository})
        if not refs:
            raise NotFound(f"no local tags of {parsed.familiar_name()}",
                           hint="tag an image into that repository with 'hoist image tag'")
    with TransferDisplay(_mode(args)) as display:
        for ref in refs:
            push_image(store, ref, progress=display.event, ca_file=args.ca_file)
            display.finish_image()
    return 0


def _mode(args: argparse.Namespace) -> str:
    """quiet, plain or tty: -q and --progress as docker's; auto means tty only on a terminal."""
    if getattr(args, "quiet", False) or getattr(args, "progress", "auto") == "quiet":
        return "quiet"
    wanted = getattr(args, "progress", "auto")
    if wanted in ("plain", "json"):
        return "plain"
    if wanted == "tty" or (wanted == "auto" and sys.stdout.isatty()):
        return "tty"
    return "plain"


class TransferDisplay:
    """Draws TransferEvents: rich bars per layer on a terminal, Docker's plain lines otherwise."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._lock = threading.Lock()
        self._last: dict[str, str] = {}
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> TransferDisplay:
        if self.mode == "tty":
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                      transient=False)
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def finish_image(self) -> None:
        with self._lock:
            self._last.clear()
            self._tasks.clear()

    def event(self, event: Any) -> None:
        if self.mode == "quiet":
            return
        with self._lock:
            if self._progress is not None:
                self._draw(event)
            elif event.status not in ("Downloading", "Pushing", "Extracting") and \
                    self._last.get(event.id) != event.status:
                # Plain output, as docker without a terminal: one line per status change, no byte counts.
                self._last[event.id] = event.status
                print(f"{event.id}: {event.status}" if event.id else event.status, flush=True)

    def _draw(self, event: Any) -> None:
        progress = self._progress
        if not event.id or event.status.startswith("Pulling from"):
            progress.console.print(f"{event.id}: {event.status}" if event.id else event.status)
            return
        task = self._tasks.get(event.id)
        total = event.total or None
        description = f"{event.id}: {event.status}"
        if task is None:
            self._tasks[event.id] = progress.add_task(description, total=total, completed=event.current)
        else:
            progress.update(task, description=description, completed=event.current,
                            total=total if total else progress.tasks[task].total)
