"""bedrock_release.pipeline.rollbacks: the tier for a failure, timed from it against the plan's target."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pl_journal_helpers import Clock, journal, phase, started

from bedrock_release.pipeline import rollbacks
from bedrock_release.pipeline.journal import parse_ts, read_state
from bedrock_release.report.builder import build_report
from bedrock_release.report.render import load_view, render_markdown


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


@pytest.mark.parametrize(
    ("tier", "scale", "seconds"), [("immediate", 0.05, 15), ("full", 0.05, 90), ("full", 1, 1800)]
)
def test_the_deadline_is_the_tiers_target_from_the_failure_at_the_runs_time_scale(
    tmp_path: Path, tier: str, scale: float, seconds: float
) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j, scale=scale)
    phase(j, clock, 3, status="failed")
    data = rollbacks.start(tmp_path, tier, "SLO gate failed")
    failure = parse_ts(data["failure_at"])
    assert parse_ts(data["retry_until"]) - failure == timedelta(seconds=seconds)
    assert read_state(tmp_path).rollback.retry_until == data["retry_until"]


def _canary_failed_at_5_percent(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    j.record("traffic_weights_set", {"weights": {"blue": 95, "green": 5}})
    phase(j, clock, 2, status="failed")
    rollbacks.start(tmp_path, "full", "canary failed")


def test_a_rollback_that_cannot_read_the_balancer_names_the_weights_this_run_set_last(tmp_path: Path) -> None:
    _canary_failed_at_5_percent(tmp_path)
    record = rollbacks.finish(
        tmp_path, verified=False, reason="read the weights: still failing", weights_error="connection refused"
    )
    left = record["traffic_left"]
    assert left["source"] == "journal"
    assert left["weights"] == {"blue": 95, "green": 5}
    assert left["text"] == (
        "traffic blue 95 %, green 5 % (as this run last set them; the load balancer did not answer "
        "(connection refused)); slot green with release 1.1.0 takes 5 % of it"
    )
    state = read_state(tmp_path)
    assert state.rollback.traffic_left == left
    report = build_report(state)
    assert report.rollback is not None
    assert report.rollback.traffic_left == left["text"]
    assert report.rollback.reason == "read the weights: still failing"
    assert "Traffic left: traffic blue 95 %, green 5 %" in render_markdown(load_view(tmp_path))


def test_a_rollback_that_read_the_balancer_names_the_live_weights(tmp_path: Path) -> None:
    _canary_failed_at_5_percent(tmp_path)
    record = rollbacks.finish(tmp_path, verified=True, live_weights={"blue": 100, "green": 0})
    assert record["traffic_left"] == {
        "weights": {"blue": 100, "green": 0},
        "source": "load_balancer",
        "text": "traffic blue 100 %, green 0 % (read live)",
    }


def test_a_run_that_never_moved_traffic_says_so(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    phase(j, clock, 2, status="failed")
    rollbacks.start(tmp_path, "immediate", "component unhealthy")
    left = rollbacks.finish(tmp_path, verified=False, weights_error="refused")["traffic_left"]
    assert left["source"] == "unchanged"
    assert left["weights"] is None
    assert left["text"].startswith("no weight was changed by this run: blue serves what it served before")
