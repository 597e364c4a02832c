"""Which compose files, which project directory, which variables, which project name.

The rules are docker compose's:

- files: ``-f`` (repeatable, ``-`` = stdin) > ``COMPOSE_FILE`` (split on ``COMPOSE_PATH_SEPARATOR``, default
  ``:``) > the first of compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml in the current
  directory or its nearest parent, plus one override file next to it (only when no ``-f`` was given);
- project directory: ``--project-directory`` > the directory of the first file;
- variables: the process environment wins over ``--env-file`` files (later files win, repeatable) or, when
  none is given, ``<project dir>/.env`` (skipped with ``COMPOSE_DISABLE_ENV_FILE``); ``.env`` may itself set
  ``COMPOSE_FILE``, ``COMPOSE_PROJECT_NAME`` and ``COMPOSE_PROFILES``;
- project name: ``-p`` > ``COMPOSE_PROJECT_NAME`` > top-level ``name:`` (see :mod:`compose.project`) > the
  project directory's name, normalized.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from compose.errors import FileNotFound, Location, ProjectNameError

DEFAULT_FILENAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILENAMES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                      "docker-compose.override.yaml")
STDIN = "-"
_VALID_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_INVALID_CHARS = re.compile(r"[^a-z0-9_-]")


@dataclass
class Discovered:
    """What discovery decided. ``files`` are absolute paths (or ``-``)."""

    files: list[str]
    working_dir: str
    environ: dict[str, str]  # variables for interpolation: process env over env files
    env_files: list[str] = field(default_factory=list)  # env files actually read
    profiles: list[str] = field(default_factory=list)
    project_name: str | None = None  # from -p or COMPOSE_PROJECT_NAME (already validated)
    warnings: list[str] = field(default_factory=list)


def normalize_project_name(name: str) -> str:
    """A name from a directory or ``name:``: lowercase, only [a-z0-9_-], no leading ``_`` or ``-``."""
    return _INVALID_CHARS.sub("", name.lower()).lstrip("_-")


def validate_project_name(name: str, source: str = "-p") -> str:
    """An explicit name (``-p``, ``COMPOSE_PROJECT_NAME``, ``name:``) must already be valid."""
    if not name:
        raise ProjectNameError("project name must not be empty", hint="pass -p NAME or set `name:`")
    if not _VALID_NAME.match(name):
        raise ProjectNameError(
            f'invalid project name "{name}": must consist only of lowercase alphanumeric characters, '
            "hyphens, and underscores as well as start with a letter or number",
            location=Location(path=source),
            hint=f'try "{normalize_project_name(name) or "myproject"}"')
    return name


def project_name_from_dir(directory: str) -> str:
    name = normalize_project_name(os.path.basename(os.path.abspath(directory).rstrip("/")))
    if not name:
        raise ProjectNameError("project name must not be empty",
                               hint="pass -p NAME or set `name:` in the compose file")
    return name


def find_default_files(start: str) -> tuple[list[str], list[str]]:
    """(files, warnings): the first default compose file in ``start`` or its nearest parent, and its override."""
    directory = Path(start).resolve()
    warnings: list[str] = []
    while True:
        found = [directory / n for n in DEFAULT_FILENAMES if (directory / n).is_file()]
        if found:
            if len(found) > 1:
                warnings.append(f"Found multiple config files with supported names: "
                                f"{', '.join(str(f) for f in found)}\nUsing {found[0]}")
            files = [str(found[0])]
            overrides = [directory / n for n in OVERRIDE_FILENAMES if (directory / n).is_file()]
            if overrides:
                if len(overrides) > 1:
                    warnings.append(f"Found multiple override files: {', '.join(map(str, overrides))}\n"
                                    f"Using {overrides[0]}")
                files.append(str(overrides[0]))
            return files, warnings
        if directory.parent == directory:
            raise FileNotFound(
                "no configuration file provided: not found",
                hint=f"create {DEFAULT_FILENAMES[0]} in {start} or a parent directory, or pass -f FILE")
        directory = directory.parent


def _split_files(value: str, environ: Mapping[str, str]) -> list[str]:
    separator = environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
    return [f for f in value.split(separator) if f]


def _read_env(paths: list[str], os_env: Mapping[str, str], warnings: list[str]) -> dict[str, str]:
    from compose.dotenv import read_env_files

    return read_env_files(paths, os_env.get, warn=warnings.append)


def discover(*, files: list[str] | None = None, project_directory: str | None = None,
             project_name: str | None = None, profiles: list[str] | None = None,
             env_files: list[str] | None = None, environ: Mapping[str, str] | None = None,
             cwd: str | None = None) -> Discovered:
    """Apply docker compose's rules to the global flags and the environment."""
    os_env = dict(os.environ if environ is None else environ)
    cwd = os.path.abspath(cwd or os.getcwd())
    warnings: list[str] = []

    files = list(files or [])
    first_dir = None
    if files and files[0] != STDIN:
        first_dir = os.path.dirname(os.path.abspath(os.path.join(cwd, files[0])))
    base_dir = os.path.abspath(os.path.join(cwd, project_directory)) if project_directory else (first_dir or cwd)

    # Env files: explicit ones, else COMPOSE_ENV_FILES, else <project dir>/.env.
    if env_files:
        env_paths = [os.path.abspath(os.path.join(cwd, p)) for p in env_files]
        for p in env_paths:
            if not os.path.isfile(p):
                raise FileNotFound(f"couldn't find env file: {p}", location=Location(p),
                                   hint="check the --env-file path")
    elif os_env.get("COMPOSE_ENV_FILES"):
        env_paths = [os.path.abspath(os.path.join(base_dir, p))
                     for p in os_env["COMPOSE_ENV_FILES"].split(",") if p]
    else:
        env_paths = _default_env_file(base_dir, os_env)
    env_warnings: list[str] = []
    dotenv = _read_env(env_paths, os_env, env_warnings)
    variables = {**dotenv, **os_env}

    if not files:
        compose_file = variables.get("COMPOSE_FILE")
        if compose_file:
            files = [os.path.abspath(os.path.join(base_dir, f)) for f in _split_files(compose_file, variables)]
        else:
            files, found_warnings = find_default_files(base_dir if project_directory else cwd)
            warnings.extend(found_warnings)
            found_dir = os.path.dirname(files[0])
            if not env_files and not project_directory and found_dir != base_dir:
                # The compose file lives in a parent directory: its .env is the project's.
                env_paths = _default_env_file(found_dir, os_env)
                env_warnings = []
                dotenv = _read_env(env_paths, os_env, env_warnings)
                variables = {**dotenv, **os_env}
    files = [f if f == STDIN else os.path.abspath(os.path.join(cwd, f)) for f in files]
    for f in files:
        if f != STDIN and not os.path.isfile(f):
            raise FileNotFound(f"open {f}: no such file or directory", location=Location(f),
                               hint="check the -f / COMPOSE_FILE path")

    if project_directory:
        working_dir = base_dir
    elif files[0] != STDIN:
        working_dir = os.path.dirname(files[0])
    else:
        working_dir = cwd

    if profiles:
        active = [p for item in profiles for p in item.split(",") if p]
    else:
        active = [p.strip() for p in variables.get("COMPOSE_PROFILES", "").split(",") if p.strip()]

    name = None
    if project_name is not None:
        name = validate_project_name(project_name, "-p")
    elif variables.get("COMPOSE_PROJECT_NAME"):
        name = validate_project_name(variables["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME")

    return Discovered(files=files, working_dir=working_dir, environ=variables, env_files=env_paths,
                      profiles=active, project_name=name, warnings=warnings + env_warnings)


def _default_env_file(directory: str, os_env: Mapping[str, str]) -> list[str]:
    if os_env.get("COMPOSE_DISABLE_ENV_FILE", "").lower() in ("1", "true", "yes"):
        return []
    candidate = os.path.join(directory, ".env")
    return [candidate] if os.path.isfile(candidate) else []
