"""bedrock_release.pipeline.decisions: go only on complete, passing evidence; no-go names what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pl_journal_helpers import journal, started, step

from bedrock_release.pipeline.decisions import decision_point, evaluate
from bedrock_release.pipeline.journal import Journal, read_state


def _canary(j: Journal, weights: list[int]) -> None:
    for w in weights:
        j.record("traffic_weights_set", {"weights": {"blue": 100 - w, "green": w}})
        j.record(
            "traffic_split_observed",
            {
                "weights": {"blue": 100 - w, "green": w},
                "counts": {},
                "requests": 40,
                "errors": 0,
                "within_tolerance": True,
            },
        )


def _component(j: Journal, healthy: bool = True) -> None:
    j.record(
        "component_health_checked",
        {"slot": "green", "component": "MCPRouter", "version": "1.1.0", "healthy": healthy, "detail": ""},
    )


def test_decision_point_1_go(tmp_path: Path) -> None:
    j = journal(tmp_path)
    started(j)
    _component(j)
    _canary(j, [5, 25, 50, 100])
    step(j, 2, "phase2")
    outcome = evaluate(read_state(tmp_path), 1)
    assert outcome.go
    assert "4 canary step(s)" in outcome.reason


@pytest.mark.parametrize(
    ("healthy", "weights", "rc", "expected"),
    [
        (False, [5, 25, 50, 100], 0, "unhealthy components on green: MCPRouter"),
        (True, [5, 25, 50], 0, "does not take 100%"),
        (True, [5, 25, 50, 100], 1, "exit 1"),
    ],
)
def test_decision_point_1_no_go(
    tmp_path: Path, healthy: bool, weights: list[int], rc: int, expected: str
) -> None:
    j = journal(tmp_path)
    started(j)
    _component(j, healthy)
    _canary(j, weights)
    step(j, 2, "phase2", rc=rc)
    outcome = evaluate(read_state(tmp_path), 1)
    assert not outcome.go
    assert expected in outcome.reason
    assert "Execute immediate rollback" in outcome.reason


def test_no_evidence_is_a_no_go(tmp_path: Path) -> None:
    j = journal(tmp_path)
    started(j)
    outcome = evaluate(read_state(tmp_path), 2)
    assert outcome.verdict == "no-go"
    assert "no verification step ran for phase 3" in outcome.reason


def test_failed_gate_is_a_no_go_even_when_pytest_passed(tmp_path: Path) -> None:
    j = journal(tmp_path)
    started(j)
    step(j, 6, "phase6")
    j.record(
        "gate_evaluated",
        {
            "phase": 6,
            "marker": "phase6",
            "gate": {"name": "error-rate", "verdict": "inconclusive", "value": None},
        },
    )
    outcome = evaluate(read_state(tmp_path), 3)
    assert not outcome.go
    assert "gate error-rate inconclusive" in outcome.reason


def test_unknown_decision_point() -> None:
    with pytest.raises(ValueError, match="decision points 1 to 3"):
        decision_point(4)
