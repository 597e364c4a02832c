"""``.env`` and ``env_file`` parsing, exactly as compose (compose-go's dotenv) reads them.

- ``KEY=VAL`` or ``KEY: VAL``, optional ``export`` prefix, whitespace around the separator ignored.
- Unquoted values are trimmed; ``#`` after whitespace starts a comment; backslashes are kept as written.
- ``"double"`` values understand ``\\n \\r \\t \\a \\b \\f \\v \\\\ \\" \\$`` and ``\\0nnn`` octal, may span lines
  and are interpolated (``\\$`` prevents it). ``'single'`` values are literal (``\\'`` is a quote).
- ``${X}`` in values resolves from the OS environment first, then from keys defined earlier.
- A bare ``KEY`` takes its value from the OS environment, or is left out when unset.
- ``format: raw``: every line is ``KEY=VALUE`` verbatim (no quotes, no interpolation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from compose.errors import EnvFileError, Location
from compose.interpolation import MissingRequired, TemplateError, substitute

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "\\": "\\", '"': '"'}


def parse_dotenv(text: str, lookup: Callable[[str], str | None] | None = None, *,
                 filename: str = "", base: Mapping[str, str] | None = None,
                 warn: Callable[[str], None] | None = None) -> dict[str, str]:
    """Parse ``text``. ``lookup`` is the OS/project environment; ``base`` holds values of earlier env files,
    visible to ``${...}`` references after the OS environment. ``warn`` hears of every unset variable a
    value refers to: compose silently makes ``PASSWORD=abc$def`` "abc", a classic way to lose half a secret."""
    lookup = lookup or (lambda _name: None)
    result: dict[str, str] = {}
    earlier = dict(base or {})

    def resolve(name: str) -> str | None:
        value = lookup(name)
        if value is not None:
            return value
        if name in result:
            return result[name]
        return earlier.get(name)

    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    pos = 0
    n = len(text)
    while pos < n:
        line_no = text.count("\n", 0, pos) + 1
        eol = text.find("\n", pos)
        eol = n if eol < 0 else eol
        line = text[pos:eol]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            pos = eol + 1
            continue
        body_start = pos + (len(line) - len(line.lstrip()))
        key, value_start, inherited = _key(text, body_start, eol, filename, line_no)
        if inherited:
            value = lookup(key)
            if value is not None:
                result[key] = value
            pos = eol + 1
            continue
        on_unset = None
        if warn is not None:
            def on_unset(name: str, key: str = key, line_no: int = line_no) -> None:
                assert warn is not None
                where = f"{filename}:{line_no}" if filename else f"line {line_no}"
                warn(f'{where}: {key}: the "{name}" variable is not set, so "${name}" became an empty string; '
                     "write $$ for a literal $, or single-quote the value")
        value, pos = _value(text, value_start, resolve, filename, line_no, on_unset)
        if key[:1].isdigit():
            continue  # compose-go drops keys that start with a digit (no variable can have that name)
        result[key] = value
    return result


def _key(text: str, start: int, eol: int, filename: str, line_no: int) -> tuple[str, int, bool]:
    """(key, index where the value starts, whether the line is a bare inherited KEY)."""
    line = text[start:eol]
    if line.startswith("export") and len(line) > 6 and line[6] in " \t":
        rest = line[6:].lstrip(" \t")
        start += len(line) - len(rest)
        line = rest
    cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
    if cut < 0:
        key = line.strip()
        if any(c.isspace() for c in key):
            raise EnvFileError(f"line {line_no}: key cannot contain a space",
                               location=Location(filename or None, line_no), hint="write KEY=VALUE")
        if not key or any(not (c.isalnum() or c in "_.-") for c in key):
            raise EnvFileError(f"line {line_no}: invalid line {line!r}: expected KEY=VALUE",
                               location=Location(filename or None, line_no), hint="write KEY=VALUE")
        return key, eol, True
    key = line[:cut].strip()
    if any(c.isspace() for c in key):
        raise EnvFileError(f"line {line_no}: key cannot contain a space",
                           location=Location(filename or None, line_no), hint="write KEY=VALUE")
    return key, start + cut + 1, False


def _value(text: str, start: int, resolve: Callable[[str], str | None], filename: str,
           line_no: int, on_unset: Callable[[str], None] | None = None) -> tuple[str, int]:
    """The value starting at ``start`` and the index of the next line."""
    n = len(text)
    while start < n and text[start] in " \t":
        start += 1
    quote = text[start] if start < n else ""
    if quote in ("'", '"'):
        i = start + 1
        while i < n and text[i] != quote:
            i += 2 if text[i] == "\\" else 1
        if i >= n:
            raise EnvFileError(f"line {line_no}: unterminated quoted value",
                               location=Location(filename or None, line_no),
                               hint=f"close the value with {quote}")
        raw = text[start + 1:i]
        eol = text.find("\n", i)
        next_pos = n if eol < 0 else eol + 1
        if quote == "'":
            return raw.replace("\\'", "'"), next_pos
        return _expand(_unescape_double(raw), resolve, filename, line_no, on_unset), next_pos
    eol = text.find("\n", start)
    eol = n if eol < 0 else eol
    raw = text[start:eol]
    for i, c in enumerate(raw):
        if c == "#" and i > 0 and raw[i - 1] in " \t":
            raw = raw[:i]
            break
    return _expand(raw.strip(), resolve, filename, line_no, on_unset), eol + 1


def _unescape_double(raw: str) -> str:
    """Apply double-quote escapes; a literal ``$`` from ``\\$`` becomes ``$$`` so interpolation keeps it."""
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "$":
            out.append("$$")
            i += 2
        elif nxt == "0":
            j = i + 2
            while j < n and j < i + 5 and raw[j] in "01234567":
                j += 1
            digits = raw[i + 2:j]
            out.append(chr(int(digits, 8)) if digits else "\0")
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _expand(value: str, resolve: Callable[[str], str | None], filename: str, line_no: int,
            on_unset: Callable[[str], None] | None = None) -> str:
    try:
        return substitute(value, resolve, on_unset)
    except (TemplateError, MissingRequired) as exc:
        raise EnvFileError(f"line {line_no}: {exc}", location=Location(filename or None, line_no)) from None


def parse_raw(text: str) -> dict[str, str]:
    """``format: raw``: ``KEY=VALUE`` per line, nothing unquoted or expanded; blank and ``#`` lines skipped."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        result[key.strip()] = value if sep else ""
    return result


def read_env_file(path: str | Path, lookup: Callable[[str], str | None] | None = None, *,
                  base: Mapping[str, str] | None = None, raw: bool = False,
                  warn: Callable[[str], None] | None = None) -> dict[str, str]:
    """Read and parse one env file; a missing or unreadable file is an EnvFileError naming it."""
    from compose.loadcache import record_read

    try:
        text = Path(path).read_text(encoding="utf-8")
        record_read(str(path), text)
    except FileNotFoundError:
        record_read(str(path), None)
        raise EnvFileError(f"env file {path} not found", location=Location(str(path)),
                           hint="create it, fix the path, or mark it `required: false`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvFileError(f"cannot read env file {path}: {exc}", location=Location(str(path))) from None
    if raw:
        return parse_raw(text)
    return parse_dotenv(text, lookup, filename=str(path), base=base, warn=warn)


def read_env_files(paths: list[str], lookup: Callable[[str], str | None] | None = None, *,
                   warn: Callable[[str], None] | None = None) -> dict[str, str]:
    """Several env files: later files override earlier ones and see their values."""
    values: dict[str, str] = {}
    for path in paths:
        values.update(read_env_file(path, lookup, base=values, warn=warn))
    return values
