"""Keeping argparse cheap to build: every CLI process builds its parser before it does anything else.

Two costs dominate building hoist's parser, and neither is needed to run one command:

- argparse translates every label and help string it creates through ``gettext.gettext``, which looks for a
  message catalogue on disk on *every* call (environment lookups, locale normalisation, ``os.path.exists`` per
  candidate): ~60 us a call, ~10 ms per process. ``cache_translations`` remembers each answer for the process.
- a group command (``hoist container ...``) has a sub-parser per sub-command with up to 70 flags each, while
  one process runs one of them. ``LazyParser`` adds a sub-command's arguments when that parser is first
  used (parsing, usage, help), so only the invoked one is built; ``populate_all`` builds every one of them
  for those who read the whole tree (the full parser behind ``--help`` and scripts/gen_cli_docs.py).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Any

_LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
_translations: dict[tuple[object, ...], Any] = {}


def cache_translations() -> None:
    """Route argparse's ``_()`` through a per-process memo of ``gettext.gettext``.

    Why this is exact: gettext's answer depends only on the message, the locale variables (part of the key
    here), the text domain and its catalogue files; a CLI process changes neither of the last two while it
    runs. argparse looks ``_`` up in its module globals at each call, so replacing that name is enough.
    """
    if getattr(argparse._, "__wrapped__", None) is not None:  # type: ignore[attr-defined]
        return
    translate = argparse._  # type: ignore[attr-defined]

    def cached(message: Any) -> Any:
        key = (message, *(os.environ.get(name) for name in _LOCALE_VARIABLES))
        try:
            return _translations[key]
        except KeyError:
            result = _translations[key] = translate(message)
            return result
        except TypeError:  # an unhashable message: argparse never passes one, but never fail because of us
            return translate(message)

    cached.__wrapped__ = translate  # type: ignore[attr-defined]
    argparse._ = cached  # type: ignore[attr-defined]


Populate = Callable[[argparse.ArgumentParser], None]


class LazyParser(argparse.ArgumentParser):
    """A sub-command parser whose arguments are added by ``populate`` the first time the parser is used.

    Create it through ``add_subparsers(parser_class=LazyParser)`` and ``add_parser(name, populate=...)``;
    without ``populate`` it is a plain parser. Every public way in (parsing, usage, help, defaults) builds it
    first, so what it parses and prints is exactly what the eagerly built parser would.
    """

    def __init__(self, *args: Any, populate: Populate | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._populate = populate

    def populate(self) -> None:
        populate, self._populate = self._populate, None  # cleared first: populating calls back into us
        if populate is not None:
            populate(self)

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        self.populate()
        return super().parse_known_args(args, namespace)

    def parse_known_intermixed_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                                    namespace: argparse.Namespace | None = None,
                                    ) -> tuple[argparse.Namespace, list[str]]:
        self.populate()
        return super().parse_known_intermixed_args(args, namespace)

    def format_usage(self) -> str:
        self.populate()
        return super().format_usage()

    def format_help(self) -> str:
        self.populate()
        return super().format_help()

    def get_default(self, dest: str) -> Any:
        self.populate()
        return super().get_default(dest)


def populate_all(parser: argparse.ArgumentParser) -> None:
    """Build every lazy parser under ``parser`` (for readers of ``_actions``, such as the docs generator)."""
    if isinstance(parser, LazyParser):
        parser.populate()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for child in action.choices.values():
                if id(child) not in seen:  # aliases map to the same parser
                    seen.add(id(child))
                    populate_all(child)


# ------------------------------------------------------------------------------- docker's boolean flags

# Boolean flags that default to true, which docker turns off with ``--flag=false`` (Go's flag syntax): here
# they are argparse's ``--flag`` / ``--no-flag`` pairs, and ``go_bool_argv`` rewrites ``--flag=VALUE``. A
# flag that took an optional value instead would swallow the next word: ``commit -p CONTAINER``.
GO_BOOL_FLAGS = frozenset({"--pause", "--sig-proxy", "--orphans"})
# The commands that have such flags and no trailing command line of the user's to leave alone.
_GO_BOOL_COMMANDS = frozenset({("commit",), ("attach",), ("ps",), ("container", "commit"),
                               ("container", "attach")})
_TRUE = ("1", "t", "true", "yes", "y", "on")
_FALSE = ("0", "f", "false", "no", "n", "off")


def add_go_bool(parser: argparse.ArgumentParser, *names: str, help: str, default: bool = True) -> None:
    parser.add_argument(*names, action=argparse.BooleanOptionalAction, default=default, help=help)


def go_bool_argv(argv: Sequence[str], command: Sequence[str]) -> list[str]:
    """``--pause=false`` as ``--no-pause`` (and ``=true`` as the bare flag), for the commands that have such
    flags; a value that is no boolean is left for argparse to refuse."""
    if tuple(command[:2]) not in _GO_BOOL_COMMANDS and tuple(command[:1]) not in _GO_BOOL_COMMANDS:
        return list(argv)
    out: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            return out + list(argv[i:])
        name, sep, value = arg.partition("=")
        if sep and name in GO_BOOL_FLAGS and value.lower() in _TRUE + _FALSE:
            arg = name if value.lower() in _TRUE else "--no-" + name[2:]
        out.append(arg)
    return out
