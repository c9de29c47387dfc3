"""The plan's three go/no-go decision points, decided from what the journal recorded for the phase.

A decision is a go only when the phase's verification steps ran tests and all passed, every gate the
suite journaled for the phase passed, and (decision point 1) every component of the new slot passed
its health check and every canary step's split was observed within tolerance. No evidence is a
no-go: a decision point never passes on missing data.
"""

from __future__ import annotations

from dataclasses import dataclass

from bedrock_release.pipeline.journal import RunState
from bedrock_release.plan import DECISION_POINTS, DecisionPoint

__all__ = ["DecisionOutcome", "decision_point", "evaluate"]


@dataclass(frozen=True)
class DecisionOutcome:
    """A decision point's verdict and the reason, in the plan's terms."""

    id: int
    verdict: str  # go, no-go
    reason: str

    @property
    def go(self) -> bool:
        """Return True for a go."""
        return self.verdict == "go"


def decision_point(dp_id: int) -> DecisionPoint:
    """Return the plan's decision point; ValueError names the valid ids."""
    for dp in DECISION_POINTS:
        if dp.id == dp_id:
            return dp
    raise ValueError(f"the plan has decision points 1 to {len(DECISION_POINTS)}, got {dp_id!r}")


def _component_problems(state: RunState) -> list[str]:
    slot = state.new_slot
    checks = [c for c in state.components if c.get("event") == "health_checked" and c.get("slot") == slot]
    if not checks:
        return [f"no component health check was recorded for slot {slot}"]
    latest: dict[str, bool] = {}
    for check in checks:
        latest[str(check["component"])] = bool(check["healthy"])
    bad = sorted(name for name, healthy in latest.items() if not healthy)
    return [f"unhealthy components on {slot}: {', '.join(bad)}"] if bad else []


def _canary_problems(state: RunState) -> list[str]:
    if not state.splits:
        return ["no canary split was observed"]
    bad = [s for s in state.splits if not s.get("within_tolerance")]
    problems = [
        f"split outside tolerance at weights {s.get('weights')}: counts {s.get('counts')}" for s in bad
    ]
    last = state.last_weights or {}
    if state.new_slot and int(last.get(state.new_slot, 0)) != 100:
        problems.append(f"the new slot {state.new_slot} does not take 100% of the traffic ({dict(last)})")
    return problems


def evaluate(state: RunState, dp_id: int) -> DecisionOutcome:
    """Return go or no-go for a decision point, with the evidence or the problems as the reason."""
    dp = decision_point(dp_id)
    steps = state.steps_of_phase(dp.after_phase)
    gates = state.gates_of_phase(dp.after_phase)
    problems: list[str] = []
    if not steps:
        problems.append(f"no verification step ran for phase {dp.after_phase}")
    problems += [
        s.summary.get("reason") or f"suite step {s.step} exit {s.rc}" for s in steps if s.verdict != "go"
    ]
    failed_gates = [g for g in gates if g.gate.get("verdict") != "pass"]
    problems += [
        f"gate {g.gate.get('name')} {g.gate.get('verdict')} (value {g.gate.get('value')}, "
        f"threshold {g.gate.get('threshold')} {g.gate.get('unit')})"
        for g in failed_gates
    ]
    if dp.id == 1:
        problems += _component_problems(state) + _canary_problems(state)
    if problems:
        return DecisionOutcome(
            dp.id, "no-go", f"{dp.name}: no-go ({dp.no_go_action}): " + "; ".join(problems)
        )
    evidence = f"{len(steps)} verification step(s) passed, {len(gates)} gate(s) passed"
    if dp.id == 1:
        evidence += f", {len(state.splits)} canary step(s) observed within tolerance, components healthy"
    return DecisionOutcome(dp.id, "go", f"{dp.name}: go ({dp.go_criteria}): {evidence}")
