"""Choosing, starting and finishing a rollback, timed from the moment the failure was known.

The tier comes from ``rollback_policy.decide`` (docs/rollback.md) with the facts of the run: the
phase that failed, whether canary traffic had moved, and which flag was switched on last (the one
whose monitoring window degraded). A rollback's duration runs from the failure (the failed phase's
``phase_finished`` record) to ``rollback_finished`` and is compared with the plan's wall-clock
target (300, 600, 1800 s): the scaled waits inside a rollback are shorter in the sandbox, the
target is not.

The same target, scaled by the run's time scale, is the rollback's *deadline* (``retry_until`` of
``rollback_started``): until then every step tries a transient backend failure again
(``bedrock_release.pipeline.retry``); past it the rollback gives up, and ``finish`` records it
unverified with the traffic state it left (``traffic_left``: read from the load balancer, or the
last weights this run set when the balancer does not answer).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bedrock_release.pipeline.journal import Journal, RunState, parse_ts, read_state
from bedrock_release.pipeline.rollback_policy import Action, Failure, decide
from bedrock_release.plan import ON_CALL, ROLLBACK_TIERS, RollbackTier

__all__ = [
    "RollbackChoice",
    "TrafficLeft",
    "choose",
    "finish",
    "manual_intervention",
    "start",
    "traffic_left",
]


@dataclass(frozen=True)
class RollbackChoice:
    """The decision for a failed run, as Ansible sees it."""

    action: str  # no_go, rollback, manual_intervention
    tier: str | None
    target_s: int | None
    reenable_flags: tuple[str, ...]
    page: tuple[str, ...]
    reason: str
    phase: int
    failing_flag: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            "action": self.action,
            "tier": self.tier,
            "target_s": self.target_s,
            "reenable_flags": list(self.reenable_flags),
            "page": list(self.page),
            "reason": self.reason,
            "phase": self.phase,
            "failing_flag": self.failing_flag,
        }


def choose(
    state: RunState, *, phase: int | None = None, failing_flag: str | None = None, tier: str | None = None
) -> RollbackChoice:
    """Return the rollback the plan prescribes for this run's failure (or the tier asked for by hand)."""
    failed = phase or state.failed_phase or state.current_phase or 7
    # The flag switched on last is the suspect of a phase 5 failure, and of a partial rollback run by hand.
    suspect = state.last_flag_activated if failed == 5 or tier else None
    flag = failing_flag if failing_flag is not None else suspect
    if tier:
        spec = ROLLBACK_TIERS[RollbackTier(tier)]
        stable = ()
        if spec.tier is RollbackTier.PARTIAL and flag is not None:
            stable = decide(Failure(phase=5, failing_flag=flag)).reenable_flags
        return RollbackChoice(
            "rollback",
            spec.tier.value,
            spec.target_s,
            stable,
            (),
            f"{tier} rollback run by hand",
            failed,
            flag,
        )
    decision = decide(Failure(phase=failed, traffic_moved=state.traffic_moved, failing_flag=flag))
    return RollbackChoice(
        decision.action.value,
        decision.tier.value if decision.tier else None,
        decision.target_s,
        decision.reenable_flags,
        decision.page,
        decision.reason,
        failed,
        flag,
    )


def _failure_at(state: RunState) -> str | None:
    failed = state.failed_phase
    if failed is not None and state.phases[failed].finished_at:
        return state.phases[failed].finished_at
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def start(
    run_dir: str | os.PathLike[str], tier: str, trigger: str, *, by_hand: bool = False
) -> dict[str, Any]:
    """Journal rollback_started with the moment the failure was known and the deadline; return its data."""
    state = read_state(run_dir)
    now = _iso(datetime.now(UTC))
    failure_at = (None if by_hand else _failure_at(state)) or now
    target_s = ROLLBACK_TIERS[RollbackTier(tier)].target_s
    scale = state.time_scale if state.time_scale and 0 < state.time_scale <= 1 else 1.0
    data = {
        "tier": RollbackTier(tier).value,
        "trigger": trigger,
        "failure_at": failure_at,
        "target_s": target_s,
        "steps": list(ROLLBACK_TIERS[RollbackTier(tier)].steps),
        "by_hand": by_hand,
        # The tier's time target at the run's time scale: transient failures are retried until then.
        "retry_until": _iso(parse_ts(failure_at) + timedelta(seconds=target_s * scale)),
    }
    Journal(Path(run_dir) / "audit.jsonl").record("rollback_started", data)
    return data


@dataclass(frozen=True)
class TrafficLeft:
    """The traffic split a rollback left: the weights, where they were read, and a sentence for people."""

    weights: Mapping[str, int] | None
    source: str  # load_balancer, journal (the balancer did not answer), unchanged (never set by this run)
    text: str

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (``rollback_finished.traffic_left``)."""
        return {
            "weights": dict(self.weights) if self.weights is not None else None,
            "source": self.source,
            "text": self.text,
        }


def _shares(weights: Mapping[str, int]) -> str:
    return ", ".join(f"{slot} {int(weights[slot])} %" for slot in sorted(weights))


def traffic_left(state: RunState, *, live: Mapping[str, Any] | None = None, error: str = "") -> TrafficLeft:
    """Return the traffic state the rollback leaves: live when the balancer answered, else the journal's."""
    silent = f"the load balancer did not answer ({error})" if error else "the load balancer did not answer"
    if live:
        weights, source, where = {str(k): int(v) for k, v in live.items()}, "load_balancer", "read live"
    elif state.last_weights is not None:
        weights, source, where = dict(state.last_weights), "journal", f"as this run last set them; {silent}"
    else:
        before = state.old_slot or "the active slot"
        text = f"no weight was changed by this run: {before} serves what it served before ({silent})"
        return TrafficLeft(None, "unchanged", text)
    text = f"traffic {_shares(weights)} ({where})"
    new = state.new_slot
    if new and int(weights.get(new, 0)) > 0:
        text += f"; slot {new} with release {state.release} takes {int(weights[new])} % of it"
    return TrafficLeft(weights, source, text)


def finish(
    run_dir: str | os.PathLike[str],
    *,
    verified: bool,
    reason: str = "",
    live_weights: Mapping[str, Any] | None = None,
    weights_error: str = "",
) -> dict[str, Any]:
    """Journal rollback_finished: duration from the failure against the plan's target, traffic left."""
    state = read_state(run_dir)
    rb = state.rollback
    if rb is None:
        raise ValueError(f"{run_dir}: no rollback_started in the journal")
    begin = parse_ts(rb.failure_at or rb.started_at)
    duration = round((datetime.now(UTC) - begin).total_seconds(), 3)
    target = ROLLBACK_TIERS[RollbackTier(rb.tier)].target_s
    data = {
        "tier": rb.tier,
        "trigger": rb.trigger,
        "duration_s": duration,
        "target_s": target,
        "verified": verified,
        "within_target": duration <= target,
        "reason": reason,
        "traffic_left": traffic_left(state, live=live_weights, error=weights_error).to_dict(),
    }
    Journal(Path(run_dir) / "audit.jsonl").record("rollback_finished", data)
    return data


def manual_intervention(tier: str, phase: int) -> str:
    """Return the message of a rollback that itself failed: manual intervention, on-call named."""
    decision = decide(Failure(phase=phase, rollback_failed=RollbackTier(tier)))
    assert decision.action is Action.MANUAL_INTERVENTION  # noqa: S101 - decide's contract
    who = ", ".join(f"{level}: {person}" for level, person in ON_CALL)
    return (
        f"{decision.reason}. Manual intervention required: page on-call ({who}); break-glass access available"
    )
