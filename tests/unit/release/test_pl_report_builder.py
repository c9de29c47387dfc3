"""bedrock_release.report.builder: report.json is a valid projection of the journal."""

from __future__ import annotations

from pathlib import Path

import pytest
from pl_journal_helpers import Clock, journal, phase, started, step

from bedrock_release.pipeline.journal import read_state
from bedrock_release.report.builder import build_report, derive_outcome, write_report
from bedrock_release.report.model import Report, ReportError


def _deployed(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    for pid in range(1, 8):
        phase(j, clock, pid)
        step(j, pid, f"phase{pid}")
    j.decision(1, "go", "all good")
    j.record(
        "gate_evaluated",
        {
            "phase": 3,
            "marker": "phase3",
            "gate": {
                "name": "p95-latency-generation",
                "verdict": "pass",
                "value": 900.0,
                "threshold": 1500.0,
                "unit": "ms",
                "samples": 320,
                "source": "locust",
                "comparison": "<=",
                "min_samples": 300,
                "window": {"description": "15 s", "seconds": 15},
                "reasons": [],
                "raw": {"dropped": "from the report"},
            },
        },
    )
    j.run_finished("deployed")


def test_deployed_run(tmp_path: Path) -> None:
    _deployed(tmp_path)
    path, report = write_report(tmp_path)
    again = Report.load(path)
    assert again == report
    assert report.outcome.value == "deployed"
    assert [p.status.value for p in report.phases] == ["passed"] * 7
    assert report.phases[1].budget_s == pytest.approx(45 * 60 * 0.05)
    assert report.rollback is None
    names = [g.name for g in report.gates]
    assert "p95-latency-generation" in names
    assert "suite:phase3" in names
    assert report.decision_points[0].reason == "all good"


def test_rolled_back_run_has_the_unscaled_target(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    phase(j, clock, 1)
    phase(j, clock, 2)
    phase(j, clock, 3, status="failed")
    j.record("rollback_started", {"tier": "full", "trigger": "SLO gate failed"})
    j.record(
        "rollback_finished",
        {
            "tier": "full",
            "trigger": "SLO gate failed",
            "duration_s": 61.5,
            "target_s": 1800,
            "verified": True,
        },
    )
    j.run_finished("rolled_back")
    report = build_report(read_state(tmp_path))
    assert report.outcome.value == "rolled_back"
    assert report.rollback is not None
    assert report.rollback.target_s == 1800
    assert report.rollback.duration_s == 61.5
    assert [p.status.value for p in report.phases] == ["passed", "passed", "failed"] + ["skipped"] * 4


def test_interrupted_phase_is_reported_failed_with_its_time(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    phase(j, clock, 1)
    j.phase_started(2)
    clock.advance(30)
    j.record("lock_released", {"run_id": "x"})
    report = build_report(read_state(tmp_path))
    assert report.phases[1].status.value == "failed"
    assert report.phases[1].duration_s == pytest.approx(30)
    assert report.outcome.value == "failed"


def test_refused_run_is_no_go(tmp_path: Path) -> None:
    j = journal(tmp_path)
    started(j)
    j.record("run_refused", {"run_id": "x", "reason": "lock held"})
    j.run_finished("no_go", "lock held")
    report = build_report(read_state(tmp_path))
    assert report.outcome.value == "no_go"
    assert all(p.status.value == "skipped" for p in report.phases)


def test_no_tests_collected_is_inconclusive_and_a_malformed_gate_is_not_lost(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    phase(j, clock, 1, status="failed")
    step(j, 1, "phase1", rc=5, tests=0)
    j.record(
        "gate_evaluated", {"phase": 1, "marker": "phase1", "gate": {"name": "broken", "verdict": "pass"}}
    )
    j.run_finished("no_go")
    gates = {g.name: g for g in build_report(read_state(tmp_path)).gates}
    assert gates["suite:phase1"].verdict.value == "inconclusive"
    assert gates["broken"].verdict.value == "inconclusive"
    assert "malformed gate record" in gates["broken"].details["reasons"][0]


def test_outcome_without_run_finished_is_derived(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j)
    phase(j, clock, 1, status="failed")
    assert derive_outcome(read_state(tmp_path)).value == "no_go"


def test_empty_journal_has_no_report(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no run_started"):
        build_report(read_state(tmp_path))
