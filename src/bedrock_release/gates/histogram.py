"""Latency histograms from locust and Prometheus, and percentiles read from them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = [
    "Bucket",
    "DataError",
    "Histogram",
    "QuantileEstimate",
    "from_locust",
    "from_prometheus",
    "percentile",
    "quantile_ci_ranks",
]

# Above this many samples the exact binomial sum is slow and the normal approximation is exact
# to well under one rank.
_EXACT_CI_LIMIT = 50_000


class DataError(ValueError):
    """Measurements that cannot support a verdict (the gate turns this into inconclusive)."""


@dataclass(frozen=True)
class Bucket:
    """Samples in (lower, upper]; lower == upper is a point (locust's rounded response times)."""

    lower: float
    upper: float
    count: int

    @property
    def is_point(self) -> bool:
        """Return True when the bucket holds one exact value."""
        return self.lower == self.upper


@dataclass(frozen=True)
class Histogram:
    """Non-cumulative bucket counts, ascending and non-overlapping."""

    buckets: tuple[Bucket, ...]
    unit: str = "ms"

    @property
    def total(self) -> int:
        """Return the number of samples."""
        return sum(b.count for b in self.buckets)

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data; an infinite bound is written as the string "+Inf"."""

        def bound(x: float) -> float | str:
            return "+Inf" if math.isinf(x) else x

        return {
            "unit": self.unit,
            "buckets": [[bound(b.lower), bound(b.upper), b.count] for b in self.buckets],
        }


def _number(raw: Any, what: str) -> float:
    if isinstance(raw, bool):
        raise DataError(f"{what}: expected a number, got {raw!r}")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise DataError(f"{what}: expected a number, got {raw!r}") from None
    if math.isnan(value):
        raise DataError(f"{what}: NaN")
    return value


def _count(raw: Any, what: str) -> int:
    value = _number(raw, what)
    if math.isinf(value) or value < 0 or value != int(value):
        raise DataError(f"{what}: expected a non-negative whole count, got {raw!r}")
    return int(value)


def from_locust(response_times: Mapping[Any, Any], *, unit: str = "ms") -> Histogram:
    """Build a histogram from locust's ``response_times`` ({rounded ms: count}, keys may be strings)."""
    merged: dict[float, int] = {}
    for key, raw_count in response_times.items():
        value = _number(key, f"response time {key!r}")
        if math.isinf(value) or value < 0:
            raise DataError(f"response time {key!r}: must be finite and non-negative")
        merged[value] = merged.get(value, 0) + _count(raw_count, f"count of response time {key!r}")
    return Histogram(tuple(Bucket(v, v, c) for v, c in sorted(merged.items())), unit)


def from_prometheus(
    cumulative: Mapping[Any, Any] | Iterable[tuple[Any, Any]], *, scale: float = 1000.0, unit: str = "ms"
) -> Histogram:
    """Build a histogram from Prometheus ``le`` buckets ({le: cumulative count}, "+Inf" required).

    ``scale`` converts the bucket bounds (seconds in the service's metric) into ``unit``.
    """
    pairs = list(cumulative.items()) if isinstance(cumulative, Mapping) else list(cumulative)
    parsed = sorted(((_number(le, f"bucket le={le!r}"), le, raw) for le, raw in pairs), key=lambda p: p[0])
    if not parsed or not math.isinf(parsed[-1][0]):
        raise DataError("no +Inf bucket: the total count is unknown")
    buckets, lower, previous = [], 0.0, 0
    seen: set[float] = set()
    for le, label, raw in parsed:
        if le < 0:
            raise DataError(f"bucket le={label!r}: a latency bound cannot be negative")
        if le in seen:
            raise DataError(f"bucket le={label!r}: duplicated")
        seen.add(le)
        count = _count(raw, f"bucket le={label!r}")
        if count < previous:
            raise DataError(f"bucket le={label!r}: cumulative count {count} is below the previous {previous}")
        # Decimal arithmetic, so le=0.3 s becomes exactly 300 ms and meets a 300 ms threshold.
        upper = le if math.isinf(le) else float(Fraction(repr(le)) * Fraction(repr(float(scale))))
        buckets.append(Bucket(lower, upper, count - previous))
        lower, previous = upper, count
    return Histogram(tuple(buckets), unit)


@dataclass(frozen=True)
class QuantileEstimate:
    """Where the sample quantile lies: in the bucket (lower, upper], by nearest rank."""

    quantile: float
    rank: int
    total: int
    lower: float
    upper: float
    is_point: bool


def _bucket_at_rank(hist: Histogram, rank: int) -> Bucket:
    seen = 0
    for bucket in hist.buckets:
        seen += bucket.count
        if seen >= rank:
            return bucket
    raise DataError(f"rank {rank} beyond {hist.total} samples")  # unreachable for 1 <= rank <= total


def nearest_rank(q: float, n: int) -> int:
    """Return the 1-based nearest rank ceil(q * n), clamped to [1, n]."""
    # The epsilon keeps 0.95 * 300 (= 285.00000000000006 in binary) at rank 285.
    return min(n, max(1, math.ceil(q * n - 1e-9)))


def percentile(hist: Histogram, q: float) -> QuantileEstimate:
    """Return the bucket holding the nearest-rank q-quantile (the ceil(q*n)-th smallest sample)."""
    if not 0 < q < 1:
        raise ValueError(f"quantile must be in (0, 1), got {q!r}")
    n = hist.total
    if n == 0:
        raise DataError("no samples")
    rank = nearest_rank(q, n)
    bucket = _bucket_at_rank(hist, rank)
    return QuantileEstimate(q, rank, n, bucket.lower, bucket.upper, bucket.is_point)


def value_bounds_at_rank(hist: Histogram, rank: int) -> tuple[float, float]:
    """Return the (lower, upper) bounds of the bucket holding the rank-th smallest sample."""
    bucket = _bucket_at_rank(hist, rank)
    return bucket.lower, bucket.upper


def _binomial_cdf_table(n: int, q: float) -> list[float]:
    log_q, log_p = math.log(q), math.log1p(-q)
    cdf, total = [], 0.0
    for k in range(n + 1):
        log_pmf = (
            math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_q + (n - k) * log_p
        )
        total += math.exp(log_pmf)
        cdf.append(total)
    return cdf


def quantile_ci_ranks(n: int, q: float = 0.95, confidence: float = 0.95) -> tuple[int, int] | None:
    """Return 1-based ranks (l, u) with P(X_(l) <= true q-quantile < X_(u)) >= confidence, or None.

    Distribution-free: the number of samples below the true quantile is Binomial(n, q), so
    P(X_(l) <= xi_q < X_(u)) = P(l <= B <= u - 1); each tail gets (1 - confidence) / 2.
    None when n is too small for any such pair of order statistics.
    """
    if n < 1:
        return None
    alpha = (1 - confidence) / 2
    if n > _EXACT_CI_LIMIT:
        z = _normal_quantile(1 - alpha)
        half = z * math.sqrt(n * q * (1 - q))
        low, high = math.floor(n * q - half), math.ceil(n * q + half) + 1
        return (low, high) if low >= 1 and high <= n else None
    cdf = _binomial_cdf_table(n, q)
    # l: the largest rank whose lower tail P(B <= l - 1) stays within alpha.
    low = max((rank for rank in range(1, n + 1) if cdf[rank - 1] <= alpha), default=None)
    # u: the smallest rank whose coverage P(B <= u - 1) reaches 1 - alpha.
    high = min((rank for rank in range(1, n + 1) if cdf[rank - 1] >= 1 - alpha), default=None)
    if low is None or high is None:
        return None
    return low, high


def _normal_quantile(p: float) -> float:
    """Return the standard normal quantile by bisection on erf (no SciPy needed)."""
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
