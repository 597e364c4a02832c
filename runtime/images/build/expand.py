"""Variable substitution in Dockerfile words, as Docker's shell lexer does it.

Rules (the ones Dockerfile authors rely on):

- ``$NAME`` and ``${NAME}``; an unset variable expands to "". ``$`` not followed by a name is literal.
- ``${NAME:-word}`` / ``${NAME-word}``: word when unset-or-empty / unset; ``${NAME:+word}`` /
  ``${NAME+word}``: word when set-and-non-empty / set; ``${NAME:?msg}`` / ``${NAME?msg}``: error;
  ``${NAME#pat}``, ``${NAME##pat}``, ``${NAME%pat}``, ``${NAME%%pat}``: glob prefix/suffix removal.
  ``word`` is itself expanded.
- Single quotes: everything literal. Double quotes: variables expand, the escape character escapes only
  ``"``, ``$`` and itself. Unquoted: the escape character makes the next character literal.
  Quotes are removed from the result.
- :func:`expand_words` also splits the result into words at unquoted whitespace (EXPOSE and the like).

Every variable looked up is recorded in ``used`` so the build cache can key on exactly the args a step read.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_NAME_START = re.compile(r"[A-Za-z_]")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")


class ExpansionError(ValueError):
    """A malformed substitution (unterminated ``${``, bad modifier, ``${X:?msg}`` with X unset)."""


@dataclass
class Expander:
    """Expands words against ``env``; ``escape`` is the Dockerfile's escape character."""

    env: Mapping[str, str]
    escape: str = "\\"
    used: set[str] = field(default_factory=set)

    def word(self, text: str) -> str:
        """One word: quotes removed, variables expanded, no splitting."""
        return "".join(_Lexer(text, self).run(split=False)[0])

    def words(self, text: str) -> list[str]:
        """Words split at unquoted whitespace (also whitespace coming from unquoted expansions)."""
        return _Lexer(text, self).run(split=True)

    def lookup(self, name: str) -> str | None:
        self.used.add(name)
        return self.env.get(name)


class _Lexer:
    def __init__(self, text: str, expander: Expander) -> None:
        self.text = text
        self.pos = 0
        self.x = expander
        self.esc = expander.escape

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    def run(self, *, split: bool, stop: str = "") -> list[str]:
        """Scan until ``stop`` (or the end); returns words (one word when not splitting)."""
        words: list[str] = []
        current: list[str] = []
        started = False  # a quoted "" still makes a word

        def flush() -> None:
            nonlocal current, started
            joined = "".join(current)
            if joined or started:
                words.append(joined)
            current, started = [], False

        while self.pos < len(self.text):
            ch = self.peek()
            if stop and ch == stop:
                break
            if split and ch.isspace():
                self.pos += 1
                flush()
                continue
            if ch == "'":
                self.pos += 1
                current.append(self.single_quoted())
                started = True
            elif ch == '"':
                self.pos += 1
                current.append(self.double_quoted())
                started = True
            elif ch == "$":
                self.pos += 1
                value = self.dollar()
                if split:
                    # An unquoted expansion splits into words as the shell would.
                    parts = re.split(r"\s+", value)
                    for i, part in enumerate(parts):
                        if i:
                            flush()
                        current.append(part)
                else:
                    current.append(value)
            elif ch == self.esc:
                self.pos += 1
                if self.pos < len(self.text):
                    current.append(self.next())
                started = True
            else:
                current.append(self.next())
        if split:
            flush()
            return words
        return ["".join(current)]

    def single_quoted(self) -> str:
        end = self.text.find("'", self.pos)
        if end < 0:
            raise ExpansionError("unexpected end of text while looking for matching '")
        out = self.text[self.pos:end]
        self.pos = end + 1
        return out

    def double_quoted(self) -> str:
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise ExpansionError('unexpected end of text while looking for matching "')
            ch = self.next()
            if ch == '"':
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
            elif ch == self.esc:
                nxt = self.peek()
                if nxt == "":
                    continue
                if nxt in ('"', "$", self.esc):
                    out.append(self.next())
                else:
                    out.append(ch)
            else:
                out.append(ch)

    def name(self) -> str:
        start = self.pos
        if not _NAME_START.match(self.peek() or " "):
            return ""
        while self.pos < len(self.text) and _NAME_CHAR.match(self.text[self.pos]):
            self.pos += 1
        return self.text[start:self.pos]

    def dollar(self) -> str:
        """After a ``$``: a name, a ``${...}``, or a literal ``$``."""
        if self.peek() == "{":
            self.pos += 1
            return self.braced()
        name = self.name()
        if not name:
            return "$"
        return self.x.lookup(name) or ""

    def braced(self) -> str:
        name = self.name()
        if not name:
            raise ExpansionError(f"bad substitution: missing or invalid variable name in ${{{self.rest()}")
        value = self.x.lookup(name)
        ch = self.next()
        if ch == "}":
            return value or ""
        if ch == "":
            raise ExpansionError(f"unexpected end of text looking for '}}' after ${{{name}")
        modifier = ch
        if ch == ":":
            modifier += self.next()
        elif ch in "#%" and self.peek() == ch:
            modifier += self.next()
        if modifier not in (":-", "-", ":+", "+", ":?", "?", "#", "##", "%", "%%"):
            raise ExpansionError(f"unsupported modifier ({modifier}) in substitution ${{{name}{modifier}")
        word = "".join(self.run(split=False, stop="}"))
        if self.next() != "}":
            raise ExpansionError(f"unexpected end of text looking for '}}' after ${{{name}{modifier}")
        set_ = value is not None
        nonempty = bool(value)
        if modifier == ":-":
            return value if nonempty else word  # type: ignore[return-value]
        if modifier == "-":
            return value if set_ else word  # type: ignore[return-value]
        if modifier == ":+":
            return word if nonempty else ""
        if modifier == "+":
            return word if set_ else ""
        if modifier in (":?", "?"):
            if (modifier == ":?" and not nonempty) or (modifier == "?" and not set_):
                raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
            return value or ""
        return _trim(value or "", word, modifier)

    def rest(self) -> str:
        return self.text[self.pos:]


def _trim(value: str, pattern: str, modifier: str) -> str:
    """``#``/``##`` remove the shortest/longest matching prefix, ``%``/``%%`` the suffix."""
    regex = re.compile(fnmatch.translate(pattern))
    lengths = range(len(value) + 1)
    if modifier in ("#", "##"):
        order = lengths if modifier == "#" else reversed(lengths)
        for n in order:
            if regex.match(value[:n]):
                return value[n:]
        return value
    order = lengths if modifier == "%" else reversed(lengths)
    for n in order:
        if regex.match(value[len(value) - n:]):
            return value[:len(value) - n]
    return value
