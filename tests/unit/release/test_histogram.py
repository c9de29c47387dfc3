"""Histogram adapters (locust, Prometheus), nearest-rank percentile, order-statistic CI."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_release.gates.histogram import (
    DataError,
    from_locust,
    from_prometheus,
    nearest_rank,
    percentile,
    quantile_ci_ranks,
)


def test_locust_percentile_matches_nearest_rank() -> None:
    # 100 samples: 94 at 100 ms, 1 at 200, 5 at 900: rank 95 is the 200 ms sample.
    hist = from_locust({"100": 94, 200: 1, "900": 5})
    est = percentile(hist, 0.95)
    assert (est.rank, est.total, est.lower, est.upper, est.is_point) == (95, 100, 200.0, 200.0, True)


def test_locust_keys_as_strings_and_floats_merge() -> None:
    hist = from_locust({"100": 1, 100.0: 2, "1500": 3})
    assert [(b.upper, b.count) for b in hist.buckets] == [(100.0, 3), (1500.0, 3)]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"abc": 1}, "expected a number"),
        ({"nan": 1}, "NaN"),
        ({"inf": 1}, "finite"),
        ({"-5": 1}, "non-negative"),
        ({"100": -1}, "whole count"),
        ({"100": 1.5}, "whole count"),
        ({"100": float("nan")}, "NaN"),
        ({"100": True}, "expected a number"),
    ],
)
def test_locust_bad_data_is_named(data: dict, needle: str) -> None:
    with pytest.raises(DataError, match=needle):
        from_locust(data)


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
        percentile(from_locust({}), 0.95)
    with pytest.raises(ValueError, match="quantile"):
        percentile(from_locust({"1": 1}), 1.0)


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


@given(samples, st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_locust_percentile_equals_sorted_nearest_rank(values: list[int], q: float) -> None:
    counts: dict[str, int] = {}
    for v in values:
        counts[str(v)] = counts.get(str(v), 0) + 1
    est = percentile(from_locust(counts), q)
    expected = sorted(values)[math.ceil(q * len(values) - 1e-9) - 1]
    assert est.upper == est.lower == expected


@given(samples)
def test_prometheus_percentile_bucket_contains_the_true_sample_quantile(values: list[int]) -> None:
    bounds = [0.05, 0.1, 0.3, 0.5, 1.0, 1.5, 3.0]
    cumulative = {str(b): sum(1 for v in values if v / 1000 <= b) for b in bounds}
    cumulative["+Inf"] = len(values)
    est = percentile(from_prometheus(cumulative), 0.95)
    true_p95 = sorted(values)[math.ceil(0.95 * len(values) - 1e-9) - 1]
    # The true value is never above the reported upper bound: the reading is conservative.
    assert est.lower < true_p95 <= est.upper or (est.lower == 0.0 and true_p95 == 0)


@given(st.dictionaries(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 10), max_size=20))
def test_from_locust_either_builds_a_valid_histogram_or_raises_data_error(data: dict) -> None:
    try:
        hist = from_locust(data)
    except DataError:
        return
    assert all(b.count >= 0 and math.isfinite(b.upper) for b in hist.buckets)
    assert [b.upper for b in hist.buckets] == sorted(b.upper for b in hist.buckets)
