"""bedrock_release.pipeline.journal: contract actions checked on append, and the fold into run state."""

from __future__ import annotations

from pathlib import Path

import pytest
from pl_journal_helpers import Clock, journal, phase, started, step

from audit_trail import verify
from bedrock_release.pipeline.journal import ACTIONS, JournalError, read_state


def test_every_action_of_the_contract_is_known() -> None:
    contract = {
        "run_started", "run_resumed", "phase_started", "phase_finished", "slot_release_set",
        "component_activated", "component_health_checked", "traffic_weights_set", "traffic_split_observed",
        "flag_set", "gate_evaluated", "decision", "approvals_checked", "rollback_started",
        "rollback_finished", "run_finished",
    }  # fmt: skip
    assert contract <= set(ACTIONS)


def test_unknown_action_and_missing_field_are_refused_naming_them(tmp_path: Path) -> None:
    j = journal(tmp_path)
    with pytest.raises(JournalError, match="unknown journal action 'deployed'"):
        j.record("deployed", {})
    with pytest.raises(JournalError, match="decision: data lacks reason"):
        j.record("decision", {"id": 1, "verdict": "go"})
    with pytest.raises(JournalError, match="verdict must be one of"):
        j.record("decision", {"id": 1, "verdict": "maybe", "reason": "x"})
    with pytest.raises(JournalError, match="not one of the plan's flags"):
        j.record("flag_set", {"flag": "ENABLE_EVERYTHING", "value": True, "previous": False})
    with pytest.raises(ValueError, match="phases 1 to 7"):
        j.record("phase_started", {"phase": 9, "name": "x"})
    assert not j.path.exists() or j.path.read_text() == ""


def test_fold_of_a_run_in_progress(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    phase(j, clock, 1)
    phase(j, clock, 2)
    j.phase_started(3)
    state = read_state(tmp_path)
    assert state.phases_passed == (1, 2)
    assert state.current_phase == 3
    assert state.interrupted
    assert state.new_slot == "green"
    assert state.old_slot == "blue"
    assert verify(j.path).ok


def test_resumed_phase_supersedes_the_steps_of_its_earlier_attempt(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    j.phase_started(3)
    step(j, 3, "phase3", rc=1)
    j.phase_started(3)
    step(j, 3, "phase3", rc=0)
    state = read_state(tmp_path)
    assert [s.rc for s in state.steps_of_phase(3)] == [0]


def test_traffic_moved_only_when_the_new_slot_got_weight(tmp_path: Path) -> None:
    j = journal(tmp_path)
    started(j)
    j.record("traffic_weights_set", {"weights": {"blue": 100, "green": 0}})
    assert not read_state(tmp_path).traffic_moved
    j.record("traffic_weights_set", {"weights": {"blue": 95, "green": 5}})
    state = read_state(tmp_path)
    assert state.traffic_moved
    assert state.last_weights == {"blue": 95, "green": 5}


def test_flag_just_activated_and_flags_on(tmp_path: Path) -> None:
    j = journal(tmp_path)
    started(j)
    j.record("flags_snapshot", {"values": {"ENABLE_HYBRID_HEALTH_MONITORING": False}})
    j.flag_set("ENABLE_HYBRID_HEALTH_MONITORING", True, False)
    j.flag_set("ENABLE_BEDROCK_SUPPORT_MODE", True, False)
    j.flag_set("ENABLE_HYBRID_HEALTH_MONITORING", False, True)
    j.record("flags_snapshot", {"values": {"ENABLE_HYBRID_HEALTH_MONITORING": True}})
    state = read_state(tmp_path)
    assert state.last_flag_activated == "ENABLE_BEDROCK_SUPPORT_MODE"
    assert state.flags_on == ("ENABLE_BEDROCK_SUPPORT_MODE",)
    assert state.flags_snapshot == {"ENABLE_HYBRID_HEALTH_MONITORING": False}  # the first snapshot counts


def test_rollback_and_outcome(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    phase(j, clock, 1)
    phase(j, clock, 2, status="failed")
    j.record("rollback_started", {"tier": "immediate", "trigger": "t", "failure_at": "2026-11-26T15:00:20Z"})
    j.record(
        "rollback_step",
        {"tier": "immediate", "step": "Disable all hybrid routing feature flags", "status": "done"},
    )
    j.record(
        "rollback_finished",
        {"tier": "immediate", "trigger": "t", "duration_s": 42.0, "target_s": 300, "verified": True},
    )
    j.run_finished("rolled_back")
    state = read_state(tmp_path)
    assert state.failed_phase == 2
    assert state.rollback is not None
    assert state.rollback.verified
    assert state.rollback.duration_s == 42.0
    assert [s["step"] for s in state.rollback.steps] == ["Disable all hybrid routing feature flags"]
    assert state.finished
    assert not state.interrupted


def test_refused_run_is_finished_not_interrupted(tmp_path: Path) -> None:
    j = journal(tmp_path)
    j.record(
        "run_started",
        {
            "run_id": "r",
            "release": "1.1.0",
            "previous_release": "1.0.0",
            "environment": "local",
            "time_scale": 0.05,
            "operator": "o",
        },
    )
    j.record("run_refused", {"run_id": "r", "reason": "lock held"})
    j.run_finished("no_go", "lock held")
    state = read_state(tmp_path)
    assert state.refused == "lock held"
    assert not state.interrupted


def test_slot_previous_is_the_release_before_the_run(tmp_path: Path) -> None:
    j = journal(tmp_path)
    started(j)
    j.record("slot_release_set", {"slot": "green", "release": "1.1.0", "previous_release": "1.0.0"})
    j.record("slot_release_set", {"slot": "green", "release": "1.1.0", "previous_release": "1.1.0"})
    assert read_state(tmp_path).slot_previous == {"green": "1.0.0"}


def test_state_to_dict_is_plain_data(tmp_path: Path) -> None:
    j = journal(tmp_path)
    started(j)
    data = read_state(tmp_path).to_dict()
    assert data["slots"] == {"active": "blue", "idle": "green"}
    assert data["phases_passed"] == []
    assert data["current_phase"] == 1
