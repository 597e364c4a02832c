"""The global CLI flags (-f, -p, --project-directory, --profile, --env-file) as LoadOptions.

Every command that loads a project goes through here, so all of them read the same files the same way.
Warnings while loading (unset variables, obsolete `version`) go to stderr as compose prints them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def warn(message: str) -> None:
    print(f"WARN[0000] {message}", file=sys.stderr)


def load_options(args: argparse.Namespace, **overrides: Any) -> Any:
    """LoadOptions from parsed global flags; ``overrides`` set any other LoadOptions field."""
    from compose.project import LoadOptions

    targeted = getattr(args, "services", None)
    if not (isinstance(targeted, list) and all(isinstance(s, str) for s in targeted)):
        targeted = []
    one = getattr(args, "service", None)  # `run SERVICE`: targeting a service enables its profiles, as in compose
    if not targeted and isinstance(one, str):
        targeted = [one]
    options = LoadOptions(
        files=list(getattr(args, "files", None) or []),
        project_name=getattr(args, "project_name", None),
        project_directory=getattr(args, "project_directory", None),
        profiles=list(getattr(args, "profiles", None) or []),
        env_files=list(getattr(args, "env_files", None) or []),
        services=targeted,
        warn=warn,
    )
    for key, value in overrides.items():
        setattr(options, key, value)
    return options
