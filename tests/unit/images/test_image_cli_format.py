"""Docker's display forms used by `hoist image ls/history/inspect`: sizes, ages, Go-style templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from compose.cli.commands.image import human_since, human_size, render_template
from compose.errors import UsageError


@pytest.mark.parametrize(("size", "text"), [(0, "0B"), (999, "999B"), (1000, "1kB"), (1_982_523, "1.98MB"),
                                            (140_353_574, "140MB"), (5_300_000_000, "5.3GB")])
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(("age", "text"), [
    (timedelta(seconds=30), "30 seconds ago"), (timedelta(seconds=90), "About a minute ago"),
    (timedelta(minutes=5), "5 minutes ago"), (timedelta(minutes=70), "About an hour ago"),
    (timedelta(hours=5), "5 hours ago"), (timedelta(days=3), "3 days ago"), (timedelta(days=21), "3 weeks ago"),
    (timedelta(days=120), "4 months ago"), (timedelta(days=800), "2 years ago"),
])
def test_human_since(age: timedelta, text: str) -> None:
    created = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert human_since(created) == text
    assert human_since("not a time") == "N/A"


def test_render_template() -> None:
    row = {"Repository": "busybox", "Tag": "latest", "Config": {"Cmd": ["sh"]}}
    assert render_template("{{.Repository}}:{{ .Tag }}", row) == "busybox:latest"
    assert render_template("{{.Repository}}\\t{{json .Config}}", row) == 'busybox\t{"Cmd":["sh"]}'
    assert render_template("{{json .}}", {"a": 1}) == '{"a":1}'
    assert render_template("{{.Missing}}x", row) == "x"
    with pytest.raises(UsageError):
        render_template("{{range .}}", row)
