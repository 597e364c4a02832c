"""hoist login: store credentials for a registry (docker login's flags; see image_registry)."""

from __future__ import annotations

import argparse

from compose.cli.commands import image_registry

HELP = image_registry.LOGIN_HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    image_registry.add_login_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return image_registry.run_login(args)
