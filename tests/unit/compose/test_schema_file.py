"""The schema file itself: generated from schemas/generate.py, a valid JSON schema, loaded lazily, and
accepting the documents docker compose accepts (full example, unresolved ${VAR} values)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from compose.errors import SchemaError
from compose.schema import SCHEMA_FILE, validate_document
from compose.sourcemap import SourceMap
from compose.yamlfile import load_yaml, strip_merge_tags

PROJECT = Path(__file__).resolve().parents[3]
CORPUS = PROJECT.parent / "shared" / "corpus"


def test_schema_json_is_up_to_date_with_its_generator() -> None:
    from schemas.generate import render

    assert SCHEMA_FILE.read_text() == render(), "run `.venv/bin/python -m schemas.generate`"


def test_schema_is_a_valid_json_schema() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text()))


def test_cli_start_up_and_module_import_do_not_load_jsonschema() -> None:
    code = ("import sys, compose.cli.main, compose.schema, compose.semantic; "
            "print('jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("relative", [
    "compose-go/full-example/full-example.yml",
    "compose-go/schema/using-variables.yaml",
    "awesome-compose/nginx-golang-mysql/compose.yaml",
])
def test_real_files_validate(relative: str) -> None:
    path = CORPUS / relative
    document, sources = load_yaml(path.read_text(), str(path))
    validate_document(strip_merge_tags(document), sources)


def test_interpolated_strings_pass_every_format() -> None:
    document = {"services": {"web": {"image": "a", "ports": ["${PORT}:80"], "mem_limit": "${MEM}",
                                     "stop_grace_period": "${GRACE:-10s}", "expose": ["$EXPOSED"]}}}
    validate_document(document, SourceMap())


def test_document_must_be_a_mapping() -> None:
    with pytest.raises(SchemaError, match="must be a mapping of top-level keys, not a list"):
        validate_document(["services"], SourceMap())  # type: ignore[arg-type]


def test_error_without_source_map_still_names_the_path() -> None:
    with pytest.raises(SchemaError) as caught:
        validate_document({"services": {"web": {"image": 5}}}, SourceMap())
    assert caught.value.location is not None
    assert caught.value.location.path == "services.web.image"
    assert caught.value.message == "services.web.image must be a string, not an integer"
