"""Gate math fails closed for any input: a pass always has a value within the threshold and enough
samples; garbage is inconclusive, never a pass and never a crash. (Per-gate examples and the percentile
properties are in tests/unit/release/test_slo.py and test_histogram.py.)
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bedrock_release.gates.histogram import from_exact
from bedrock_release.gates.slo import (
    MIN_CACHE_LOOKUPS,
    MIN_SAMPLES_P95,
    cache_hit_rate_gate,
    cost_gate,
    error_rate_trailing_window_gate,
    error_rate_worst_window_gate,
    latency_gate,
)
from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window

WIN = Window("test window", 60.0)
_GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-100, 10**6),
    st.lists(st.integers(), max_size=2),
)


def _fail_closed(gate: GateResult) -> None:
    """What every gate result must satisfy, whatever it was fed."""
    json.dumps(gate.to_dict(), allow_nan=False)  # reportable as JSON
    assert gate.message().startswith(f"gate {gate.name}: ")
    if gate.verdict is Verdict.PASS:
        assert gate.value is not None
        assert math.isfinite(gate.value)
        assert gate.samples >= gate.min_samples
        # the decision is exact; the reported value is a float of it
        assert gate.comparison.holds(gate.value, gate.threshold) or math.isclose(
            gate.value, gate.threshold, rel_tol=1e-12
        )
    if gate.verdict is Verdict.INCONCLUSIVE:
        assert gate.reasons, "an inconclusive gate says why"
        assert not gate.passed


@given(spend=_GARBAGE, budget=_GARBAGE, threshold=st.integers(0, 100), source=st.sampled_from([None, "svc"]))
@example(spend=1.0, budget=1.7139544907015535e-307, threshold=0, source="svc")  # found: the share overflowed
def test_bi_cost_gate_fails_closed_for_any_reading(
    spend: Any, budget: Any, threshold: int, source: Any
) -> None:
    gate = cost_gate("cost-budget", spend, budget, threshold_pct=threshold, source=source, window=WIN)
    _fail_closed(gate)
    usable = (
        source is not None
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in (spend, budget))
        and all(math.isfinite(x) for x in (spend, budget))
        and spend >= 0
        and budget > 0
    )
    if not usable:
        assert gate.verdict is Verdict.INCONCLUSIVE
    else:
        within = Fraction(spend) * 100 <= Fraction(threshold) * Fraction(budget)
        assert gate.verdict is (Verdict.PASS if within else Verdict.FAIL)


@given(hits=_GARBAGE, misses=_GARBAGE, threshold=st.integers(0, 100))
@example(hits=1.7e308, misses=1.7e308, threshold=60)  # found in CI: a float product overflowed
def test_bi_cache_gate_fails_closed_for_any_counts(hits: Any, misses: Any, threshold: int) -> None:
    gate = cache_hit_rate_gate(
        "cache-hit-rate", hits, misses, threshold_pct=threshold, source="m", window=WIN
    )
    _fail_closed(gate)
    # counts may come as whole floats (Prometheus); anything else is unusable
    counts = all(
        isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x >= 0 and x == int(x)
        for x in (hits, misses)
    )
    if not counts or hits + misses < MIN_CACHE_LOOKUPS:
        assert gate.verdict is not Verdict.PASS


@given(
    times=st.dictionaries(st.integers(0, 5000), st.integers(0, 50), max_size=30),
    threshold=st.integers(1, 3000),
    source=st.sampled_from([None, "locust"]),
)
def test_bi_latency_gate_fails_closed_for_any_histogram(
    times: dict[int, int], threshold: int, source: Any
) -> None:
    hist = from_exact([float(k) for k, v in times.items() for _ in range(v)])
    gate = latency_gate("p95-latency-generation", hist, threshold=threshold, source=source, window=WIN)
    _fail_closed(gate)
    if source is None or sum(times.values()) < MIN_SAMPLES_P95:
        assert gate.verdict is Verdict.INCONCLUSIVE


_POINTS = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"t": st.floats(0, 2000), "requests": st.integers(0, 10**5), "failures": _GARBAGE}
        ),
        st.tuples(st.floats(-5, 2000) | st.just(math.nan), st.integers(-5, 10**5), st.integers(-5, 10**5)),
        _GARBAGE,
    ),
    max_size=40,
)


@pytest.mark.parametrize("gate", [error_rate_worst_window_gate, error_rate_trailing_window_gate])
@given(points=_POINTS | st.none(), threshold=st.sampled_from([0.0, 1.0, 5.0]))
def test_bi_error_rate_gates_fail_closed_for_any_series(gate: Any, points: Any, threshold: float) -> None:
    result = gate(
        "error-rate", points, threshold_pct=threshold, window_s=60.0, source="locust", min_requests=10
    )
    _fail_closed(result)


@given(
    value=st.floats(allow_nan=True, allow_infinity=True) | st.none(),
    samples=st.integers(0, 1000),
    min_samples=st.integers(1, 1000),
    verdict=st.sampled_from(list(Verdict)),
)
def test_bi_a_pass_cannot_even_be_constructed_without_a_value_and_samples(
    value: float | None, samples: int, min_samples: int, verdict: Verdict
) -> None:
    try:
        gate = GateResult(
            "g", verdict, value, 1.0, "ms", Comparison.AT_MOST, samples, min_samples, WIN, "src", ("why",)
        )
    except ValueError:
        bad_value = value is not None and not math.isfinite(value)
        bad_pass = verdict is Verdict.PASS and (value is None or samples < min_samples)
        assert bad_value or bad_pass
        return
    assert gate.passed == (verdict is Verdict.PASS)
    json.dumps(gate.to_dict(), allow_nan=False)
