"""``hoist --dry-run watch``: what a change of each file under the watched paths would do, without watching.

For every file below the watch rules' paths (directories that every rule ignores are not walked into), one
line: the rule it fires per service (the one ``compose.watch.rules.route`` picks, as the watch itself does),
with the container path a sync would write; or that it is ignored. So ``ignore``/``include`` patterns,
``.dockerignore`` and the build-definition files (never synced, but ``rebuild`` triggers) can be checked
before a session instead of by trial.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from compose.model import Project
from compose.watch.rules import Trigger, compile_rules, is_under, outermost, route


def preview(project: Project, services: list[str]) -> Iterator[str]:
    triggers = compile_rules(project, services)
    for trigger in triggers:
        yield trigger.describe()
    directories = outermost(t.path for t in triggers if os.path.isdir(t.path))
    files = sorted({t.path for t in triggers
                    if not os.path.isdir(t.path) and not any(is_under(t.path, d) for d in directories)})
    for path in files:
        yield from _file_lines(triggers, path)
    for root in directories:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if _walked(triggers, os.path.join(dirpath, d)))
            for name in sorted(filenames):
                yield from _file_lines(triggers, os.path.join(dirpath, name))


def _walked(triggers: list[Trigger], directory: str) -> bool:
    """A directory is walked into unless every rule that covers it ignores it."""
    covering = [t for t in triggers if t.relative(directory) is not None]
    return not covering or any(t.accepts(directory) for t in covering)


def _file_lines(triggers: list[Trigger], path: str) -> Iterator[str]:
    shown = os.path.relpath(path)
    fired = route(triggers, path)
    if not fired:
        yield f"  {shown}: ignored"
        return
    for t in fired:
        to = t.container_path(path) if t.syncs else None
        yield f"  {shown}: {t.service} {t.action}" + (f" -> {to}" if to else "")
