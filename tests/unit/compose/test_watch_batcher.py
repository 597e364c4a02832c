"""The batcher's quiet period and maximum delay, driven by a fake clock."""

from __future__ import annotations

from compose.watch.batcher import MAX_DELAY, QUIET_PERIOD, Batcher


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_quiet_period_is_far_below_composes_500ms() -> None:
    assert QUIET_PERIOD <= 0.1 < MAX_DELAY


def test_changes_arriving_together_form_one_batch() -> None:
    clock = Clock()
    b = Batcher(clock, quiet=0.05)
    assert b.due_in() is None and b.take() == []
    b.add(["a"])
    clock.now += 0.03
    b.add(["b", "a"])  # within the quiet period: same batch, duplicates folded
    clock.now += 0.04
    assert b.take() == []  # only 40 ms since the last event
    assert abs(b.due_in() - 0.01) < 1e-9
    clock.now += 0.01
    assert b.take() == ["a", "b"]
    assert not b.pending() and b.due_in() is None


def test_a_steady_stream_is_released_after_the_maximum_delay() -> None:
    clock = Clock()
    b = Batcher(clock, quiet=0.05, max_delay=0.2)
    released = []
    for i in range(10):  # an event every 30 ms: never quiet
        b.add([f"f{i}"])
        released += b.take()
        clock.now += 0.03
    assert released[:7] == [f"f{i}" for i in range(7)]  # the first batch went at 200 ms
    assert b.pending()


def test_empty_additions_do_not_start_or_extend_a_batch() -> None:
    clock = Clock()
    b = Batcher(clock, quiet=0.05)
    b.add([])
    assert b.due_in() is None
    b.add(["x"])
    clock.now += 0.04
    b.add([])
    clock.now += 0.01
    assert b.take() == ["x"]
