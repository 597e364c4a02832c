"""Renderers: byte-stable plain and JSON lines, the tty view's words and marks, log prefixes."""

from __future__ import annotations

import io
import json

from compose.events import DONE, ERROR, WORKING, Event
from compose.render import choose_mode, make_renderer
from compose.render.logs import LogPrinter
from compose.render.plain import PlainRenderer
from compose.render.tty import TtyRenderer


def test_plain_lines() -> None:
    out = io.StringIO()
    r = PlainRenderer(out)
    r.start("Running")
    r.emit(Event("Container p-web-1", "Creating", WORKING))
    r.emit(Event("Container p-web-1", "Created", DONE))
    r.emit(Event("Service web", "Skipped", ERROR, "dependency failed"))
    r.stop()
    assert out.getvalue() == (" Container p-web-1 Creating\n Container p-web-1 Created\n"
                              " Service web Skipped dependency failed\n")


def test_json_lines_have_compose_keys() -> None:
    out = io.StringIO()
    r = make_renderer("json", out)
    r.emit(Event("Network p_default", "Created", DONE))
    obj = json.loads(out.getvalue())
    assert obj == {"id": "Network p_default", "parent_id": "", "status": "Done", "text": "Created",
                   "details": "", "current": 0, "total": 0, "percent": 0}


def test_mode_choice() -> None:
    assert choose_mode("auto", io.StringIO()) == "plain"  # not a terminal
    assert choose_mode("quiet", io.StringIO()) == "quiet"
    assert choose_mode("auto", io.StringIO(), ansi="always") == "tty"
    out = io.StringIO()
    q = make_renderer("quiet", out)
    q.emit(Event("x", "Created", DONE))
    assert out.getvalue() == ""


def test_tty_renderer_draws_header_marks_and_timers() -> None:
    out = io.StringIO()
    r = TtyRenderer(out)
    r.start("Running")
    r.emit(Event("Container p-db-1", "Started", DONE))
    r.emit(Event("Container p-web-1", "Starting", WORKING))
    r.emit(Event("Service api", "Skipped", ERROR))
    r.stop()
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.getvalue())
    assert "[+] Running 2/3" in text
    assert "✔ Container p-db-1 Started" in text and "✘ Service api Skipped" in text
    assert "s" in text.split("Started")[-1]  # a timer such as 0.0s follows


def test_log_prefix_padding_colour_and_timestamps() -> None:
    out = io.StringIO()
    p = LogPrinter(out, colour=False)
    p.register("web-1")
    p.register("database-1")
    p.line("web-1", "hello\n")
    assert out.getvalue() == "web-1      | hello\n"
    out2 = io.StringIO()
    c = LogPrinter(out2, colour=True, timestamps=True)
    c.line("a-1", "x", "2024-01-01T00:00:00Z")
    assert out2.getvalue().startswith("\x1b[36ma-1 | \x1b[0m2024-01-01T00:00:00Z x\n")
    out3 = io.StringIO()
    LogPrinter(out3, prefix=False).line("a-1", "bare\n")
    assert out3.getvalue() == "bare\n"


def test_time_filters() -> None:
    from compose.timefilter import engine_time, parse_time_filter

    now = 1_700_000_000.0
    assert engine_time(now) == "2023-11-14T22:13:20.000000000Z"
    assert parse_time_filter("10m", now=now) == engine_time(now - 600)
    assert parse_time_filter("1700000000", now=now) == engine_time(now)
    assert parse_time_filter("2023-11-14T22:13:20Z") == engine_time(now)
    assert parse_time_filter(None) is None
