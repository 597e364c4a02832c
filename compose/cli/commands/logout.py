"""hoist logout: forget the credentials of a registry (docker logout; see image_registry)."""

from __future__ import annotations

import argparse

from compose.cli.commands import image_registry

HELP = image_registry.LOGOUT_HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    image_registry.add_logout_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return image_registry.run_logout(args)
