"""Report model: the contract's shape, round trips, and validation errors naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window
from bedrock_release.plan import PHASES
from bedrock_release.report.model import (
    Decision,
    DecisionPointEntry,
    GateEntry,
    Outcome,
    PhaseEntry,
    PhaseStatus,
    Report,
    ReportError,
    RollbackEntry,
    RollbackTier,
)


def _gate() -> GateResult:
    return GateResult(
        name="error-rate",
        verdict=Verdict.FAIL,
        value=2.0,
        threshold=1.0,
        unit="percent",
        comparison=Comparison.AT_MOST,
        samples=1200,
        min_samples=1000,
        window=Window("rolling 15 s window", 15.0),
        source="locust history",
        reasons=("worst window 2%",),
    )


def _report(**overrides) -> Report:
    fields = {
        "release": "1.1.0",
        "previous_release": "1.0.0",
        "environment": "local",
        "time_scale": 0.05,
        "outcome": Outcome.ROLLED_BACK,
        "phases": (
            PhaseEntry.for_phase(1, "passed", 12.5, 0.05),
            PhaseEntry.for_phase(2, PhaseStatus.PASSED, 80.0, 0.05),
            PhaseEntry.for_phase(3, PhaseStatus.FAILED, 40.0, 0.05),
            PhaseEntry.for_phase(4, PhaseStatus.SKIPPED, None, 0.05),
        ),
        "decision_points": (
            DecisionPointEntry(1, Decision.GO, "all components healthy"),
            DecisionPointEntry(2, Decision.NO_GO, "error-rate failed"),
        ),
        "gates": (GateEntry.from_result(_gate()),),
        "rollback": RollbackEntry.for_tier(
            "full", "phase 3 gate error-rate failed", 70.0, 0.05, verified=True
        ),
    }
    fields.update(overrides)
    return Report(**fields)


def test_phases_table_is_the_plans() -> None:
    assert [(p.id, p.budget_min) for p in PHASES] == [
        (1, 30),
        (2, 45),
        (3, 20),
        (4, 15),
        (5, 10),
        (6, 30),
        (7, 15),
    ]
    assert PHASES[2].name == "SLO Gate Validation"
    assert PHASES[0].scaled_budget_s(0.05) == pytest.approx(90.0)
    assert PHASES[0].scaled_budget_s(1) == 1800
    with pytest.raises(ValueError, match="time_scale"):
        PHASES[0].scaled_budget_s(0)


def test_rollback_entry_uses_the_plan_targets() -> None:
    assert RollbackEntry.for_tier("immediate", "t", 1, 1, verified=True).target_s == 300
    assert RollbackEntry.for_tier("partial", "t", 1, 1, verified=True).target_s == 600
    entry = RollbackEntry.for_tier(RollbackTier.FULL, "t", 100, 0.05, verified=True)
    assert entry.target_s == pytest.approx(90.0)
    assert not entry.within_target


def test_round_trip_and_contract_shape(tmp_path: Path) -> None:
    report = _report()
    path = report.write(tmp_path / "run" / "report.json")
    data = json.loads(path.read_text())
    assert set(data) == {
        "release",
        "previous_release",
        "environment",
        "time_scale",
        "outcome",
        "phases",
        "decision_points",
        "gates",
        "rollback",
    }
    assert data["phases"][2] == {
        "id": 3,
        "name": "SLO Gate Validation",
        "status": "failed",
        "duration_s": 40.0,
        "budget_s": 60.0,
        "budget_policy": None,
    }
    assert data["decision_points"][1]["verdict"] == "no-go"
    gate = data["gates"][0]
    assert {k: gate[k] for k in ("name", "verdict", "value", "threshold", "unit", "samples", "source")} == {
        "name": "error-rate",
        "verdict": "fail",
        "value": 2.0,
        "threshold": 1.0,
        "unit": "percent",
        "samples": 1200,
        "source": "locust history",
    }
    assert data["rollback"]["tier"] == "full"
    assert Report.load(path) == report
    assert PhaseEntry.for_phase(3, "failed", 80.0, 0.05).over_budget


def _mutated(mutate) -> str:
    data = _report().to_dict()
    mutate(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("mutate", "path", "needle"),
    [
        (lambda d: d.pop("outcome"), "outcome", "missing"),
        (
            lambda d: d.update(outcome="done"),
            "outcome",
            "expected one of deployed, rolled_back, no_go, failed",
        ),
        (lambda d: d.update(release="1.1"), "release", "semantic version"),
        (lambda d: d.update(previous_release="v1"), "previous_release", "semantic version"),
        (lambda d: d.update(time_scale=0), "time_scale", "(0, 1]"),
        (lambda d: d.update(time_scale=True), "time_scale", "finite number"),
        (lambda d: d.update(extra=1), "extra", "not a field"),
        (lambda d: d["phases"][1].update(status="ok"), "phases[1].status", "passed, failed, skipped"),
        (lambda d: d["phases"][1].update(name="Deploy"), "phases[1].name", "Component Deployment"),
        (lambda d: d["phases"][1].update(id=9), "phases[1].id", "unknown phase 9"),
        (lambda d: d["phases"][1].update(duration_s=None), "phases[1].duration_s", "finite number"),
        (lambda d: d["phases"][1].update(duration_s=-1), "phases[1].duration_s", ">= 0"),
        (lambda d: d["phases"][1].update(budget_s=0), "phases[1].budget_s", "> 0"),
        (lambda d: d["phases"].reverse(), "phases", "unique and in order"),
        (lambda d: d["decision_points"][0].update(verdict="yes"), "decision_points[0].verdict", "go, no-go"),
        (lambda d: d["decision_points"][0].update(id=4), "decision_points[0].id", "1 to 3"),
        (lambda d: d["gates"][0].update(verdict="ok"), "gates[0].verdict", "pass, fail, inconclusive"),
        (lambda d: d["gates"][0].update(samples=-1), "gates[0].samples", "non-negative integer"),
        (lambda d: d["gates"][0].pop("source"), "gates[0].source", "missing"),
        (lambda d: d["gates"][0].update(verdict="pass", value=None), "gates[0].value", "must have a value"),
        (lambda d: d["gates"][0].update(raw={}), "gates[0].raw", "not a field"),
        (lambda d: d.update(gates={}), "gates", "expected a list"),
        (lambda d: d["rollback"].update(tier="half"), "rollback.tier", "immediate, partial, full"),
        (lambda d: d["rollback"].update(verified="yes"), "rollback.verified", "true or false"),
        (lambda d: d.update(rollback=None), "rollback", "needs the rollback"),
        (lambda d: d.update(outcome="deployed"), "rollback", "cannot also"),
    ],
)
def test_validation_names_the_bad_field(mutate, path: str, needle: str) -> None:
    with pytest.raises(ReportError) as info:
        Report.from_json(_mutated(mutate))
    assert info.value.path == path
    assert needle in info.value.problem


def test_not_json_and_not_an_object() -> None:
    with pytest.raises(ReportError, match="not JSON"):
        Report.from_json("{")
    with pytest.raises(ReportError, match="expected an object"):
        Report.from_json("[]")


def test_skipped_phase_may_have_no_duration_and_no_go_has_no_rollback() -> None:
    report = _report(outcome=Outcome.NO_GO, rollback=None, gates=())
    assert Report.from_json(report.to_json()) == report


def test_invalid_report_is_never_written(tmp_path: Path) -> None:
    bad = _report(release="one")
    with pytest.raises(ReportError, match="release"):
        bad.write(tmp_path / "report.json")
    assert not (tmp_path / "report.json").exists()


def test_a_gate_known_early_keeps_its_moment_in_the_report() -> None:
    # A gate_evaluated record with decided_after_s (a sequential breach) is a gate of the contract,
    # not a malformed record turned inconclusive.
    early = GateResult(**{**_gate().__dict__, "decided_after_s": 3.3})
    entry = GateEntry.from_dict(early.to_dict(), "gate")
    assert entry.verdict is Verdict.FAIL
    assert entry.to_dict()["decided_after_s"] == 3.3
