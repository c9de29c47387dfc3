"""``report.json`` as a projection of the deploy journal (docs/contracts.md "Report")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from audit_trail import read
from bedrock_release.gates.verdict import Verdict
from bedrock_release.pipeline.journal import JOURNAL_NAME, GateRecord, RunState, StepRecord, fold, parse_ts
from bedrock_release.plan import PHASES, ROLLBACK_TIERS, RollbackTier
from bedrock_release.report.model import (
    DecisionPointEntry,
    GateEntry,
    Outcome,
    PhaseEntry,
    Report,
    ReportError,
    RollbackEntry,
)

__all__ = ["REPORT_NAME", "build_report", "derive_outcome", "write_report"]

REPORT_NAME = "report.json"

# pytest exit codes: 0 all passed, 1 tests failed, 5 none collected; others are errors of the run itself.
_RC_FAILED_TESTS = 1


def derive_outcome(state: RunState) -> Outcome:
    """Return the outcome the journal shows (run_finished wins; otherwise what the records imply)."""
    if state.outcome is not None:
        return Outcome(state.outcome)
    if state.refused is not None:
        return Outcome.NO_GO
    if state.rollback is not None:
        return Outcome.ROLLED_BACK if state.rollback.verified else Outcome.FAILED
    if all(p.id in state.phases_passed for p in PHASES):
        return Outcome.DEPLOYED
    if state.phases.get(1) is not None and state.phases[1].status == "failed":
        return Outcome.NO_GO
    return Outcome.FAILED


def _phase_entries(state: RunState, scale: float) -> tuple[PhaseEntry, ...]:
    out = []
    end = parse_ts(state.last_ts) if state.last_ts else None
    for spec in PHASES:
        st = state.phases.get(spec.id)
        if st is None:
            out.append(PhaseEntry.for_phase(spec.id, "skipped", None, scale))
        elif st.status == "running":
            # Started and never finished (interrupted, then closed by a rollback run by hand).
            duration = (end - parse_ts(st.started_at)).total_seconds() if end else 0.0
            out.append(PhaseEntry.for_phase(spec.id, "failed", round(max(duration, 0.0), 3), scale))
        else:
            out.append(PhaseEntry.for_phase(spec.id, st.status, st.duration_s, scale, st.budget_policy))
    return tuple(out)


def _gate_entry(record: GateRecord) -> GateEntry:
    gate = dict(record.gate)
    gate.pop("raw", None)
    try:
        return GateEntry.from_dict(gate, "gate")
    except ReportError as exc:
        # A malformed gate record must not vanish from the report, nor pass: it is inconclusive.
        return GateEntry(
            name=str(gate.get("name") or f"gate@seq{record.seq}"),
            verdict=Verdict.INCONCLUSIVE,
            value=None,
            threshold=0.0,
            unit="n/a",
            samples=0,
            source=f"journal seq {record.seq} ({record.actor})",
            details={"reasons": [f"malformed gate record: {exc}"]},
        )


def _step_entry(step: StepRecord) -> GateEntry:
    """A verification step as a gate: pass only when pytest exited 0 with tests run."""
    summary: Mapping[str, Any] = step.summary
    tests = int(summary.get("tests") or 0)
    not_passed = int(summary.get("failures") or 0) + int(summary.get("errors") or 0)
    if step.rc == 0 and tests > 0:
        verdict = Verdict.PASS
    elif step.rc == _RC_FAILED_TESTS:
        verdict = Verdict.FAIL
    else:
        verdict = Verdict.INCONCLUSIVE
    reasons = [str(summary.get("reason"))] if summary.get("reason") else []
    return GateEntry(
        name=f"suite:{step.step}",
        verdict=verdict,
        value=float(not_passed) if verdict is not Verdict.INCONCLUSIVE else None,
        threshold=0.0,
        unit="tests failed",
        samples=tests,
        source=f"pytest -m '{step.marker}' (exit {step.rc})",
        details={"comparison": "<=", "min_samples": 1, "reasons": reasons},
    )


def _rollback_entry(state: RunState) -> RollbackEntry | None:
    rb = state.rollback
    if rb is None:
        return None
    target = (
        float(rb.target_s)
        if rb.target_s is not None
        else float(ROLLBACK_TIERS[RollbackTier(rb.tier)].target_s)
    )
    if rb.duration_s is not None:
        duration = rb.duration_s
    else:
        start = parse_ts(rb.failure_at or rb.started_at)
        duration = (parse_ts(state.last_ts or rb.started_at) - start).total_seconds()
    left = rb.traffic_left.get("text") if rb.traffic_left else None
    return RollbackEntry(
        RollbackTier(rb.tier),
        rb.trigger,
        round(max(duration, 0.0), 3),
        target,
        rb.verified,
        rb.reason or None,
        str(left) if left else None,
    )


def build_report(state: RunState) -> Report:
    """Return the validated report of a run's journal."""
    if not state.started or state.release is None or state.time_scale is None:
        raise ReportError("(journal)", "the journal has no run_started record: nothing to report")
    scale = state.time_scale
    outcome = derive_outcome(state)
    rollback = _rollback_entry(state)
    if outcome is Outcome.DEPLOYED:
        rollback = None
    if outcome is Outcome.ROLLED_BACK and rollback is None:
        outcome = Outcome.FAILED
    gates = [_gate_entry(g) for g in state.gates] + [_step_entry(s) for s in state.steps]
    decisions = tuple(
        DecisionPointEntry.from_dict(
            {"id": dp_id, "verdict": d["verdict"], "reason": d["reason"] or "(no reason recorded)"},
            f"decision_points[{dp_id}]",
        )
        for dp_id, d in sorted(state.decisions.items())
    )
    report = Report(
        release=state.release,
        previous_release=state.previous_release,
        environment=state.environment or "unknown",
        time_scale=scale,
        outcome=outcome,
        phases=_phase_entries(state, scale),
        decision_points=decisions,
        gates=tuple(gates),
        rollback=rollback,
    )
    Report.from_json(report.to_json())  # the contract's validation, by round trip
    return report


def write_report(run_dir: str | os.PathLike[str]) -> tuple[Path, Report]:
    """Build the report from ``run_dir/audit.jsonl`` and write ``run_dir/report.json`` atomically."""
    run_dir = Path(run_dir)
    report = build_report(fold(read(run_dir / JOURNAL_NAME)))
    return report.write(run_dir / REPORT_NAME), report
