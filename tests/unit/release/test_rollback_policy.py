"""The rollback table: each failure gets the plan's tier, and a failed rollback pages a person."""

from __future__ import annotations

import pytest

from bedrock_release.pipeline.rollback_policy import Action, Failure, decide
from bedrock_release.plan import FLAGS, ROLLBACK_TIERS, RollbackTier

TABLE = [
    (Failure(1), Action.NO_GO, None),
    (Failure(2, traffic_moved=False), Action.ROLLBACK, RollbackTier.IMMEDIATE),
    (Failure(2, traffic_moved=True), Action.ROLLBACK, RollbackTier.FULL),
    (Failure(3, traffic_moved=True), Action.ROLLBACK, RollbackTier.FULL),
    (Failure(4, traffic_moved=True), Action.ROLLBACK, RollbackTier.FULL),
    (
        Failure(5, traffic_moved=True, failing_flag="ENABLE_INTELLIGENT_ROUTING"),
        Action.ROLLBACK,
        RollbackTier.PARTIAL,
    ),
    (Failure(5, traffic_moved=True), Action.ROLLBACK, RollbackTier.FULL),
    (Failure(6, traffic_moved=True), Action.ROLLBACK, RollbackTier.FULL),
    (Failure(7, traffic_moved=True), Action.ROLLBACK, RollbackTier.IMMEDIATE),
]


@pytest.mark.parametrize(("failure", "action", "tier"), TABLE, ids=[repr(row[0]) for row in TABLE])
def test_policy_table(failure: Failure, action: Action, tier: RollbackTier | None) -> None:
    decision = decide(failure)
    assert decision.action is action
    assert decision.tier is tier
    assert decision.target_s == (ROLLBACK_TIERS[tier].target_s if tier else None)
    assert decision.reason
    assert decision.page == ()


def test_targets_are_the_plans() -> None:
    assert decide(Failure(7)).target_s == 300
    assert decide(Failure(5, failing_flag=FLAGS[1])).target_s == 600
    assert decide(Failure(3)).target_s == 1800


@pytest.mark.parametrize(
    ("flag", "stable"),
    [
        (FLAGS[0], ()),
        ("ENABLE_INTELLIGENT_ROUTING", ("ENABLE_HYBRID_HEALTH_MONITORING", "ENABLE_BEDROCK_SUPPORT_MODE")),
        (FLAGS[4], FLAGS[:4]),
    ],
)
def test_partial_reenables_only_flags_before_the_failing_one(flag: str, stable: tuple[str, ...]) -> None:
    decision = decide(Failure(5, failing_flag=flag))
    assert decision.reenable_flags == stable
    assert flag in decision.reason


@pytest.mark.parametrize("tier", list(RollbackTier))
def test_failed_rollback_requires_manual_intervention_and_pages(tier: RollbackTier) -> None:
    decision = decide(Failure(3, traffic_moved=True, rollback_failed=tier))
    assert decision.action is Action.MANUAL_INTERVENTION
    assert decision.tier is None
    assert decision.page == ("DevOps Team Lead", "AI Architecture Team Lead", "CTO")
    assert "manual intervention required" in decision.reason
    assert tier.value in decision.reason


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="phase must be 1 to 7"):
        decide(Failure(8))
    with pytest.raises(ValueError, match="ENABLE_EVERYTHING"):
        decide(Failure(5, failing_flag="ENABLE_EVERYTHING"))
