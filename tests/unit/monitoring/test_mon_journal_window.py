"""When the release slot went live, read from a deploy journal (the verification window's start)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from audit_trail import AuditTrailError
from bedrock_release.monitoring import release_live_since, validation_ended_at
from bedrock_release.pipeline.journal import Journal, parse_ts


def _journal(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def test_the_last_switch_of_the_slot_wins(tmp_path: Path) -> None:
    _journal(
        tmp_path / "audit.jsonl",
        [
            {"seq": 0, "ts": "2026-11-26T15:00:00Z", "action": "run_started", "data": {}},
            {"seq": 1, "ts": "2026-11-26T15:01:00Z", "action": "slot_release_set", "data": {"slot": "blue"}},
            {"seq": 2, "ts": "2026-11-26T15:02:00Z", "action": "slot_release_set", "data": {"slot": "green"}},
            {
                "seq": 3,
                "ts": "2026-11-26T15:03:00+00:00",
                "action": "slot_release_set",
                "data": {"slot": "green"},
            },
        ],
    )
    assert release_live_since(tmp_path, "green") == datetime(2026, 11, 26, 15, 3, tzinfo=UTC)
    assert release_live_since(tmp_path / "audit.jsonl", "blue") == datetime(2026, 11, 26, 15, 1, tzinfo=UTC)


def test_without_a_switch_the_run_start_and_without_a_journal_nothing(tmp_path: Path) -> None:
    _journal(
        tmp_path / "audit.jsonl", [{"seq": 0, "ts": "2026-11-26T15:00:00Z", "action": "run_started"}, {}]
    )
    assert release_live_since(tmp_path, "green") == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    assert release_live_since(tmp_path / "missing", "green") is None


def test_phase_6_ends_at_its_last_finish_and_not_before_it_finished(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "audit.jsonl")
    journal.phase_started(6)
    assert validation_ended_at(tmp_path) is None  # running: its probes may still come
    journal.phase_finished(6, "failed", duration_s=1.0, budget_s=90.0)
    journal.phase_started(6)  # resumed
    last = journal.phase_finished(6, "passed", duration_s=1.0, budget_s=90.0)
    journal.phase_started(7)
    assert validation_ended_at(tmp_path) == parse_ts(last.ts)
    assert validation_ended_at(tmp_path / "audit.jsonl") == parse_ts(last.ts)
    assert validation_ended_at(tmp_path / "missing") is None


def test_a_journal_that_does_not_parse_is_an_error_not_nothing_to_exclude(tmp_path: Path) -> None:
    _journal(tmp_path / "audit.jsonl", [{"seq": 0, "ts": "2026-11-26T15:00:00Z", "action": "phase_finished"}])
    with pytest.raises(AuditTrailError):
        validation_ended_at(tmp_path)
