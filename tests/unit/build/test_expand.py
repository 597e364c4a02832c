"""Variable substitution in Dockerfile words, as Docker's shell lexer does it."""

from __future__ import annotations

import pytest

from runtime.images.build.expand import Expander, ExpansionError

ENV = {"A": "apple", "EMPTY": "", "SPACED": "one two", "PATHV": "/usr/local/bin/python3.11"}


@pytest.mark.parametrize("text, expected", [
    ("$A", "apple"),
    ("${A}", "apple"),
    ("x${A}y", "xappley"),
    ("$A-$A", "apple-apple"),
    ("$UNSET", ""),
    ("${UNSET}end", "end"),
    ("$", "$"),
    ("a$", "a$"),
    ("$1", "$1"),
    ("${A:-x}", "apple"),
    ("${EMPTY:-x}", "x"),
    ("${UNSET:-x}", "x"),
    ("${EMPTY-x}", ""),
    ("${UNSET-x}", "x"),
    ("${A:+set}", "set"),
    ("${EMPTY:+set}", ""),
    ("${EMPTY+set}", "set"),
    ("${UNSET+set}", ""),
    ("${UNSET:-${A}}", "apple"),
    ("${UNSET:-'quoted $A'}", "quoted $A"),
    ("${PATHV#*/}", "usr/local/bin/python3.11"),
    ("${PATHV##*/}", "python3.11"),
    ("${PATHV%/*}", "/usr/local/bin"),
    ("${PATHV%%.*}", "/usr/local/bin/python3"),
    ("${A:?}", "apple"),
    ("'$A'", "$A"),
    ('"$A"', "apple"),
    ('"${A} and \\"quoted\\""', 'apple and "quoted"'),
    ('"a\\b"', "a\\b"),
    ('"\\$A"', "$A"),
    ("\\$A", "$A"),
    ("a\\ b", "a b"),
    ("\\\\", "\\"),
    ('""', ""),
    ("it''s", "its"),
])
def test_word(text: str, expected: str) -> None:
    assert Expander(ENV).word(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("a b  c", ["a", "b", "c"]),
    ("$SPACED x", ["one", "two", "x"]),
    ('"$SPACED" x', ["one two", "x"]),
    ("$EMPTY", []),
    ('""', [""]),
    ("80/tcp ${UNSET:-443}", ["80/tcp", "443"]),
])
def test_words(text: str, expected: list[str]) -> None:
    assert Expander(ENV).words(text) == expected


def test_backtick_escape() -> None:
    x = Expander(ENV, escape="`")
    assert x.word("`$A") == "$A"
    assert x.word("C:\\dir") == "C:\\dir"
    assert x.word('"`"x`""') == '"x"'


@pytest.mark.parametrize("text, fragment", [
    ("${A", "unexpected end of text"),
    ("${}", "missing or invalid variable name"),
    ("${A!x}", "unsupported modifier"),
    ("'open", "matching '"),
    ('"open', 'matching "'),
    ("${UNSET:?must be set}", "UNSET: must be set"),
    ("${EMPTY:?}", "EMPTY: is not allowed to be unset"),
])
def test_errors(text: str, fragment: str) -> None:
    with pytest.raises(ExpansionError, match=fragment.replace("(", r"\(")):
        Expander(ENV).word(text)


def test_records_used_variables() -> None:
    x = Expander(ENV)
    x.word("$A ${UNSET:-${EMPTY}} '$NOT'")
    assert x.used == {"A", "UNSET", "EMPTY"}
