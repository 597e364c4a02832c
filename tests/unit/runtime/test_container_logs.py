"""Log lines as JSON objects, rotation by size, and reading back across rotated files."""

from __future__ import annotations

import json

from runtime.logs import LineSplitter, LogWriter, read_logs


def test_rotation_keeps_max_files_and_reads_oldest_first(tmp_path):
    path = tmp_path / "container.log"
    w = LogWriter(path, max_size=500, max_files=3)
    for i in range(100):
        w.write("stdout", f"line {i}\n")
    w.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["container.log", "container.log.1", "container.log.2"]
    assert all(p.stat().st_size <= 500 for p in tmp_path.iterdir())
    texts = [r["text"] for r in read_logs(path)]
    assert texts[-1] == "line 99\n"
    assert texts == [f"line {i}\n" for i in range(100 - len(texts), 100)]
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"time", "stream", "text"} and first["time"].endswith("Z")


def test_single_file_is_truncated_not_rotated(tmp_path):
    path = tmp_path / "container.log"
    w = LogWriter(path, max_size=300, max_files=1)
    for i in range(50):
        w.write("stderr", f"e{i}\n")
    w.close()
    assert [p.name for p in tmp_path.iterdir()] == ["container.log"]
    assert path.stat().st_size <= 300


def test_tail_since_and_a_torn_last_line(tmp_path):
    path = tmp_path / "container.log"
    w = LogWriter(path)
    for i in range(5):
        w.write("stdout", f"{i}\n")
    w.close()
    with open(path, "a") as f:
        f.write('{"time": "x", "str')  # a crash mid-write must not break readers
    assert [r["text"] for r in read_logs(path, tail=2)] == ["3\n", "4\n"]
    times = [r["time"] for r in read_logs(path)]
    assert [r["text"] for r in read_logs(path, since=times[3])] == ["3\n", "4\n"]


def test_splitter_keeps_partial_lines_until_flush():
    s = LineSplitter()
    assert s.feed(b"a\nb") == ["a\n"]
    assert s.feed(b"c\n") == ["bc\n"]
    assert s.feed(b"tail") == []
    assert s.flush() == ["tail"]
    assert len(s.feed(b"x" * 40000)) == 2  # very long lines are split, as docker does


def test_follow_yields_each_line_once_and_completes_a_line_cut_at_the_snapshot(tmp_path):
    """Following resumes right after the last complete line the first read saw: a line half-written at
    that moment comes whole, once (it used to be lost, and lines written around the read came twice)."""
    path = tmp_path / "container.log"
    w = LogWriter(path, max_size=0, max_files=1)
    w.write("stdout", "one\n")
    w.write("stdout", "two\n")
    with open(path, "ab") as f:
        f.write(b'{"time": "x", "stream": "stdout", "te')  # a line still being written
    done = []
    reader = read_logs(path, follow=True, running=lambda: not done, poll=0)
    seen = [next(reader)["text"]]  # the snapshot is taken here
    with open(path, "ab") as f:
        f.write(b'xt": "three\\n"}\n')
    seen.append(next(reader)["text"])
    seen.append(next(reader)["text"])
    w.write("stdout", "four\n")
    seen.append(next(reader)["text"])
    done.append(True)
    seen += [r["text"] for r in reader]
    w.close()
    assert seen == ["one\n", "two\n", "three\n", "four\n"]
