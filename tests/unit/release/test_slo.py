"""SLO gates on synthetic data: empty, NaN, too few samples, exactly at threshold, one bad window."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_release.gates.histogram import DataError, from_buckets, from_exact, from_prometheus
from bedrock_release.gates.slo import (
    MIN_REQUESTS_PER_WINDOW,
    MIN_SAMPLES_P95,
    CounterSample,
    cache_hit_rate_gate,
    cost_gate,
    error_rate_trailing_window_gate,
    error_rate_worst_window_gate,
    latency_gate,
    parse_series,
    rolling_windows,
)
from bedrock_release.gates.verdict import Verdict, Window

WIN = Window("phase 3 load", 60.0)
SRC = "locust results"


def _latency(hist, threshold=1500.0, **kw):
    return latency_gate("p95-latency-generation", hist, threshold=threshold, source=SRC, window=WIN, **kw)


# --- latency -------------------------------------------------------------------------------------


def test_latency_passes_below_and_exactly_at_threshold() -> None:
    assert _latency(from_buckets({"400": 300})).verdict is Verdict.PASS
    at = _latency(from_buckets({"400": 284, "1500": 16}))
    assert at.verdict is Verdict.PASS
    assert at.value == 1500.0
    assert at.samples == 300


def test_latency_fails_above_threshold_and_message_has_evidence() -> None:
    gate = _latency(from_buckets({"400": 280, "1600": 20}))
    assert gate.verdict is Verdict.FAIL
    assert gate.value == 1600.0
    message = gate.message()
    assert "1600 ms" in message
    assert "1500 ms" in message
    assert "300 samples" in message
    assert SRC in message


def test_latency_too_few_samples_is_inconclusive_even_when_fast() -> None:
    gate = _latency(from_buckets({"100": MIN_SAMPLES_P95 - 1}))
    assert gate.verdict is Verdict.INCONCLUSIVE
    assert gate.value == 100.0
    assert "too few samples: 299 < 300" in gate.reasons[0]


@pytest.mark.parametrize(
    ("hist", "source", "needle"),
    [
        (None, SRC, "no latency data"),
        (from_buckets({}), SRC, "no samples"),
        (from_buckets({"1": 500}), None, "no measurement source"),
        (from_buckets({"1": 500}), "", "no measurement source"),
    ],
)
def test_latency_without_data_or_source_is_inconclusive(hist, source, needle: str) -> None:
    gate = latency_gate("p95", hist, threshold=1500, source=source, window=WIN)
    assert gate.verdict is Verdict.INCONCLUSIVE
    assert needle in gate.reasons[0]


def test_latency_prometheus_bucket_rules() -> None:
    # P95 in (0.1, 0.3] s: upper bound exactly at the 300 ms threshold passes.
    ok = from_prometheus({"0.1": 200, "0.3": 300, "+Inf": 300})
    assert _latency(ok, threshold=300).verdict is Verdict.PASS
    # P95 in (0.3, 1.5] s with a 1000 ms threshold inside the bucket: undecidable.
    straddle = from_prometheus({"0.3": 200, "1.5": 300, "+Inf": 300})
    gate = _latency(straddle, threshold=1000)
    assert gate.verdict is Verdict.INCONCLUSIVE
    assert "contains the threshold" in gate.reasons[0]
    # P95 in (0.3, 1.5] s with a 300 ms threshold: every value there is above it.
    assert _latency(straddle, threshold=300).verdict is Verdict.FAIL
    # P95 in the +Inf bucket above 1.5 s: known to exceed a 1500 ms threshold.
    slow = from_prometheus({"0.3": 10, "1.5": 200, "+Inf": 300})
    gate = _latency(slow, threshold=1500)
    assert gate.verdict is Verdict.FAIL
    assert gate.value == 1500.0
    assert "largest finite bucket" in gate.reasons[0]
    # ...but not a 2000 ms threshold: the bucket layout cannot tell.
    assert _latency(slow, threshold=2000).verdict is Verdict.INCONCLUSIVE


def test_latency_reports_ci_and_marks_marginal_results() -> None:
    gate = _latency(from_buckets({"1000": 280, "1500": 10, "2000": 10}))
    assert gate.verdict is Verdict.PASS
    assert gate.raw["ci95"] == [999.0, 2000.0]
    assert any("marginal" in r for r in gate.reasons)


@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), -1, "1500", True])
def test_latency_rejects_a_bad_threshold(threshold) -> None:
    with pytest.raises(ValueError, match="threshold"):
        _latency(from_buckets({"1": 300}), threshold=threshold)


def test_latency_rejects_bad_min_samples() -> None:
    with pytest.raises(ValueError, match="min_samples"):
        _latency(from_buckets({"1": 300}), min_samples=0)


@settings(max_examples=40, deadline=None)  # each example is 300+ samples: generation dominates
@given(
    st.lists(st.floats(0, 3000, allow_nan=False), min_size=MIN_SAMPLES_P95, max_size=400),
    st.integers(0, 3000),
)
def test_latency_verdict_never_contradicts_the_sorted_samples(values: list[float], threshold: int) -> None:
    gate = _latency(from_exact(values), threshold=threshold)
    p95 = sorted(values)[math.ceil(0.95 * len(values) - 1e-9) - 1]
    # A pass proves the P95 within the threshold, a fail proves it above; a bucket holding the
    # threshold decides neither (inconclusive).
    if gate.verdict is Verdict.PASS:
        assert p95 <= threshold
    elif gate.verdict is Verdict.FAIL:
        assert p95 > threshold
    else:
        assert "contains the threshold" in gate.reasons[0]


@pytest.mark.parametrize(
    ("true_p95", "threshold"), [(1549.0, 1500), (1500.4, 1500), (305.0, 300), (300.2, 300)]
)
def test_a_p95_just_above_the_threshold_is_never_a_pass(true_p95: float, threshold: int) -> None:
    # Issue 13, defect 1: locust's rounding stored 1549 ms as 1500 and 305 ms as 300, and both passed.
    values = [0.4 * threshold] * 284 + [true_p95] * 16  # rank 285 of 300 is the first slow one
    gate = _latency(from_exact(values), threshold=threshold)
    assert gate.verdict is Verdict.FAIL, gate.message()
    assert gate.value is not None
    assert gate.value > threshold


# --- error rate ----------------------------------------------------------------------------------


def _series(per_second: list[tuple[int, int]], start: float = 0.0) -> list[tuple[float, int, int]]:
    """Turn per-second (requests, failures) into a cumulative series starting at zero."""
    out, req, fail = [(start, 0, 0)], 0, 0
    for i, (r, f) in enumerate(per_second, start=1):
        req, fail = req + r, fail + f
        out.append((start + i, req, fail))
    return out


def _worst(series, **kw):
    kw.setdefault("threshold_pct", 1.0)
    kw.setdefault("window_s", 10)
    kw.setdefault("min_requests", 1000)
    return error_rate_worst_window_gate("error-rate", series, source="locust history", **kw)


def _trailing(series, **kw):
    kw.setdefault("threshold_pct", 1.0)
    kw.setdefault("window_s", 10)
    kw.setdefault("min_requests", 1000)
    return error_rate_trailing_window_gate("error-rate-trailing", series, source="locust history", **kw)


def test_rolling_windows_span_at_least_the_window() -> None:
    samples = parse_series(_series([(100, 0)] * 30))
    windows = rolling_windows(samples, 10)
    assert len(windows) == 21
    assert all(w.end - w.start == 10 for w in windows)
    assert all(w.requests == 1000 for w in windows)


def test_rolling_windows_across_a_gap_are_longer_never_shorter() -> None:
    samples = parse_series([(0, 0, 0), (4, 400, 0), (15, 1500, 0), (16, 1600, 0)])
    assert [(w.start, w.end) for w in rolling_windows(samples, 10)] == [(4, 15), (4, 16)]


def test_error_rate_all_good_passes() -> None:
    gate = _worst(_series([(100, 0)] * 30))
    assert gate.verdict is Verdict.PASS
    assert gate.value == 0.0
    assert gate.samples == 1000


def test_error_rate_exactly_at_threshold_passes() -> None:
    # 1 failure per second, 100 requests per second: every window is exactly 1.0 %.
    gate = _worst(_series([(100, 1)] * 30))
    assert gate.verdict is Verdict.PASS
    assert gate.value == 1.0
    assert _worst(_series([(1000, 3)] * 30), threshold_pct=0.3).verdict is Verdict.PASS


def test_one_bad_window_among_good_ones_fails_worst_but_not_trailing() -> None:
    per_second = [(100, 0)] * 20 + [(100, 5)] * 3 + [(100, 0)] * 20
    gate = _worst(_series(per_second))
    assert gate.verdict is Verdict.FAIL
    assert gate.value == 1.5
    assert "worst 1.5%" in gate.reasons[0]
    assert "from t=13 to t=23" in gate.reasons[0]
    assert _trailing(_series(per_second)).verdict is Verdict.PASS


def test_trailing_window_catches_a_bad_end() -> None:
    gate = _trailing(_series([(100, 0)] * 20 + [(100, 2)] * 10))
    assert gate.verdict is Verdict.FAIL
    assert gate.value == 2.0


def test_error_rate_too_few_requests_is_inconclusive() -> None:
    gate = _worst(_series([(50, 0)] * 30))
    assert gate.verdict is Verdict.INCONCLUSIVE
    assert "too few requests" in gate.reasons[0]
    assert _trailing(_series([(50, 0)] * 30)).verdict is Verdict.INCONCLUSIVE


def test_a_thin_window_does_not_hide_a_well_sampled_failure() -> None:
    per_second = [(10, 0)] * 15 + [(200, 10)] * 15
    assert _worst(per_second and _series(per_second)).verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("series", "needle"),
    [
        (None, "no request series"),
        ([], "0 sample(s)"),
        ([(0, 0, 0)], "1 sample(s)"),
        (_series([(100, 0)] * 5), "shorter than the 10 s window"),
        ([(0, 0, 0), (1, float("nan"), 0), (11, 2000, 0)], "not finite"),
        ([(0, 0, 0), (1, 100, 0), (11, 50, 0)], "decreased"),
        ([(0, 0, 0), (11, 100, 200)], "exceed requests"),
        ([(0, 0, 0), (0, 100, 0), (11, 1100, 0)], "not after"),
        ([(0, -5, 0), (11, 1100, 0)], "non-negative"),
        ([(0, 0, 0), (11, 1100.5, 0)], "whole count"),
        ([(0, 0), (11, 1100, 0)], "expected (t, requests, failures)"),
        ([{"t": 0, "requests": 0}, {"t": 11, "requests": 1100, "failures": 0}], "missing 'failures'"),
        ([(float("inf"), 0, 0), (11, 1100, 0)], "not finite"),
    ],
)
def test_error_rate_unusable_series_is_inconclusive(series, needle: str) -> None:
    gate = _worst(series)
    assert gate.verdict is Verdict.INCONCLUSIVE
    assert needle in gate.reasons[0]


def test_error_rate_without_source_is_inconclusive() -> None:
    gate = error_rate_worst_window_gate(
        "error-rate", _series([(100, 0)] * 30), threshold_pct=1.0, window_s=10, source=None, min_requests=100
    )
    assert gate.verdict is Verdict.INCONCLUSIVE


def test_series_accepts_mappings_and_counter_samples() -> None:
    parsed = parse_series([{"t": 0, "requests": 0, "failures": 0}, CounterSample(1.0, 5, 1), ("2", "6", "1")])
    assert parsed[-1] == CounterSample(2.0, 6, 1)


def test_default_min_requests_per_window() -> None:
    gate = error_rate_worst_window_gate(
        "error-rate", _series([(99, 0)] * 30), threshold_pct=1.0, window_s=10, source="x"
    )
    assert gate.min_samples == MIN_REQUESTS_PER_WINDOW
    assert gate.verdict is Verdict.INCONCLUSIVE


@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), min_size=12, max_size=60))
def test_worst_window_is_never_better_than_the_trailing_window(per_second: list[tuple[int, int]]) -> None:
    per_second = [(r, min(f, r)) for r, f in per_second]
    series = _series(per_second)
    worst = _worst(series, min_requests=1)
    trailing = _trailing(series, min_requests=1)
    if trailing.verdict is Verdict.FAIL:
        assert worst.verdict is Verdict.FAIL
    if worst.verdict is Verdict.PASS:
        assert trailing.verdict is not Verdict.FAIL
    if worst.value is not None and trailing.value is not None:
        assert worst.value >= trailing.value


@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(allow_nan=True), st.integers(-5, 100)),
            st.one_of(st.floats(allow_nan=True), st.integers(-5, 100)),
            st.one_of(st.floats(allow_nan=True), st.integers(-5, 100)),
        ),
        max_size=15,
    )
)
def test_parse_series_either_validates_or_raises_data_error(points) -> None:
    try:
        parsed = parse_series(points)
    except DataError:
        return
    for a, b in itertools.pairwise(parsed):
        assert b.t > a.t
        assert b.requests >= a.requests
        assert b.failures >= a.failures
    assert all(0 <= p.failures <= p.requests for p in parsed)


# --- cost ----------------------------------------------------------------------------------------


def _cost(spend, budget, threshold=80):
    return cost_gate("cost-budget", spend, budget, threshold_pct=threshold, source="service cost", window=WIN)


def test_cost_gate_verdicts() -> None:
    assert _cost(10.0, 50.0).verdict is Verdict.PASS
    at = _cost(40.0, 50.0)
    assert at.verdict is Verdict.PASS
    assert at.value == 80.0
    over = _cost(40.01, 50.0)
    assert over.verdict is Verdict.FAIL
    assert over.value == pytest.approx(80.02)
    assert _cost(0.0, 50.0).verdict is Verdict.PASS


@pytest.mark.parametrize(
    ("spend", "budget", "needle"),
    [
        (None, 50.0, "no spend reading"),
        (10.0, None, "no allocated budget"),
        (10.0, 0.0, "budget must be > 0"),
        (10.0, -1.0, "must not be negative"),
        (float("nan"), 50.0, "not finite"),
        (10.0, float("inf"), "not finite"),
        (-1.0, 50.0, "must not be negative"),
    ],
)
def test_cost_gate_inconclusive(spend, budget, needle: str) -> None:
    gate = _cost(spend, budget)
    assert gate.verdict is Verdict.INCONCLUSIVE
    assert needle in gate.reasons[0]


# --- cache ---------------------------------------------------------------------------------------


def _cache(hits, misses, **kw):
    return cache_hit_rate_gate(
        "cache-hit-rate", hits, misses, threshold_pct=80, source="metrics", window=WIN, **kw
    )


def test_cache_gate_verdicts() -> None:
    at = _cache(400, 100)
    assert at.verdict is Verdict.PASS
    assert at.value == 80.0
    assert at.comparison.value == ">="
    assert _cache(399, 101).verdict is Verdict.FAIL
    assert _cache(500, 0).verdict is Verdict.PASS


@pytest.mark.parametrize(
    ("hits", "misses", "needle"),
    [
        (None, 1, "no cache counts"),
        (0, 0, "no cache lookups"),
        (399, 0, "too few lookups: 399 < 500"),
        (-1, 600, "non-negative"),
        (float("nan"), 600, "not finite"),
        (10.5, 600, "whole count"),
    ],
)
def test_cache_gate_inconclusive(hits, misses, needle: str) -> None:
    gate = _cache(hits, misses)
    assert gate.verdict is Verdict.INCONCLUSIVE
    assert needle in gate.reasons[0]


@given(st.integers(0, 5000), st.integers(0, 5000), st.integers(0, 100))
def test_cache_gate_matches_integer_arithmetic(hits: int, misses: int, threshold: int) -> None:
    gate = cache_hit_rate_gate(
        "c", hits, misses, threshold_pct=threshold, source="m", window=WIN, min_lookups=1
    )
    if hits + misses == 0:
        assert gate.verdict is Verdict.INCONCLUSIVE
    else:
        assert gate.passed is (hits * 100 >= threshold * (hits + misses))


def test_ci_wholly_above_the_threshold_is_not_marginal() -> None:
    gate = _latency(from_prometheus({"0.3": 10, "1.5": 200, "+Inf": 400}), threshold=1500)
    assert gate.verdict is Verdict.FAIL
    assert not any("marginal" in r for r in gate.reasons)
    straddling = _latency(from_prometheus({"0.3": 10, "1.5": 375, "+Inf": 400}), threshold=1500)
    assert any("[300, +Inf]" in r for r in straddling.reasons)
