"""Evidence of a gate: attached, journaled as gate_evaluated, and the step fails unless it passed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit_trail import read, verify
from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window
from bedrock_release.suite.decisions import phase_gates
from bedrock_release.suite.evidence import (
    CheckFailedError,
    EvidenceRecorder,
    inconclusive,
    phase_of,
    primary_marker,
)
from bedrock_release.suite.journal import Journal


def result(verdict: Verdict, name: str = "p95-latency-generation") -> GateResult:
    return GateResult(
        name=name,
        verdict=verdict,
        value=1200.0 if verdict is not Verdict.INCONCLUSIVE else None,
        threshold=1500.0,
        unit="ms",
        comparison=Comparison.AT_MOST,
        samples=400 if verdict is not Verdict.INCONCLUSIVE else 12,
        min_samples=300,
        window=Window("phase 3 load, 30 s", 30.0),
        source="locust results r.json",
        reasons=("too few samples: 12 < 300",) if verdict is Verdict.INCONCLUSIVE else (),
        raw={"histogram": {"1200": 400}},
    )


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[EvidenceRecorder, list[tuple[str, str, str]]]:
    attached: list[tuple[str, str, str]] = []
    rec = EvidenceRecorder(
        attach=lambda n, b, m: attached.append((n, b, m)),
        journal=Journal(tmp_path / "audit.jsonl"),
        tags=frozenset({"phase3", "gate", "blocker"}),
    )
    return rec, attached


def test_a_pass_is_attached_and_journaled(
    recorder: tuple[EvidenceRecorder, list[tuple[str, str, str]]],
) -> None:
    rec, attached = recorder
    rec.gate(result(Verdict.PASS))
    name, body, mime = attached[0]
    assert name == "evidence: p95-latency-generation"
    assert mime == "application/json"
    doc = json.loads(body)
    assert {"value", "threshold", "samples", "window", "source", "raw"} <= set(doc)
    assert doc["raw"] == {"histogram": {"1200": 400}}
    assert rec.journal is not None
    (record,) = read(rec.journal.path)
    assert record.action == "gate_evaluated"
    assert record.actor == "verification-suite"
    assert record.data["phase"] == 3
    assert record.data["marker"] == "phase3"
    assert record.data["gate"]["verdict"] == "pass"
    assert verify(rec.journal.path).ok


@pytest.mark.parametrize("verdict", [Verdict.FAIL, Verdict.INCONCLUSIVE])
def test_anything_but_pass_fails_the_step_with_the_gate_message(
    recorder: tuple[EvidenceRecorder, list[tuple[str, str, str]]], verdict: Verdict
) -> None:
    rec, _ = recorder
    with pytest.raises(CheckFailedError) as caught:
        rec.gate(result(verdict))
    message = str(caught.value)
    assert message == result(verdict).message()
    assert f"gate p95-latency-generation: {verdict.value.upper()}" in message
    assert "required <= 1500 ms" in message
    assert "source locust results r.json" in message
    assert rec.ledger[-1].result.verdict is verdict  # journaled and remembered before failing


def test_several_gates_fail_once_naming_all(
    recorder: tuple[EvidenceRecorder, list[tuple[str, str, str]]],
) -> None:
    rec, attached = recorder
    with pytest.raises(CheckFailedError) as caught:
        rec.gates([result(Verdict.FAIL, "a"), result(Verdict.PASS, "b"), result(Verdict.INCONCLUSIVE, "c")])
    assert "2 gate(s) did not pass" in str(caught.value)
    assert "gate a: FAIL" in str(caught.value)
    assert "gate c: INCONCLUSIVE" in str(caught.value)
    assert len(attached) == 3


def test_markers_and_phases_from_tags() -> None:
    assert phase_of({"phase5", "flag_window"}) == 5
    assert phase_of({"rollback_full"}) is None
    assert primary_marker({"phase5", "flag_window", "gate"}) == "flag_window"
    assert primary_marker({"phase3", "gate"}) == "phase3"
    with pytest.raises(CheckFailedError, match="thing: INCONCLUSIVE: why"):
        inconclusive("thing", "why")


def test_decision_points_read_the_session_then_the_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "audit.jsonl")
    journal.append_gate(phase=3, marker="phase3", result=result(Verdict.FAIL, "cost-budget"))
    journal.append_gate(phase=4, marker="phase4", result=result(Verdict.PASS, "other-phase"))
    rec = EvidenceRecorder(attach=lambda *_: None, journal=None, tags=frozenset({"phase3"}))
    rec.gate(result(Verdict.PASS, "cost-budget"))
    found, source = phase_gates(3, rec.ledger, journal)
    assert found["cost-budget"]["verdict"] == "pass"  # this session's evaluation wins
    assert "other-phase" not in found
    assert "journal" in source
