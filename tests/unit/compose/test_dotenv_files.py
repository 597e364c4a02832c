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
