from __future__ import annotations

from pathlib import Path

import pytest

from compose.dotenv import parse_dotenv, read_env_file, read_env_files
from compose.errors import EnvFileError


def test_raw_format_keeps_values_verbatim(tmp_path: Path) -> None:
    f = tmp_path / "raw.env"
    f.write_text("A='quoted' $X\nB=\"x\"\n# c\n")
    assert read_env_file(f, raw=True) == {"A": "'quoted' $X", "B": '"x"'}


def test_later_file_wins_and_sees_earlier(tmp_path: Path) -> None:
    (tmp_path / "a.env").write_text("HOST=a\nURL=http://${HOST}\n")
    (tmp_path / "b.env").write_text("HOST=b\nURL2=http://${HOST}\n")
    assert read_env_files([str(tmp_path / "a.env"), str(tmp_path / "b.env")]) == {
        "HOST": "b", "URL": "http://a", "URL2": "http://b"}


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(EnvFileError) as info:
        read_env_file(tmp_path / "nope.env")
    assert "nope.env" in str(info.value) and info.value.hint


def test_multiline_double_quoted_and_dollar_escape() -> None:
    assert parse_dotenv('PW="a\\$b"\nM="1\n2"\n') == {"PW": "a$b", "M": "1\n2"}


def test_crlf_and_bom() -> None:
    assert parse_dotenv("\ufeffA=1\r\nB=2\r\n") == {"A": "1", "B": "2"}


def test_unset_references_are_warned_with_file_line_and_key(tmp_path: Path) -> None:
    f = tmp_path / "app.env"
    f.write_text("SET=1\nPASSWORD=abc$def\nQ=\"x${y}z\"\nS='lit$z'\nD=${MISSING:-fallback}\nE=$$ok\nR=${SET}\n")
    warnings: list[str] = []
    values = read_env_file(f, lambda _name: None, warn=warnings.append)
    assert values == {"SET": "1", "PASSWORD": "abc", "Q": "xz", "S": "lit$z", "D": "fallback", "E": "$ok",
                      "R": "1"}
    assert warnings == [
        f'{f}:2: PASSWORD: the "def" variable is not set, so "$def" became an empty string; write $$ for a '
        "literal $, or single-quote the value",
        f'{f}:3: Q: the "y" variable is not set, so "$y" became an empty string; write $$ for a literal $, '
        "or single-quote the value"]


def test_the_dotenv_warnings_reach_the_load(tmp_path: Path) -> None:
    from compose.project import LoadOptions, load_document

    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n    env_file: [vars.env]\n")
    (tmp_path / ".env").write_text("PASSWORD=abc$def\n")
    (tmp_path / "vars.env").write_text("TOKEN=t0k$en\n")
    loaded = load_document(LoadOptions(cwd=str(tmp_path), environ={}))
    assert [w.split(": ", 2)[1] for w in loaded.warnings if "is not set, so" in w] == ["PASSWORD", "TOKEN"]
