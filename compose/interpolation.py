"""``${VAR}`` substitution as compose does it: on values only, per file, before merging.

Grammar: ``$$`` is a literal ``$``; ``$NAME`` / ``${NAME}``; ``${NAME<op>arg}`` with the operators ``:-``, ``-``,
``:?``, ``?``, ``:+``, ``+`` (the first operator after the name wins). ``arg`` may hold nested expressions and
balanced braces; it is only evaluated when used, so an unused branch never warns. A ``$`` that starts nothing
valid is kept as written; a ``${`` that is not a valid expression is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compose.errors import InterpolationError, Location
from compose.sourcemap import KeyPath, SourceMap, dotted
from compose.yamlfile import Override, Reset

Lookup = Callable[[str], "str | None"]

_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class TemplateError(Exception):
    """A bad template; the caller adds where it was."""


class MissingRequired(Exception):
    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        text = f"required variable {name} is missing a value"
        super().__init__(f"{text}: {reason}" if reason else text)


def _is_name_start(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_name_char(c: str) -> bool:
    return _is_name_start(c) or ("0" <= c <= "9")


def substitute(template: str, lookup: Lookup, on_unset: Callable[[str], None] | None = None) -> str:
    """Expand every ``$`` expression of ``template``. ``on_unset(name)`` is called for each unset variable
    that is used without a default. Raises TemplateError or MissingRequired."""
    if "$" not in template:
        return template
    out: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        c = template[i]
        if c != "$":
            j = template.find("$", i)
            j = n if j < 0 else j
            out.append(template[i:j])
            i = j
            continue
        nxt = template[i + 1] if i + 1 < n else ""
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            value, i = _braced(template, i + 2, lookup, on_unset)
            out.append(value)
        elif nxt and _is_name_start(nxt):
            j = i + 1
            while j < n and _is_name_char(template[j]):
                j += 1
            name = template[i + 1:j]
            out.append(_plain(name, lookup, on_unset))
            i = j
        else:
            out.append("$")
            i += 1
    return "".join(out)


def _plain(name: str, lookup: Lookup, on_unset: Callable[[str], None] | None) -> str:
    value = lookup(name)
    if value is None:
        if on_unset:
            on_unset(name)
        return ""
    return value


def _braced(text: str, start: int, lookup: Lookup, on_unset: Callable[[str], None] | None) -> tuple[str, int]:
    """Evaluate the expression whose body starts at ``start`` (just after ``${``); return (value, next index)."""
    n = len(text)
    j = start
    if j >= n or not _is_name_start(text[j]):
        raise TemplateError(f"Invalid template: {text!r}")
    while j < n and _is_name_char(text[j]):
        j += 1
    name = text[start:j]
    if j < n and text[j] == "}":
        return _plain(name, lookup, on_unset), j + 1
    op = next((o for o in _OPERATORS if text.startswith(o, j)), None)
    if op is None:
        raise TemplateError(f"Invalid template: {text!r}")
    arg_start = j + len(op)
    depth = 1
    k = arg_start
    while k < n:
        ch = text[k]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                break
        k += 1
    if depth != 0:
        raise TemplateError(f"Invalid template: {text!r}")
    arg = text[arg_start:k]
    end = k + 1
    value = lookup(name)

    def expand_arg() -> str:
        return substitute(arg, lookup, on_unset)

    if op == ":-":
        return (value if value else expand_arg()), end
    if op == "-":
        return (value if value is not None else expand_arg()), end
    if op == ":+":
        return (expand_arg() if value else ""), end
    if op == "+":
        return (expand_arg() if value is not None else ""), end
    if op == ":?":
        if not value:
            raise MissingRequired(name, expand_arg())
        return value, end
    # "?"
    if value is None:
        raise MissingRequired(name, expand_arg())
    return value, end


@dataclass
class Interpolator:
    """Interpolates a whole document, warning once per unset variable (with the first file:line using it)."""

    environ: Mapping[str, str]
    warn: Callable[[str], None] | None = None
    warned: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)  # every variable name looked up (for the load cache key)

    def lookup(self, name: str) -> str | None:
        self.used.add(name)
        return self.environ.get(name)

    def interpolate(self, document: Any, sources: SourceMap, path: KeyPath = ()) -> Any:
        """A copy of ``document`` with every string value expanded (mapping keys are left alone)."""
        if isinstance(document, str):
            return self._string(document, sources, path)
        if isinstance(document, dict):
            return {k: self.interpolate(v, sources, path + (k,)) for k, v in document.items()}
        if isinstance(document, list):
            return [self.interpolate(v, sources, path + (i,)) for i, v in enumerate(document)]
        if isinstance(document, (Reset, Override)):  # !reset / !override: interpolate what they hold
            return type(document)(self.interpolate(document.value, sources, path))
        return document

    def _string(self, text: str, sources: SourceMap, path: KeyPath) -> str:
        if "$" not in text:
            return text

        def on_unset(name: str) -> None:
            if name in self.warned:
                return
            self.warned.add(name)
            if self.warn:
                loc = sources.get(path)
                where = f" ({loc.file}:{loc.line})" if loc and loc.file and loc.line else ""
                self.warn(f'The "{name}" variable is not set. Defaulting to a blank string.{where}')

        try:
            return substitute(text, self.lookup, on_unset)
        except TemplateError:
            raise InterpolationError(f'invalid interpolation format for {_display_path(path)}: "{text}"',
                                     location=_location(sources, path),
                                     hint="you may need to escape any $ with another $ ($$)") from None
        except MissingRequired as exc:
            raise InterpolationError(f"error while interpolating {_display_path(path)}: {exc}",
                                     location=_location(sources, path),
                                     hint=f"set {exc.name} in the environment or in the .env file") from None


def _display_path(path: KeyPath) -> str:
    # compose-go names the path without the "services." prefix: "myservice.environment.TESTVAR".
    if len(path) > 1 and path[0] == "services":
        path = path[1:]
    return dotted(path)


def _location(sources: SourceMap, path: KeyPath) -> Location | None:
    loc = sources.get(path)
    return Location(loc.file, loc.line, loc.column, None) if loc else None
