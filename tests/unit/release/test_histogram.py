"""Histograms (exact response times in decimal-3 buckets, Prometheus), nearest-rank percentile, CI."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_release.gates.histogram import (
    INF_KEY,
    DataError,
    bucket_bounds,
    from_buckets,
    from_exact,
    from_prometheus,
    latency_bucket,
    nearest_rank,
    percentile,
    quantile_ci_ranks,
)


@pytest.mark.parametrize(
    ("ms", "key", "bounds"),
    [
        (0.0, "0.01", (0.0, 0.01)),
        (0.07, "0.07", (0.0699, 0.07)),  # read as the decimal it prints as, like a threshold
        (1.0, "1", (0.999, 1.0)),
        (99.99, "100", (99.9, 100.0)),
        (100.2, "101", (100.0, 101.0)),
        (300.0, "300", (299.0, 300.0)),  # at the threshold: within it
        (300.0001, "301", (300.0, 301.0)),  # just above: wholly above it
        (305.0, "305", (304.0, 305.0)),
        (1500.0, "1500", (1490.0, 1500.0)),
        (1500.01, "1510", (1500.0, 1510.0)),
        (1549.0, "1550", (1540.0, 1550.0)),
        (1e6, "1000000", (999000.0, 1e6)),
        (1e6 + 1, INF_KEY, (1e6, math.inf)),
    ],
)
def test_decimal_3_buckets_have_known_bounds_and_the_thresholds_are_edges(
    ms: float, key: str, bounds: tuple[float, float]
) -> None:
    assert latency_bucket(ms) == key
    assert bucket_bounds(key) == pytest.approx(bounds)
    low, high = bucket_bounds(key)
    assert low < ms <= high or (ms == 0 and low == 0)


@given(st.floats(min_value=0.011, max_value=1e6, allow_nan=False))
def test_every_bucket_is_at_most_one_percent_wide_and_holds_its_value(ms: float) -> None:
    low, high = bucket_bounds(latency_bucket(ms))
    assert low < ms <= high or math.isclose(ms, high)
    assert (high - low) / high <= 0.0101


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"abc": 1}, "not a number"),
        ({"NaN": 1}, "outside"),
        ({"1549": 1}, "not an edge"),  # 4 significant digits: no bucket of the scheme ends there
        ({"0.001": 1}, "outside"),
        ({"2000000": 1}, "outside"),
        ({"1500": -1}, "whole count"),
        ({"1500": 1.5}, "whole count"),
        ({"1500": True}, "expected a number"),
        ({1500: 1}, "as text"),
    ],
)
def test_bad_bucket_data_is_named(data: dict, needle: str) -> None:
    with pytest.raises(DataError, match=needle):
        from_buckets(data)


def test_a_percentile_is_a_range_never_a_point() -> None:
    # 94 fast answers and 6 at 1549 ms: the P95 lies in (1540, 1550], wholly above 1500.
    est = percentile(from_exact([120.0] * 94 + [1549.0] * 6), 0.95)
    assert (est.rank, est.lower, est.upper, est.is_point) == (95, 1540.0, 1550.0, False)


def test_prometheus_buckets_are_scaled_and_de_cumulated() -> None:
    hist = from_prometheus({"0.1": 10, "0.3": 60, "1.5": 95, "+Inf": 100})
    assert [(b.lower, b.upper, b.count) for b in hist.buckets] == [
        (0.0, 100.0, 10),
        (100.0, 300.0, 50),
        (300.0, 1500.0, 35),
        (1500.0, math.inf, 5),
    ]
    est = percentile(hist, 0.95)
    assert (est.lower, est.upper, est.is_point) == (300.0, 1500.0, False)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"0.1": 1}, r"\+Inf"),
        ({"0.1": 5, "0.3": 4, "+Inf": 6}, "below the previous"),
        ({"nan": 1, "+Inf": 1}, "NaN"),
        ({"-0.1": 1, "+Inf": 1}, "negative"),
        ({"0.1": "x", "+Inf": 1}, "expected a number"),
        ({}, r"\+Inf"),
    ],
)
def test_prometheus_bad_data_is_named(data: dict, needle: str) -> None:
    with pytest.raises(DataError, match=needle):
        from_prometheus(data)


def test_prometheus_accepts_pairs_with_duplicates_refused() -> None:
    assert from_prometheus([(0.5, 1), ("+Inf", 2)]).total == 2
    with pytest.raises(DataError, match="duplicated"):
        from_prometheus([(0.5, 1), ("0.5", 1), ("+Inf", 2)])


def test_empty_histogram_has_no_percentile() -> None:
    with pytest.raises(DataError, match="no samples"):
        percentile(from_buckets({}), 0.95)
    with pytest.raises(ValueError, match="quantile"):
        percentile(from_buckets({"1": 1}), 1.0)


def test_nearest_rank_is_robust_to_binary_rounding() -> None:
    assert nearest_rank(0.95, 300) == 285
    assert nearest_rank(0.95, 100) == 95
    assert nearest_rank(0.95, 1) == 1
    assert nearest_rank(0.5, 3) == 2


def test_quantile_ci_numbers_quoted_in_the_docs() -> None:
    assert quantile_ci_ranks(71) is None
    assert quantile_ci_ranks(300) == (277, 293)
    assert quantile_ci_ranks(1000) == (936, 964)
    low, high = quantile_ci_ranks(1900)
    assert (low / 1900, high / 1900) == pytest.approx((0.94, 0.96), abs=0.001)


def test_quantile_ci_normal_branch_agrees_with_exact() -> None:
    low, high = quantile_ci_ranks(60_000)
    # Exact binomial bounds sit within a rank or two of n*q +- 1.96 sd.
    sd = math.sqrt(60_000 * 0.95 * 0.05)
    assert abs(low - (57_000 - 1.96 * sd)) < 3
    assert abs(high - (57_000 + 1.96 * sd)) < 3


samples = st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=400)
exact_samples = st.lists(st.floats(min_value=0, max_value=20_000, allow_nan=False), min_size=1, max_size=400)


@given(exact_samples, st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_exact_percentile_bucket_holds_the_sorted_nearest_rank(values: list[float], q: float) -> None:
    est = percentile(from_exact(values), q)
    expected = sorted(values)[math.ceil(q * len(values) - 1e-9) - 1]
    assert est.lower <= expected <= est.upper
    assert est.lower < expected or expected == 0


@given(samples)
def test_prometheus_percentile_bucket_contains_the_true_sample_quantile(values: list[int]) -> None:
    bounds = [0.05, 0.1, 0.3, 0.5, 1.0, 1.5, 3.0]
    cumulative = {str(b): sum(1 for v in values if v / 1000 <= b) for b in bounds}
    cumulative["+Inf"] = len(values)
    est = percentile(from_prometheus(cumulative), 0.95)
    true_p95 = sorted(values)[math.ceil(0.95 * len(values) - 1e-9) - 1]
    # The true value is never above the reported upper bound: the reading is conservative.
    assert est.lower < true_p95 <= est.upper or (est.lower == 0.0 and true_p95 == 0)


_KEYS = st.one_of(
    st.sampled_from(["1500", "300", "1549", "+Inf", "0.01", "1e3", "-1", "inf", "nan", "abc", ""]),
    st.text(alphabet="0123456789.e+-", max_size=6),
)


@given(st.dictionaries(_KEYS, st.integers(-3, 10), max_size=20))
def test_from_buckets_either_builds_a_valid_histogram_or_raises_data_error(data: dict) -> None:
    try:
        hist = from_buckets(data)
    except DataError:
        return
    assert all(b.count > 0 and b.lower < b.upper for b in hist.buckets)
    assert [b.upper for b in hist.buckets] == sorted(b.upper for b in hist.buckets)
