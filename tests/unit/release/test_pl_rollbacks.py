"""bedrock_release.pipeline.rollbacks: the tier for a failure, timed from it against the plan's target."""

from __future__ import annotations

from pathlib import Path

import pytest
from pl_journal_helpers import Clock, journal, phase, started

from bedrock_release.pipeline import rollbacks
from bedrock_release.pipeline.journal import read_state


@pytest.mark.parametrize(
    ("failed", "moved", "action", "tier"),
    [
        (1, False, "no_go", None),
        (2, False, "rollback", "immediate"),
        (2, True, "rollback", "full"),
        (3, True, "rollback", "full"),
        (6, True, "rollback", "full"),
        (7, True, "rollback", "immediate"),
    ],
)
def test_tier_follows_the_policy(
    tmp_path: Path, failed: int, moved: bool, action: str, tier: str | None
) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    if moved:
        j.record("traffic_weights_set", {"weights": {"blue": 95, "green": 5}})
    phase(j, clock, failed, status="failed")
    choice = rollbacks.choose(read_state(tmp_path))
    assert (choice.action, choice.tier) == (action, tier)
    assert choice.phase == failed


def test_phase_5_partial_names_the_flag_switched_on_last(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    for flag in (
        "ENABLE_HYBRID_HEALTH_MONITORING",
        "ENABLE_BEDROCK_SUPPORT_MODE",
        "ENABLE_INTELLIGENT_ROUTING",
    ):
        j.flag_set(flag, True, False)
    phase(j, clock, 5, status="failed")
    choice = rollbacks.choose(read_state(tmp_path))
    assert choice.tier == "partial"
    assert choice.failing_flag == "ENABLE_INTELLIGENT_ROUTING"
    assert choice.reenable_flags == ("ENABLE_HYBRID_HEALTH_MONITORING", "ENABLE_BEDROCK_SUPPORT_MODE")


def test_tier_by_hand(tmp_path: Path) -> None:
    j = journal(tmp_path)
    started(j)
    j.flag_set("ENABLE_HYBRID_HEALTH_MONITORING", True, False)
    j.flag_set("ENABLE_BEDROCK_SUPPORT_MODE", True, False)
    choice = rollbacks.choose(read_state(tmp_path), tier="partial")
    assert choice.reason == "partial rollback run by hand"
    assert choice.reenable_flags == ("ENABLE_HYBRID_HEALTH_MONITORING",)


def test_rollback_is_timed_from_the_failure_against_the_unscaled_target(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j, scale=0.05)
    phase(j, clock, 3, status="failed")
    data = rollbacks.start(tmp_path, "full", "SLO gate failed")
    assert data["failure_at"] == read_state(tmp_path).phases[3].finished_at
    finished = rollbacks.finish(tmp_path, verified=True)
    assert finished["target_s"] == 1800
    assert finished["duration_s"] > 0
    state = read_state(tmp_path)
    assert state.rollback is not None
    assert state.rollback.verified


def test_finish_without_start_and_manual_intervention(tmp_path: Path) -> None:
    j = journal(tmp_path)
    started(j)
    with pytest.raises(ValueError, match="no rollback_started"):
        rollbacks.finish(tmp_path, verified=False)
    message = rollbacks.manual_intervention("full", 6)
    assert "manual intervention required" in message
    assert "DevOps Team Lead" in message
    assert "CTO" in message
