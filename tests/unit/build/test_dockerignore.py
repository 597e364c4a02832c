""".dockerignore pattern rules (Go filepath.Match + **, negation, cleaning, last rule wins)."""

from __future__ import annotations

import pytest

from runtime.errors import BuildError
from runtime.images.build.dockerignore import IgnoreMatcher, clean, read_patterns


def test_read_patterns_comments_whitespace_slashes_and_negation() -> None:
    text = "# comment\n\n  *.log  \n/build/\n./a//b/../c\n! keep.log\n!/x/\n #not a comment\n"
    assert read_patterns(text) == ["*.log", "build", "a/c", "!keep.log", "!x", "#not a comment"]


@pytest.mark.parametrize("path, expected", [
    ("a/b/", "a/b"), ("./a", "a"), ("a/../b", "b"), ("/a//b", "/a/b"), ("", "."), ("..", ".."),
])
def test_clean(path: str, expected: str) -> None:
    assert clean(path) == expected


@pytest.mark.parametrize("patterns, path, excluded", [
    # plain names and directories (everything below a matched directory is matched)
    (["node_modules"], "node_modules", True),
    (["node_modules"], "node_modules/x/y.js", True),
    (["node_modules"], "src/node_modules", False),
    (["build"], "builds", False),
    # * and ? never cross a slash; patterns are anchored at the context root
    (["*.log"], "a.log", True),
    (["*.log"], "logs/a.log", False),
    (["*/*.log"], "logs/a.log", True),
    (["*/*.log"], "a/b/c.log", False),
    (["file?.txt"], "file1.txt", True),
    (["file?.txt"], "file10.txt", False),
    (["file?.txt"], "file/.txt", False),
    # character classes, negated classes, escapes
    (["[ab].txt"], "a.txt", True),
    (["[ab].txt"], "c.txt", False),
    (["[a-c]x"], "bx", True),
    (["[!a]x"], "ax", False),
    (["[!a]x"], "bx", True),
    (["[^a]x"], "bx", True),
    (["\\*.txt"], "*.txt", True),
    (["\\*.txt"], "a.txt", False),
    # ** matches any number of directories, zero included
    (["**/*.log"], "a.log", True),
    (["**/*.log"], "x/y/z/a.log", True),
    (["**/*.log"], "x/y/z/a.txt", False),
    (["a/**/b"], "a/b", True),
    (["a/**/b"], "a/x/y/b", True),
    (["a/**"], "a/x/y", True),
    (["a/**"], "b/x", False),
    (["**"], "anything/at/all", True),
    (["**/temp*"], "deep/down/temporary", True),
    # negation: the last matching rule wins
    (["*.md", "!README.md"], "README.md", False),
    (["*.md", "!README.md"], "CHANGES.md", True),
    (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True),
    (["*.md", "!README*.md", "README-secret.md"], "README-public.md", False),
    (["docs", "!docs/keep.txt"], "docs/keep.txt", False),
    (["docs", "!docs/keep.txt"], "docs/other.txt", True),
    (["!x", "x"], "x", True),
    # leading and trailing slashes are cleaned away
    (["/secret/"], "secret/key", True),
    (["./tmp"], "tmp/a", True),
    # the root itself is never excluded
    (["*"], ".", False),
    (["*"], "anything", True),
])
def test_pattern_table(patterns: list[str], path: str, excluded: bool) -> None:
    assert IgnoreMatcher(read_patterns("\n".join(patterns))).matches(path) is excluded


def test_paths_are_cleaned_before_matching() -> None:
    m = IgnoreMatcher(["a/b"])
    assert m.matches("./a/b") and m.matches("a//b/") and m.matches("a/c/../b")


def test_may_include_below_only_with_negations() -> None:
    assert not IgnoreMatcher(["docs"]).may_include_below("docs")
    assert IgnoreMatcher(["docs", "!docs/keep.txt"]).may_include_below("docs")
    assert not IgnoreMatcher(["docs", "!src/x"]).may_include_below("docs")


@pytest.mark.parametrize("pattern", ["[abc", "trailing\\"])
def test_invalid_patterns_are_errors(pattern: str) -> None:
    with pytest.raises(BuildError, match="invalid .dockerignore pattern"):
        IgnoreMatcher([pattern])


def test_dockerfile_specific_ignore_file_wins(tmp_path) -> None:
    (tmp_path / ".dockerignore").write_text("a\n")
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "prod.Dockerfile.dockerignore").write_text("b\n")
    specific = IgnoreMatcher.from_context(tmp_path, tmp_path / "docker" / "prod.Dockerfile")
    assert specific.matches("b") and not specific.matches("a")
    assert IgnoreMatcher.from_context(tmp_path, tmp_path / "Dockerfile").matches("a")
    assert IgnoreMatcher.from_context(tmp_path, None).matches("a")
    assert not IgnoreMatcher.from_context(tmp_path / "missing", None)
