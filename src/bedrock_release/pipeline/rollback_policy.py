"""Which rollback tier fits a failure: a pure function of where and how the deploy failed."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from bedrock_release.plan import FLAGS, ON_CALL, PHASES, ROLLBACK_TIERS, RollbackTier

__all__ = ["Action", "Failure", "RollbackDecision", "decide", "decide_interrupted"]


class Action(enum.StrEnum):
    """What the pipeline does next."""

    NO_GO = "no_go"  # stop before anything changed; nothing to roll back
    ROLLBACK = "rollback"
    MANUAL_INTERVENTION = "manual_intervention"  # automation has run out; page a person


@dataclass(frozen=True)
class Failure:
    """Where a deploy failed: the phase, whether canary traffic had moved, which flag degraded, and
    which rollback tier (if any) has itself just failed."""

    phase: int
    traffic_moved: bool = False
    failing_flag: str | None = None
    rollback_failed: RollbackTier | None = None


@dataclass(frozen=True)
class RollbackDecision:
    """The action, the tier and its target, flags to re-enable (partial), whom to page, and why."""

    action: Action
    tier: RollbackTier | None
    target_s: int | None
    reenable_flags: tuple[str, ...]
    page: tuple[str, ...]
    reason: str


def _rollback(tier: RollbackTier, reason: str, reenable: tuple[str, ...] = ()) -> RollbackDecision:
    return RollbackDecision(Action.ROLLBACK, tier, ROLLBACK_TIERS[tier].target_s, reenable, (), reason)


def _phase5(failure: Failure) -> RollbackDecision:
    if failure.failing_flag is None:
        # Without knowing which flag degraded, no flag is known to be stable: revert everything.
        return _rollback(
            RollbackTier.FULL, "phase 5 failure with no failing flag named: no flag is known stable"
        )
    if failure.failing_flag not in FLAGS:
        raise ValueError(
            f"failing_flag {failure.failing_flag!r} is not one of the plan's flags: {', '.join(FLAGS)}"
        )
    stable = FLAGS[: FLAGS.index(failure.failing_flag)]
    return _rollback(
        RollbackTier.PARTIAL,
        f"performance degradation after {failure.failing_flag}: disable all flags, then re-enable the stable "
        f"ones ({', '.join(stable) or 'none'}) one at a time",
        stable,
    )


def _phase1(_failure: Failure) -> RollbackDecision:
    return RollbackDecision(
        Action.NO_GO, None, None, (), (), "pre-deployment validation failed: no-go, nothing was deployed"
    )


def _phase2(failure: Failure) -> RollbackDecision:
    if failure.traffic_moved:
        return _rollback(
            RollbackTier.FULL, "canary failure after traffic moved: revert traffic and deployments"
        )
    return _rollback(
        RollbackTier.IMMEDIATE,
        "component failure before any traffic moved (decision point 1: 'Execute immediate rollback')",
    )


def _full(reason: str) -> Callable[[Failure], RollbackDecision]:
    return lambda _failure: _rollback(RollbackTier.FULL, reason)


def _phase7(_failure: Failure) -> RollbackDecision:
    return _rollback(
        RollbackTier.IMMEDIATE,
        "monitoring activation failed: the release is validated; flags off until monitoring is in place",
    )


#: One small strategy per phase; docs/rollback.md shows the same table in the plan's words.
_POLICY: dict[int, Callable[[Failure], RollbackDecision]] = {
    1: _phase1,
    2: _phase2,
    3: _full("SLO gate failure ('Immediate rollback on any gate failure'): traffic and components are new"),
    4: _full("health check failure after deployment: revert components and traffic"),
    5: _phase5,
    6: _full("production validation failure (decision point 3): revert to the previous release"),
    7: _phase7,
}


def _manual(failure: Failure, tier: RollbackTier) -> RollbackDecision:
    who = ", ".join(f"{level}: {person}" for level, person in ON_CALL)
    return RollbackDecision(
        Action.MANUAL_INTERVENTION,
        None,
        None,
        (),
        tuple(person for _, person in ON_CALL),
        f"the {tier.value} rollback itself failed in phase {failure.phase}: "
        f"manual intervention required; page on-call ({who})",
    )


def decide(failure: Failure) -> RollbackDecision:
    """Return the rollback the plan prescribes for a failure, with the reason in the plan's terms."""
    if failure.phase not in _POLICY:
        raise ValueError(f"phase must be 1 to {len(PHASES)}, got {failure.phase!r}")
    if failure.rollback_failed is not None:
        return _manual(failure, RollbackTier(failure.rollback_failed))
    return _POLICY[failure.phase](failure)


def decide_interrupted(
    phase: int, *, traffic_moved: bool, rollback_tier: str | None = None
) -> RollbackDecision:
    """The rollback a run needs that stopped without finishing (killed, its controller lost).

    A rollback that was under way is run again with its own tier (every tier starts from whatever state
    it finds); otherwise the interrupted phase is treated as a failure there, with no failing flag known.
    """
    if rollback_tier is not None:
        tier = RollbackTier(rollback_tier)
        return _rollback(
            tier, f"the run was interrupted during its {tier.value} rollback: run that tier again"
        )
    decision = decide(Failure(phase=phase, traffic_moved=traffic_moved))
    return RollbackDecision(
        decision.action,
        decision.tier,
        decision.target_s,
        decision.reenable_flags,
        decision.page,
        f"interrupted in phase {phase}: {decision.reason}",
    )
