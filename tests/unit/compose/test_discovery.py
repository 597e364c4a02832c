from __future__ import annotations

import os
from pathlib import Path

import pytest

from compose.discovery import discover, normalize_project_name, validate_project_name
from compose.errors import FileNotFound, ProjectNameError

SIMPLE = "services:\n  web:\n    image: busybox\n"


def _write(path: Path, text: str = SIMPLE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_default_file_and_override(tmp_path: Path) -> None:
    _write(tmp_path / "compose.yaml")
    _write(tmp_path / "compose.override.yml")
    found = discover(cwd=str(tmp_path), environ={})
    assert found.files == [str(tmp_path / "compose.yaml"), str(tmp_path / "compose.override.yml")]
    assert found.working_dir == str(tmp_path)


def test_parent_directory_search(tmp_path: Path) -> None:
    _write(tmp_path / "docker-compose.yml")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    found = discover(cwd=str(sub), environ={})
    assert found.files == [str(tmp_path / "docker-compose.yml")]
    assert found.working_dir == str(tmp_path)


def test_preferred_name_wins_with_a_warning(tmp_path: Path) -> None:
    _write(tmp_path / "compose.yaml")
    _write(tmp_path / "docker-compose.yml")
    found = discover(cwd=str(tmp_path), environ={})
    assert found.files == [str(tmp_path / "compose.yaml")]
    assert "multiple config files" in found.warnings[0]


def test_explicit_files_skip_override_discovery(tmp_path: Path) -> None:
    _write(tmp_path / "compose.yaml")
    _write(tmp_path / "compose.override.yml")
    found = discover(files=["compose.yaml"], cwd=str(tmp_path), environ={})
    assert found.files == [str(tmp_path / "compose.yaml")]


def test_no_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFound) as info:
        discover(cwd=str(tmp_path), environ={})
    assert "no configuration file provided" in str(info.value)


def test_compose_file_and_separator(tmp_path: Path) -> None:
    _write(tmp_path / "a.yml")
    _write(tmp_path / "b.yml")
    found = discover(cwd=str(tmp_path), environ={"COMPOSE_FILE": "a.yml;b.yml", "COMPOSE_PATH_SEPARATOR": ";"})
    assert found.files == [str(tmp_path / "a.yml"), str(tmp_path / "b.yml")]


def test_dotenv_sets_compose_variables(tmp_path: Path) -> None:
    _write(tmp_path / "other.yaml")
    (tmp_path / ".env").write_text("COMPOSE_FILE=other.yaml\nCOMPOSE_PROJECT_NAME=from_env\n"
                                   "COMPOSE_PROFILES=a,b\nX=1\n")
    found = discover(cwd=str(tmp_path), environ={"X": "2"})
    assert found.files == [str(tmp_path / "other.yaml")]
    assert found.project_name == "from_env"
    assert found.profiles == ["a", "b"]
    assert found.environ["X"] == "2"  # the shell wins over .env


def test_env_files_flag_replaces_dotenv_and_later_wins(tmp_path: Path) -> None:
    _write(tmp_path / "compose.yaml")
    (tmp_path / ".env").write_text("A=dotenv\n")
    (tmp_path / "one.env").write_text("A=one\nB=one\n")
    (tmp_path / "two.env").write_text("B=two\n")
    found = discover(cwd=str(tmp_path), environ={}, env_files=["one.env", "two.env"])
    assert found.environ["A"] == "one" and found.environ["B"] == "two"


def test_disable_env_file(tmp_path: Path) -> None:
    _write(tmp_path / "compose.yaml")
    (tmp_path / ".env").write_text("A=dotenv\n")
    assert "A" not in discover(cwd=str(tmp_path), environ={"COMPOSE_DISABLE_ENV_FILE": "1"}).environ


def test_project_directory_flag(tmp_path: Path) -> None:
    _write(tmp_path / "files" / "compose.yaml")
    (tmp_path / "proj").mkdir()
    found = discover(files=[str(tmp_path / "files" / "compose.yaml")], project_directory=str(tmp_path / "proj"),
                     cwd=str(tmp_path), environ={})
    assert found.working_dir == str(tmp_path / "proj")


def test_profiles_flag_beats_environment(tmp_path: Path) -> None:
    _write(tmp_path / "compose.yaml")
    found = discover(cwd=str(tmp_path), profiles=["x"], environ={"COMPOSE_PROFILES": "y"})
    assert found.profiles == ["x"]


@pytest.mark.parametrize("name", ["my_project", "42my_project_num", "a-b"])
def test_valid_project_names(name: str) -> None:
    assert validate_project_name(name) == name


@pytest.mark.parametrize("name", ["-my_project", "_my_project", "www.my.project", "MY_PROJECT", ""])
def test_invalid_project_names(name: str) -> None:
    with pytest.raises(ProjectNameError) as info:
        validate_project_name(name)
    if name:
        assert f'invalid project name "{name}"' in str(info.value)


def test_invalid_name_from_environment(tmp_path: Path) -> None:
    _write(tmp_path / "compose.yaml")
    with pytest.raises(ProjectNameError):
        discover(cwd=str(tmp_path), environ={"COMPOSE_PROJECT_NAME": "Bad Name"})


def test_directory_names_are_normalized() -> None:
    assert normalize_project_name("UNNORMALIZED PATH") == "unnormalizedpath"
    assert normalize_project_name("_-Foo.Bar") == "foobar"


def test_root_directory_gives_empty_name_error() -> None:
    from compose.discovery import project_name_from_dir

    with pytest.raises(ProjectNameError, match="project name must not be empty"):
        project_name_from_dir(os.sep)
