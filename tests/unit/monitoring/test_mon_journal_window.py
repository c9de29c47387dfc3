"""When the release slot went live, read from a deploy journal (the verification window's start)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bedrock_release.monitoring import release_live_since, validation_ended_at


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
    finished = {"phase": 6, "name": "Production Validation", "status": "passed"}
    _journal(
        tmp_path / "audit.jsonl",
        [
            {"seq": 0, "ts": "2026-11-26T15:00:00Z", "action": "phase_started", "data": {"phase": 6}},
            {"seq": 1, "ts": "2026-11-26T15:01:00Z", "action": "phase_finished", "data": {"phase": 5}},
            {"seq": 2, "ts": "2026-11-26T15:02:00Z", "action": "phase_finished", "data": finished},
            "not a record",
            {"seq": 3, "ts": "2026-11-26T15:04:00Z", "action": "phase_finished", "data": finished},
            {"seq": 4, "ts": "2026-11-26T15:05:00Z", "action": "phase_started", "data": {"phase": 7}},
        ],
    )
    assert validation_ended_at(tmp_path) == datetime(2026, 11, 26, 15, 4, tzinfo=UTC)
    _journal(
        tmp_path / "early.jsonl",
        [{"seq": 0, "ts": "2026-11-26T15:00:00Z", "action": "phase_started", "data": {"phase": 6}}],
    )
    assert validation_ended_at(tmp_path / "early.jsonl") is None
    assert validation_ended_at(tmp_path / "missing") is None
