"""Latency histograms (exact response times in known buckets, Prometheus), and percentiles read from them.

Every bucket is a range (lower, upper]: a percentile is known only to lie in its bucket, so a gate
passes only when the bucket's upper bound is within the threshold (gates/slo.py). Response times the
load measures are kept in the fixed ``decimal-3`` scheme (:func:`latency_bucket`): three significant
decimal digits, so every bucket is at most 1 % wide and every threshold with three significant digits
(300 ms, 1500 ms) is a bucket edge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

__all__ = [
    "INF_KEY",
    "LATENCY_SCHEME",
    "Bucket",
    "DataError",
    "Histogram",
    "QuantileEstimate",
    "bucket_bounds",
    "from_buckets",
    "from_exact",
    "from_prometheus",
    "latency_bucket",
    "percentile",
    "quantile_ci_ranks",
]

#: The name of the exact-latency bucket scheme, written into every results file that uses it.
LATENCY_SCHEME = "decimal-3"
# decimal-3: the edges are 0 and every m * 10**e with 100 <= m <= 999 and _E_MIN <= e <= _E_MAX, plus
# the top edge 10**6 ms; a value goes to the bucket (previous edge, smallest edge >= value]. The
# first bucket [0, 0.01] ms holds everything below, the last (10**6 ms, +Inf) anything longer.
_E_MIN, _E_MAX = -4, 3
_SMALLEST = Decimal(100).scaleb(_E_MIN)
_TOP = Decimal(1000).scaleb(_E_MAX)
INF_KEY = "+Inf"

# Above this many samples the exact binomial sum is slow and the normal approximation is exact
# to well under one rank.
_EXACT_CI_LIMIT = 50_000


class DataError(ValueError):
    """Measurements that cannot support a verdict (the gate turns this into inconclusive)."""


@dataclass(frozen=True)
class Bucket:
    """Samples in (lower, upper]; lower == upper is a point (one exact value)."""

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


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def latency_bucket(ms: float) -> str:
    """Return the decimal-3 bucket of an exact response time: its upper bound as text ("1500", "0.07").

    The value is read as the decimal it prints as (``repr``), the way thresholds are read, so a
    response time of exactly 1500 ms is in the bucket (1490, 1500] and meets "at most 1500 ms".
    """
    if isinstance(ms, bool) or not isinstance(ms, int | float) or math.isnan(ms) or ms < 0:
        raise DataError(f"response time {ms!r}: must be a non-negative number")
    if math.isinf(ms):
        return INF_KEY
    value = Decimal(repr(float(ms)))
    if value <= _SMALLEST:
        return _text(_SMALLEST)
    if value > _TOP:
        return INF_KEY
    exponent = value.adjusted() - 2
    mantissa = value.scaleb(-exponent).to_integral_value(rounding=ROUND_CEILING)
    return _text(mantissa.scaleb(exponent))


def _edge(key: str) -> Decimal:
    try:
        value = Decimal(key)
    except InvalidOperation:
        raise DataError(f"latency bucket {key!r}: not a number") from None
    if not value.is_finite() or value < _SMALLEST or value > _TOP:
        raise DataError(
            f"latency bucket {key!r}: outside the {LATENCY_SCHEME} scheme ({_SMALLEST} to {_TOP} ms)"
        )
    exponent = value.adjusted() - 2
    mantissa = value.scaleb(-exponent)
    if mantissa != mantissa.to_integral_value() or (exponent > _E_MAX and value != _TOP):
        raise DataError(f"latency bucket {key!r}: not an edge of the {LATENCY_SCHEME} scheme")
    return value


def bucket_bounds(key: str) -> tuple[float, float]:
    """Return the (lower, upper] bounds in ms of a decimal-3 bucket named by its upper bound."""
    if key == INF_KEY:
        return float(_TOP), math.inf
    upper = _edge(key)
    if upper == _SMALLEST:
        return 0.0, float(upper)
    exponent = upper.adjusted() - 2
    mantissa = int(upper.scaleb(-exponent))
    # The edge below 100 * 10**e is 999 * 10**(e - 1): the previous decade's last step.
    lower = Decimal(999).scaleb(exponent - 1) if mantissa == 100 else Decimal(mantissa - 1).scaleb(exponent)
    return float(lower), float(upper)


def from_buckets(counts: Mapping[Any, Any], *, unit: str = "ms") -> Histogram:
    """Build a histogram from decimal-3 bucket counts ({upper bound as text: count}), each a range."""
    merged: dict[tuple[float, float], int] = {}
    for key, raw_count in counts.items():
        if not isinstance(key, str):
            raise DataError(f"latency bucket {key!r}: must be the bucket's upper bound as text")
        bounds = bucket_bounds(key)
        merged[bounds] = merged.get(bounds, 0) + _count(raw_count, f"count of latency bucket {key!r}")
    return Histogram(tuple(Bucket(lo, hi, c) for (lo, hi), c in sorted(merged.items()) if c), unit)


def from_exact(samples_ms: Iterable[float], *, unit: str = "ms") -> Histogram:
    """Build a decimal-3 histogram from exact response times (ms)."""
    counts: dict[str, int] = {}
    for ms in samples_ms:
        key = latency_bucket(ms)
        counts[key] = counts.get(key, 0) + 1
    return from_buckets(counts, unit=unit)


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
