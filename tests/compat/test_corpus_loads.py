"""Every compose file of the awesome-compose and conformance-tests corpora loads, and `hoist config` prints
it in a form that loads again to the same document."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.canonical_output import to_yaml
from compose.cli.main import main
from compose.project import LoadOptions, load_document

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
FILES = sorted(
    p for d in ("awesome-compose", "conformance-tests") for p in (CORPUS / d).rglob("*")
    if p.is_file() and p.name in ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"))


def test_corpus_is_there() -> None:
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_corpus_file_loads_and_round_trips(path: Path, tmp_path: Path) -> None:
    options = LoadOptions(files=[str(path)], use_cache=False, environ={"HOME": "/root"})
    loaded = load_document(options)
    assert loaded.document["services"], "a corpus project has services"
    printed = to_yaml(loaded.document)
    again = tmp_path / "compose.yaml"
    again.write_text(printed)
    reloaded = load_document(LoadOptions(files=[str(again)], use_cache=False, environ={"HOME": "/root"},
                                         project_directory=str(path.parent)))
    assert to_yaml(reloaded.document) == printed


@pytest.mark.parametrize("path", FILES[:3], ids=[str(p.relative_to(CORPUS)) for p in FILES[:3]])
def test_hoist_config_prints_corpus_file(path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert main(["-f", str(path), "config"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("name: ") and "\nservices:\n" in out
    assert main(["-f", str(path), "config", "-q"]) == 0
    assert capsys.readouterr().out == ""
