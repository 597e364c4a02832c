"""``.dockerignore``: which paths of a build context the builder must not see.

The rules, as Docker applies them:

- One pattern per line; lines starting with ``#`` are comments; surrounding whitespace is trimmed; blank
  lines are ignored.
- ``!`` in front negates: a path matched by a later ``!pattern`` is included again. The LAST pattern that
  matches a path decides.
- Patterns are cleaned like Go's ``filepath.Clean`` (``./a//b/`` -> ``a/b``) and a leading ``/`` is dropped:
  every pattern is relative to the context root.
- Matching is Go's ``filepath.Match`` (``*`` and ``?`` never cross ``/``; ``[a-z]``, ``[!a]`` classes;
  ``\\`` escapes) plus ``**``, which matches any number of directories, zero included.
- A pattern that matches a directory matches everything below it (``node_modules`` excludes
  ``node_modules/x/y``).

Public API (watch mode reuses it): ``IgnoreMatcher(patterns).matches(relpath) -> bool``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import BuildError


@dataclass(frozen=True)
class _Pattern:
    text: str
    negated: bool
    regex: re.Pattern[str]
    depth: int  # number of path components in the pattern


def read_patterns(text: str) -> list[str]:
    """The patterns of a .dockerignore file, cleaned, with ``!`` kept in front of negations."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        negated = pattern.startswith("!")
        if negated:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        out.append(("!" if negated else "") + pattern)
    return out


def clean(path: str) -> str:
    """Go's filepath.Clean for slash paths."""
    if not path:
        return "."
    rooted = path.startswith("/")
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = cleaned[1:]
    if rooted and not cleaned.startswith("/"):
        cleaned = "/" + cleaned
    return cleaned


def _compile(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(.*/)?")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = _class_end(pattern, i)
            if end < 0:
                raise BuildError(f"invalid .dockerignore pattern {pattern!r}: unterminated character class",
                                 hint="close the [ ] class or escape the [ with a backslash")
            body = pattern[i + 1:end]
            if body.startswith("!") or body.startswith("^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        elif ch == "\\":
            if i + 1 >= n:
                raise BuildError(f"invalid .dockerignore pattern {pattern!r}: it ends with a backslash",
                                 hint="remove the trailing backslash")
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    try:
        return re.compile("".join(out))
    except re.error as exc:
        raise BuildError(f"invalid .dockerignore pattern {pattern!r}: {exc}") from None


def _class_end(pattern: str, start: int) -> int:
    i = start + 1
    if i < len(pattern) and pattern[i] in "!^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i
        i += 1
    return -1


class IgnoreMatcher:
    """Decides whether a context-relative path (``a/b/c``, slashes) is excluded."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: list[_Pattern] = []
        for raw in patterns:
            negated = raw.startswith("!")
            text = raw[1:] if negated else raw
            if not text:
                continue
            self.patterns.append(_Pattern(text=text, negated=negated, regex=_compile(text),
                                          depth=len(text.split("/"))))
        self.has_negations = any(p.negated for p in self.patterns)

    @classmethod
    def from_context(cls, context: Path, dockerfile: Path | None = None) -> IgnoreMatcher:
        """The ignore file of a build: ``<Dockerfile path>.dockerignore`` wins over ``<context>/.dockerignore``."""
        candidates = []
        if dockerfile is not None:
            candidates.append(Path(f"{dockerfile}.dockerignore"))
        candidates.append(context / ".dockerignore")
        for path in candidates:
            if path.is_file():
                return cls(read_patterns(path.read_text(errors="replace")))
        return cls([])

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, relpath: str) -> bool:
        """True when the path is excluded: the last pattern matching it (or one of its parents) decides."""
        path = clean(relpath.replace("\\", "/")).lstrip("/")
        if path in (".", ""):
            return False
        parts = path.split("/")
        excluded = False
        for p in self.patterns:
            hit = p.regex.match(path) is not None
            if not hit and len(parts) > 1:
                # A pattern naming a directory covers everything below it.
                for depth in range(1, len(parts)):
                    if p.regex.match("/".join(parts[:depth])):
                        hit = True
                        break
            if hit:
                excluded = not p.negated
        return excluded

    def may_include_below(self, reldir: str) -> bool:
        """Could some path below an excluded directory be included again by a ``!`` pattern?"""
        if not self.has_negations:
            return False
        prefix = clean(reldir).lstrip("/") + "/"
        for p in self.patterns:
            if p.negated and (p.text.startswith(prefix) or "*" in p.text or "?" in p.text or "[" in p.text):
                return True
        return False
