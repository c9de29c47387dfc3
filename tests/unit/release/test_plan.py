"""The plan's constants: what other modules and the pipeline rely on, checked against the plan text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bedrock_release.plan import (
    APPROVAL_ROLES,
    COMPONENTS,
    DECISION_POINTS,
    FLAGS,
    HEALTH_CHECKS,
    PHASES,
    PLAN_SLO_GATES,
    ROLLBACK_TIERS,
    RollbackTier,
    phase,
)

PLAN = (Path(__file__).parents[3] / "docs" / "deployment-plan.md").read_text(encoding="utf-8")


def test_phases_match_the_plan_headings() -> None:
    headings = re.findall(r"^### Phase (\d): (.+) \((\d+) minutes\)$", PLAN, flags=re.MULTILINE)
    assert [(p.id, p.name, p.budget_min) for p in PHASES] == [(int(i), n, int(m)) for i, n, m in headings]


def test_flags_components_checks_in_plan_order() -> None:
    assert re.findall(r"^\d\. `(ENABLE_\w+)`", PLAN, flags=re.MULTILINE) == list(FLAGS)
    assert re.findall(r"^\d\. \*\*(\w+)\*\* - ", PLAN, flags=re.MULTILINE) == list(COMPONENTS)
    for check in HEALTH_CHECKS:
        assert f"**{check}**" in PLAN


def test_rollback_targets_match_the_plan() -> None:
    for tier, minutes in ((RollbackTier.IMMEDIATE, 5), (RollbackTier.PARTIAL, 10), (RollbackTier.FULL, 30)):
        assert f"**{tier.value.title()} Rollback** (< {minutes} minutes)" in PLAN
        assert ROLLBACK_TIERS[tier].target_s == minutes * 60
        for step in ROLLBACK_TIERS[tier].steps:
            assert step in PLAN


def test_approvals_and_decision_points_match_the_plan() -> None:
    for role in APPROVAL_ROLES:
        assert f"**{role.title}**" in PLAN
        assert role.purpose in PLAN
    for dp in DECISION_POINTS:
        assert f"**Decision Point {dp.id}** (After Phase {dp.after_phase}): {dp.name}" in PLAN
        assert dp.go_criteria in PLAN
        assert dp.no_go_action in PLAN


def test_slo_gates_match_the_plan_table() -> None:
    assert "≤ 1.5s (generation), ≤ 300ms (cached)" in PLAN
    assert "| Error Rate     | ≤ 1.0%" in PLAN
    assert "≤ 80% of allocated budget" in PLAN
    assert "≥ 80% for frequent queries" in PLAN
    assert {(g.name, g.comparison, g.threshold) for g in PLAN_SLO_GATES} == {
        ("p95-latency-generation", "<=", 1500),
        ("p95-latency-cached", "<=", 300),
        ("error-rate", "<=", 1.0),
        ("cost-budget", "<=", 80),
        ("cache-hit-rate", ">=", 80),
    }


def test_phase_lookup() -> None:
    assert phase(5).name == "Feature Flag Activation"
    with pytest.raises(ValueError, match="unknown phase 0"):
        phase(0)
