"""compose-go's own test cases (transcribed in ../shared/corpus/compose-go/cases/) run against hoist.

Every case passes, or is listed in tests/compat/known_differences.txt with a one-line reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compose.dotenv import parse_dotenv
from compose.errors import ComposeError
from compose.interpolation import MissingRequired, TemplateError, substitute

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CASES = SHARED / "corpus" / "compose-go" / "cases"
COMPOSE_GO = SHARED / "corpus" / "compose-go"
KNOWN = Path(__file__).with_name("known_differences.txt")


def _known() -> dict[str, str]:
    known: dict[str, str] = {}
    if KNOWN.exists():
        for line in KNOWN.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                case_id, _, reason = line.partition(" ")
                known[case_id] = reason.strip()
    return known


KNOWN_DIFFERENCES = _known()


def _table(name: str) -> dict[str, Any]:
    return json.loads((CASES / f"{name}.json").read_text())


def _params(prefix: str, cases: list[Any]) -> list[Any]:
    out = []
    for i, case in enumerate(cases):
        case_id = f"{prefix}-{i}"
        marks = [pytest.mark.xfail(reason=KNOWN_DIFFERENCES[case_id], strict=True)] \
            if case_id in KNOWN_DIFFERENCES else []
        out.append(pytest.param(case, id=case_id, marks=marks))
    return out


# ----------------------------------------------------------------------------------------- interpolation

INTERPOLATION = _table("interpolation")


@pytest.mark.parametrize("case", _params("interpolation", INTERPOLATION["cases"]))
def test_interpolation_case(case: dict[str, Any]) -> None:
    env = case.get("env", INTERPOLATION["default_env"])
    unset: list[str] = []
    if "error_contains" in case:
        with pytest.raises((TemplateError, MissingRequired)) as info:
            substitute(case["template"], env.get, unset.append)
        assert case["error_contains"] in str(info.value)
        return
    assert substitute(case["template"], env.get, unset.append) == case["expected"]
    note = case.get("note", "")
    if "no warning" in note:
        assert unset == []
    if "exactly one warning" in note:
        assert len(unset) == 1


@pytest.mark.parametrize("body,operator", INTERPOLATION["operator_choice"]["cases"])
def test_operator_precedence(body: str, operator: str) -> None:
    # Tell the operator apart by behaviour: an unset variable under each operator gives a distinct result.
    env: dict[str, str] = {}
    arg = body[len("VARNAME") + len(operator):]
    try:
        result = substitute("${" + body + "}", env.get)
    except MissingRequired as exc:
        assert operator in (":?", "?")
        assert exc.reason == arg
        return
    expected = {":-": arg, "-": arg, ":+": "", "+": ""}[operator]
    assert result == expected
    if operator in (":+", "+"):
        assert substitute("${" + body + "}", {"VARNAME": "x"}.get) == arg


# ----------------------------------------------------------------------------------------- dotenv

DOTENV = _table("dotenv")


@pytest.mark.parametrize("case", _params("dotenv-fixture", DOTENV["fixtures"]))
def test_dotenv_fixture(case: dict[str, Any]) -> None:
    path = COMPOSE_GO / case["file"]
    if path.is_dir() or path.suffix == ".format":
        pytest.skip("not a compose env file (pluggable custom format of the Go library)")
    lookup = case.get("lookup", {})
    text = path.read_text(encoding="utf-8")
    if "error_contains" in case:
        with pytest.raises(ComposeError) as info:
            parse_dotenv(text, lookup.get)
        assert case["error_contains"] in str(info.value)
        return
    result = parse_dotenv(text, lookup.get)
    if case.get("exact"):
        assert result == case["expected"]
    else:
        for key, value in case.get("expected", {}).items():
            assert result[key] == value, key
    for key in case.get("expected_absent", []):
        assert key not in result


@pytest.mark.parametrize("case", _params("dotenv-parse", DOTENV["parse_cases"]))
def test_dotenv_parse(case: dict[str, Any]) -> None:
    assert parse_dotenv(case["input"])[case["key"]] == case["expected"]


@pytest.mark.parametrize("case", _params("dotenv-error", DOTENV["parse_error_cases"]))
def test_dotenv_parse_error(case: dict[str, Any]) -> None:
    with pytest.raises(ComposeError) as info:
        parse_dotenv(case["input"])
    if "error_contains" in case:
        assert case["error_contains"] in str(info.value)


@pytest.mark.parametrize("line", DOTENV["ignored_lines"])
def test_dotenv_ignored_lines(line: str) -> None:
    assert parse_dotenv(line) == {}


@pytest.mark.parametrize("case", _params("dotenv-expansion", DOTENV["expansion_cases"]))
def test_dotenv_expansion(case: dict[str, Any]) -> None:
    assert parse_dotenv(case["input"], case.get("lookup", {}).get) == case["expected"]


@pytest.mark.parametrize("case", _params("dotenv-line-expansion", DOTENV["line_expansion_cases"]["cases"]))
def test_dotenv_line_expansion(case: dict[str, Any]) -> None:
    env = DOTENV["line_expansion_cases"]["env"]
    if "error" in case:
        with pytest.raises(ComposeError) as info:
            parse_dotenv(case["input"], env.get)
        assert case["error"]["variable"] in str(info.value)
        assert case["error"]["reason"] in str(info.value)
        return
    key, _, value = case["expected"].partition("=")
    assert parse_dotenv(case["input"], env.get) == {key: value}


def test_dotenv_multiple_files() -> None:
    case = DOTENV["multiple_files_case"]
    for os_env, expected in (({}, case["expected"]),
                             (case["with_os_env"]["os_env"], case["with_os_env"]["expected"])):
        values: dict[str, str] = {}
        for text in case["files"].values():
            values.update(parse_dotenv(text, os_env.get, base=values))
        assert values == expected


# ----------------------------------------------------------------------------------------- merge

MERGE = _table("merge")


def _yaml(text: str) -> Any:
    from compose.yamlfile import load_yaml

    return load_yaml(text, "case.yaml")[0]


def _comparable(value: Any) -> Any:
    """Compare as parsed YAML: numbers written as strings in one and numbers in the other are the same."""
    if isinstance(value, dict):
        return {str(k): _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


@pytest.mark.parametrize("case", _params("merge", MERGE["cases"]))
def test_merge_case(case: dict[str, Any]) -> None:
    from compose.merge import merge_documents

    merged, _ = merge_documents(_yaml(case["base"]), _yaml(case["override"]))
    assert _comparable(merged) == _comparable(_yaml(case["expected"]))


# ----------------------------------------------------------------------------------------- loader

LOADER = _table("loader-inline")
LOADER_DIR = COMPOSE_GO / "loader"


def _load_inline(text: str, env: dict[str, str], checks: bool = False) -> None:
    """Load like compose-go's loader tests: content in memory, CWD = the loader package directory, paths
    resolved; consistency check and normalization skipped (``checks`` turns both on, for cases that expect
    an error: those tests load with the default options)."""
    from compose.project import LoadOptions, load_document

    load_document(LoadOptions(files=["-"], stdin=text, project_directory=str(LOADER_DIR), environ=env,
                              use_cache=False, cwd=str(LOADER_DIR), consistency=checks, normalize=checks))


# Upstream tests that write their YAML documents to files before loading: where each document goes, which
# files are passed as -f (in order), and any other file the test creates (transcribed from the Go tests).
LAYOUTS: dict[str, tuple[list[str], list[str], dict[str, str]]] = {
    "TestLoadExtendsSameFile": (["sub/compose.yaml", "compose.yaml"], ["compose.yaml"], {}),
    "TestLoadExtendsListenerMultipleFiles": (["sub/compose.yaml", "compose.yaml"], ["compose.yaml"], {}),
    "TestLoadWithIncludeEnv": (["compose.yml", "module/compose.yml"], ["compose.yml"],
                               {"custom.env": "VAR_NAME=value\n"}),
    "TestNestedIncludeAndExtends": (["compose.yaml", "dir/included.yaml", "dir/extended.yaml"],
                                    ["compose.yaml"], {}),
    "TestLoadExtendsMultipleFiles": (["a/compose.yaml", "b/compose.yaml", "compose.yaml"], ["compose.yaml"], {}),
    "TestOverrideMiddle": (["base.yaml", "override.yaml", "compose.yaml"], ["compose.yaml"], {}),
    "TestOverridePartial": (["compose.yaml", "override.yaml"], ["compose.yaml", "override.yaml"], {}),
}
# Go format templates (`%s`) in some inputs: the value the upstream test substitutes.
TEMPLATE_VALUES = {"TestLoadTmpfsVolume": "10000", "TestResolveAdditionalContexts": "/tmp/abs/context"}


def _load_layout(case: dict[str, Any], tmp_path: Path, env: dict[str, str]) -> None:
    from compose.project import LoadOptions, load_document

    paths, main, extra = LAYOUTS[case["source"].rsplit("::", 1)[1]]
    for rel, text in list(zip(paths, case["yaml"], strict=True)) + list(extra.items()):
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    load_document(LoadOptions(files=[str(tmp_path / m) for m in main], environ=env, use_cache=False,
                              cwd=str(tmp_path), consistency=False, normalize=False))


@pytest.mark.parametrize("case", _params("loader", LOADER["cases"]))
def test_loader_inline_case(case: dict[str, Any], tmp_path: Path) -> None:
    env = {"HOME": "/home/user"}
    for extra in case.get("env_maps_in_test", [])[:1]:
        env.update(extra)
    test_name = case["source"].rsplit("::", 1)[1]
    if test_name in LAYOUTS:
        _load_layout(case, tmp_path, env)
        return
    outcomes: list[BaseException | None] = []
    for text in case["yaml"]:
        if test_name in TEMPLATE_VALUES:
            text = text.replace("%s", TEMPLATE_VALUES[test_name])
        try:
            _load_inline(text, env, checks=bool(case.get("error_contains")))
            outcomes.append(None)
        except ComposeError as exc:
            outcomes.append(exc)
    expected_errors = case.get("error_contains")
    if not expected_errors:
        failures = [str(e) for e in outcomes if e is not None]
        assert not failures, failures
    elif len(expected_errors) == len(case["yaml"]) and len(expected_errors) > 1:
        assert all(e is not None for e in outcomes), outcomes
    else:
        assert any(e is not None for e in outcomes), "expected a load error: " + "; ".join(expected_errors)


def test_known_differences_stay_under_two_percent() -> None:
    total = (len(INTERPOLATION["cases"]) + len(INTERPOLATION["operator_choice"]["cases"])
             + len(DOTENV["fixtures"]) + len(DOTENV["parse_cases"]) + len(DOTENV["parse_error_cases"])
             + len(DOTENV["expansion_cases"]) + len(DOTENV["line_expansion_cases"]["cases"])
             + len(MERGE["cases"]) + len(LOADER["cases"]))
    print(f"compose-go cases: {total}, known differences: {len(KNOWN_DIFFERENCES)} "
          f"({100 * len(KNOWN_DIFFERENCES) / total:.1f} %)")
    assert len(KNOWN_DIFFERENCES) <= 0.02 * total


# ------------------------------------------------------------------------------ full example and goldens

FULL = COMPOSE_GO / "full-example"
GOLDEN = COMPOSE_GO / "golden"


@pytest.fixture
def full_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from compose.project import LoadOptions, load_document

    home = str(tmp_path / "home")
    monkeypatch.setenv("HOME", home)
    options = LoadOptions(files=[str(FULL / "full-example.yml")], project_directory=str(LOADER_DIR),
                          environ={"HOME": home, "BAR": "this is a secret", "QUX": "qux_from_environment"},
                          normalize=False, consistency=False, use_cache=False)
    return load_document(options), home


def _expected(name: str, home: str) -> str:
    return (FULL / name).read_text().replace("{{WORKING_DIR}}", str(LOADER_DIR)).replace("{{HOME_DIR}}", home)


def test_full_example_yaml_is_byte_identical(full_example: Any) -> None:
    from compose.canonical_output import to_yaml

    loaded, home = full_example
    assert to_yaml(loaded.document) == _expected("expected.yaml", home)


def test_full_example_json_is_byte_identical(full_example: Any) -> None:
    from compose.canonical_output import to_json

    loaded, home = full_example
    assert to_json(loaded.document) == _expected("expected.json", home)


@pytest.mark.parametrize("name", ["web-stack", "runtime-flags", "merge-fragments"])
def test_golden_outputs_are_byte_identical(name: str) -> None:
    from compose.canonical_output import to_json, to_yaml
    from compose.project import LoadOptions, load_document

    loaded = load_document(LoadOptions(
        files=[str(GOLDEN / f"{name}.yaml")], project_name="golden", profiles=["*"], use_cache=False,
        environ={"GOLDEN_TAG": "1.2.3", "GOLDEN_PORT": "8080"}, consistency=False, resolve_paths=False))
    assert to_yaml(loaded.document) == (GOLDEN / f"{name}.golden.yaml").read_text()
    main_order = GOLDEN / f"{name}.golden.main-order.json"
    expected_json = main_order if main_order.exists() else GOLDEN / f"{name}.golden.json"
    assert to_json(loaded.document) == expected_json.read_text()


# ------------------------------------------------------------------------------ cli/testdata (options_test.go)

CLI = COMPOSE_GO / "cli" / "testdata"


def _cli_load(cwd: Path, files: list[str] | None = None, **kw: Any) -> Any:
    from compose.project import LoadOptions, load_document

    kw.setdefault("environ", {})
    return load_document(LoadOptions(files=files or [], cwd=str(cwd), use_cache=False, **kw))


def test_cli_project_name_from_directory_and_name_key() -> None:
    assert _cli_load(CLI / "simple").name == "simple"
    assert _cli_load(CLI / "UNNORMALIZED PATH").name == "unnormalizedpath"
    assert _cli_load(CLI / "simple", ["compose-name.yaml"], environ={"TEST": "expected"}).name == \
        "test-expected-test"


def test_cli_default_discovery_finds_only_compose_yaml() -> None:
    assert _cli_load(CLI / "simple").files == [str(CLI / "simple" / "compose.yaml")]


def test_cli_later_file_wins() -> None:
    loaded = _cli_load(CLI / "simple", ["compose.yaml", "compose-with-overrides.yaml"])
    assert loaded.document["services"]["simple"]["image"] == "haproxy"


def test_cli_dotenv_feeds_interpolation() -> None:
    loaded = _cli_load(CLI / "simple", ["compose-with-variables.yaml"])
    assert loaded.document["services"]["simple"]["ports"][0]["published"] == "8000"


def test_cli_dotenv_sets_compose_file_and_project_name() -> None:
    loaded = _cli_load(CLI / "env-file")
    assert loaded.name == "my_project_from_dot_env"
    assert loaded.document["services"]["simple"]["environment"] == {"DEFAULT_PORT": "8080"}
    assert loaded.document["services"]["simple"]["ports"][0]["published"] == "8000"


def test_cli_multiple_env_files() -> None:
    loaded = _cli_load(CLI / "env-file", ["compose-with-env-files.yaml"], env_files=[".env", "override.env"])
    service = loaded.document["services"]["simple"]
    assert service["ports"][0]["published"] == "9000"
    assert service["environment"]["DEFAULT_PORT"] == "9090"


@pytest.mark.parametrize("name", ["-my_project", "_my_project", "www.my.project", "MY_PROJECT"])
def test_cli_invalid_project_names(name: str) -> None:
    from compose.errors import ProjectNameError

    with pytest.raises(ProjectNameError, match=f'invalid project name "{name}"'):
        _cli_load(CLI / "simple", project_name=name)
    with pytest.raises(ProjectNameError, match=f'invalid project name "{name}"'):
        _cli_load(CLI / "simple", environ={"COMPOSE_PROJECT_NAME": name})


# ------------------------------------------------------------------------------ loader/testdata (INDEX.md table)

TESTDATA = LOADER_DIR / "testdata"


@pytest.mark.parametrize("name,message", [
    ("empty.yaml", "empty compose file"),
    ("compose-depends-on-cycle.yaml", "dependency cycle detected: service1 -> service2 -> service3 -> service1"),
    ("compose-depends-on-self.yaml", "dependency cycle detected: service1 -> service1"),
    ("compose-depends-on-profile-no-cycle.yaml", "dependency cycle detected"),
    ("compose-include-cycle.yaml", "include cycle detected"),
])
def test_testdata_failures(name: str, message: str) -> None:
    with pytest.raises(ComposeError, match=message):
        _cli_load(LOADER_DIR, [str(TESTDATA / name)])


def test_testdata_extends_and_include() -> None:
    env = {"HOME": "/home/u"}
    importer = _cli_load(LOADER_DIR, [str(TESTDATA / "compose-test-extends.yaml")], environ=env)
    svc = importer.document["services"]["importer"]
    assert (svc["image"], svc["container_name"], svc["environment"]) == ("nginx", "imported", {"SOURCE": "extends"})
    assert svc["env_file"] == [{"path": str(TESTDATA / "subdir" / "extra.env")}]
    assert svc["volumes"][0]["source"] == "/opt/data"

    included = _cli_load(LOADER_DIR, [str(TESTDATA / "include" / "compose.yaml")], environ=env)
    assert included.document["services"]["included"]["build"]["context"] == str(TESTDATA / "include")

    project_dir = _cli_load(LOADER_DIR, [str(TESTDATA / "include" / "project-directory.yaml")], environ=env)
    svc = project_dir.document["services"]["service"]
    assert svc["build"]["context"] == str(TESTDATA / "subdir")
    assert svc["env_file"] == [{"path": str(TESTDATA / "subdir" / "extra.env")}]

    combined = _cli_load(LOADER_DIR, [str(TESTDATA / "combined" / "compose.yaml")], environ=env)
    assert combined.document["services"]["service"]["build"]["context"] == str(TESTDATA / "combined" / "dir")

    url = _cli_load(LOADER_DIR, [str(TESTDATA / "compose-test-extends-with-context-url.yaml")], environ=env)
    assert url.document["services"]["importer-with-https-url"]["build"]["context"] == \
        "https://github.com/docker/compose.git"

    reset = _cli_load(LOADER_DIR, [str(TESTDATA / "extends" / "reset.yaml")], environ=env)
    assert "command" not in reset.document["services"]["base"]

    ports = _cli_load(LOADER_DIR, [str(TESTDATA / "extends" / "ports.yaml")], environ=env)
    assert [p["target"] for p in ports.document["services"]["test"]["ports"]] == [8080]
