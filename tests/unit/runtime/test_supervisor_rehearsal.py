"""The launcher's warm-up of the supervisor's code: it must run cleanly and leave nothing behind."""

from __future__ import annotations

from runtime import supervisor


def test_rehearsal_runs_and_cleans_up(tmp_path):
    scratch = tmp_path / "rehearsal"
    supervisor.rehearse(scratch, rounds=3)
    assert not scratch.exists()  # not even the empty directory: one per launcher piled up in the run dir
