"""GateResult: report shape, failure message, and the invariants that keep a pass honest."""

from __future__ import annotations

import json

import pytest

from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window


def _gate(**overrides) -> GateResult:
    fields = {
        "name": "p95-latency-generation",
        "verdict": Verdict.FAIL,
        "value": 1620.0,
        "threshold": 1500.0,
        "unit": "ms",
        "comparison": Comparison.AT_MOST,
        "samples": 312,
        "min_samples": 300,
        "window": Window("phase 3 load, 60 s", 60.0),
        "source": "locust results runs/x/results/locust.json",
        "reasons": ("worst bucket",),
        "raw": {"rank": 297},
    }
    fields.update(overrides)
    return GateResult(**fields)


def test_to_dict_has_the_report_shape_plus_evidence() -> None:
    data = _gate().to_dict()
    assert {"name", "verdict", "value", "threshold", "unit", "samples", "source"} <= set(data)
    assert data["verdict"] == "fail"
    assert data["comparison"] == "<="
    assert data["window"] == {"description": "phase 3 load, 60 s", "seconds": 60.0}
    assert "raw" not in data
    assert _gate().to_dict(include_raw=True)["raw"] == {"rank": 297}
    json.dumps(_gate().to_dict(include_raw=True), allow_nan=False)


def test_message_names_gate_value_threshold_samples_and_source() -> None:
    message = _gate().message()
    for part in (
        "p95-latency-generation",
        "FAIL",
        "1620 ms",
        "<= 1500 ms",
        "312 samples",
        "minimum 300",
        "locust",
    ):
        assert part in message


def test_strings_are_coerced_to_enums() -> None:
    gate = _gate(verdict="pass", comparison=">=", value=90.0, threshold=80.0)
    assert gate.verdict is Verdict.PASS
    assert gate.comparison is Comparison.AT_LEAST
    assert gate.passed


@pytest.mark.parametrize(
    "overrides",
    [
        {"verdict": Verdict.PASS, "value": None},
        {"verdict": Verdict.PASS, "value": 1.0, "samples": 10},
        {"value": float("nan")},
        {"value": float("inf")},
        {"verdict": "maybe"},
    ],
)
def test_a_pass_needs_a_finite_value_and_enough_samples(overrides: dict) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several distinct messages
        _gate(**overrides)


def test_inconclusive_is_not_a_pass_and_unavailable_says_why() -> None:
    gate = GateResult.unavailable(
        "error-rate",
        reason="metrics source http://127.0.0.1:18101/metrics did not answer",
        threshold=1.0,
        unit="percent",
        comparison="<=",
        min_samples=1000,
        window=Window("rolling 15 s window", 15.0),
        source="http://127.0.0.1:18101/metrics",
    )
    assert gate.verdict is Verdict.INCONCLUSIVE
    assert not gate.passed
    assert "did not answer" in gate.message()


@pytest.mark.parametrize(
    ("comparison", "value", "expected"), [("<=", 1.0, True), ("<=", 1.01, False), (">=", 80, True)]
)
def test_comparison_equality_passes(comparison: str, value: float, expected: bool) -> None:
    threshold = 1.0 if comparison == "<=" else 80
    assert Comparison(comparison).holds(value, threshold) is expected
