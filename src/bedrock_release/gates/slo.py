"""SLO gate math: latency percentile, rolling error rate, cost against budget, cache hit rate.

Every gate fails closed: missing or damaged data, or too few samples, gives ``inconclusive``
with a reason, never ``pass``. A value exactly at its threshold passes (the plan says <= / >=).
Thresholds and minimum sample counts are inputs (the feature files state them); the defaults
below are justified in docs/gates.md.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from bedrock_release.gates.histogram import (
    DataError,
    Histogram,
    QuantileEstimate,
    from_buckets,
    from_exact,
    from_prometheus,
    percentile,
    quantile_ci_ranks,
    value_bounds_at_rank,
)
from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window

__all__ = [
    "MIN_CACHE_LOOKUPS",
    "MIN_COST_READINGS",
    "MIN_REQUESTS_PER_WINDOW",
    "MIN_SAMPLES_P95",
    "CounterSample",
    "DataError",
    "Histogram",
    "WindowRate",
    "cache_hit_rate_gate",
    "cost_gate",
    "error_rate_trailing_window_gate",
    "error_rate_worst_window_gate",
    "from_buckets",
    "from_exact",
    "from_prometheus",
    "latency_gate",
    "parse_series",
    "percentile",
    "rolling_windows",
]

#: P95: the distribution-free 95% CI of the P95 from 300 samples is the 277th..293rd order
#: statistic, percentile ranks 92.3..97.7 (within 2.7 ranks); +-1 rank would need about 1850.
MIN_SAMPLES_P95 = 300
#: Error rate: 1000 requests put 10 expected failures at the 1% threshold (np >= 10) and give a
#: 95% CI of +-0.62 percentage points; with 100 requests one failure alone is 1%.
MIN_REQUESTS_PER_WINDOW = 1000
#: Cache hit rate: 500 lookups give a 95% CI of +-3.5 percentage points around 80%.
MIN_CACHE_LOOKUPS = 500
#: Cost: one spend reading is a measurement, not a statistical sample.
MIN_COST_READINGS = 1


def _exact(x: float | int) -> Fraction:
    # Decimal semantics, so a rate exactly at a threshold like 0.3 is not lost to binary rounding.
    return Fraction(repr(float(x))) if isinstance(x, float) else Fraction(x)


def _check_threshold(name: str, threshold: float) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
        raise ValueError(f"gate {name}: threshold must be a finite number, got {threshold!r}")
    if threshold < 0:
        raise ValueError(f"gate {name}: threshold must not be negative, got {threshold!r}")


def _check_min(name: str, min_samples: int) -> None:
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
        raise ValueError(f"gate {name}: min_samples must be an integer >= 1, got {min_samples!r}")


@dataclass(frozen=True)
class _Spec:
    name: str
    threshold: float
    unit: str
    comparison: Comparison
    min_samples: int
    window: Window
    source: str | None

    def result(
        self,
        verdict: Verdict,
        value: float | None,
        samples: int,
        reasons: Iterable[str] = (),
        raw: Mapping[str, Any] | None = None,
    ) -> GateResult:
        return GateResult(
            name=self.name,
            verdict=verdict,
            value=value,
            threshold=self.threshold,
            unit=self.unit,
            comparison=self.comparison,
            samples=samples,
            min_samples=self.min_samples,
            window=self.window,
            source=self.source or "none",
            reasons=tuple(reasons),
            raw=raw,
        )

    def inconclusive(
        self, reason: str, samples: int = 0, value: float | None = None, **raw: Any
    ) -> GateResult:
        return self.result(Verdict.INCONCLUSIVE, value, samples, (reason,), raw or None)


def _no_source(spec: _Spec) -> GateResult | None:
    if not spec.source:
        return spec.inconclusive("no measurement source: the gate cannot be evaluated")
    return None


# --- latency -------------------------------------------------------------------------------------


def latency_gate(
    name: str,
    histogram: Histogram | None,
    *,
    threshold: float,
    source: str | None,
    window: Window,
    quantile: float = 0.95,
    min_samples: int = MIN_SAMPLES_P95,
    unit: str = "ms",
) -> GateResult:
    """Gate a latency percentile: nearest rank ceil(q*n), read as its bucket's upper bound.

    A point bucket (locust) gives the exact rounded value. A range bucket (Prometheus
    (lower, upper]) passes only when its upper bound is within the threshold and fails only
    when its lower bound is at or above it; a bucket straddling the threshold is inconclusive,
    since the bucket layout cannot decide.
    """
    _check_threshold(name, threshold)
    _check_min(name, min_samples)
    spec = _Spec(name, threshold, unit, Comparison.AT_MOST, min_samples, window, source)
    if (missing := _no_source(spec)) is not None:
        return missing
    if histogram is None:
        return spec.inconclusive(f"no latency data from {source}")
    n = histogram.total
    if n == 0:
        return spec.inconclusive(f"no samples from {source}")
    est = percentile(histogram, quantile)
    label = f"P{quantile * 100:g}"
    raw: dict[str, Any] = {
        "quantile": quantile,
        "rank": est.rank,
        "bucket": [est.lower, None if math.isinf(est.upper) else est.upper],
        "histogram": histogram.to_dict(),
    }
    ci = quantile_ci_ranks(n, quantile)
    reasons: list[str] = []
    if ci is not None:
        low, high = value_bounds_at_rank(histogram, ci[0]), value_bounds_at_rank(histogram, ci[1])[1]
        raw["ci95"] = [low[0], None if math.isinf(high) else high]
        # A range bucket's lower bound is exclusive: a CI starting at (1500 ms is wholly above 1500 ms.
        starts_below = low[0] < threshold or (low[0] == threshold and low[0] == low[1])
        if starts_below and threshold < high:
            upper = "+Inf" if math.isinf(high) else f"{high:g}"
            reasons.append(
                f"marginal: the threshold lies inside the 95% CI of the {label} [{low[0]:g}, {upper}]"
            )
    value = est.upper if math.isfinite(est.upper) else est.lower
    if n < min_samples:
        reasons.insert(0, f"too few samples: {n} < {min_samples}; the {label} is not trustworthy yet")
        return spec.result(Verdict.INCONCLUSIVE, value, n, reasons, raw)
    verdict, why = _classify(est, threshold, label, unit)
    if why:
        reasons.insert(0, why)
    return spec.result(verdict, value, n, reasons, raw)


def _classify(est: QuantileEstimate, threshold: float, label: str, unit: str) -> tuple[Verdict, str | None]:
    if est.upper <= threshold:
        return Verdict.PASS, None
    # (lower, upper] is wholly above a threshold at or below its lower bound; the first bucket holds 0 too.
    if est.is_point or est.lower > threshold or (est.lower == threshold and est.lower > 0):
        if math.isinf(est.upper):
            return Verdict.FAIL, f"the {label} is above the largest finite bucket bound {est.lower:g} {unit}"
        return Verdict.FAIL, None
    upper = "+Inf" if math.isinf(est.upper) else f"{est.upper:g}"
    return (
        Verdict.INCONCLUSIVE,
        f"the {label} lies in bucket ({est.lower:g}, {upper}] {unit}, which contains the threshold",
    )


# --- error rate over a rolling window ------------------------------------------------------------


@dataclass(frozen=True)
class CounterSample:
    """Cumulative request and failure counts at time t (seconds)."""

    t: float
    requests: int
    failures: int


@dataclass(frozen=True)
class WindowRate:
    """Requests and failures between two samples of a cumulative series."""

    start: float
    end: float
    requests: int
    failures: int

    @property
    def rate_pct(self) -> float | None:
        """Return failures as a percentage of requests, None without requests."""
        return 100.0 * self.failures / self.requests if self.requests else None

    def within(self, threshold_pct: float) -> bool:
        """Return whether the rate is at most the threshold, compared exactly."""
        return self.failures * 100 <= _exact(threshold_pct) * self.requests

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            "start": self.start,
            "end": self.end,
            "requests": self.requests,
            "failures": self.failures,
            "rate_pct": self.rate_pct,
        }


def parse_series(points: Iterable[Any]) -> tuple[CounterSample, ...]:
    """Validate a cumulative series of (t, requests, failures) tuples, mappings or CounterSamples."""
    out: list[CounterSample] = []
    for index, point in enumerate(points):
        if isinstance(point, CounterSample):
            t, req, fail = point.t, point.requests, point.failures
        elif isinstance(point, Mapping):
            try:
                t, req, fail = point["t"], point["requests"], point["failures"]
            except KeyError as exc:
                raise DataError(f"sample {index}: missing {exc.args[0]!r}") from None
        else:
            try:
                t, req, fail = point
            except (TypeError, ValueError):
                raise DataError(f"sample {index}: expected (t, requests, failures), got {point!r}") from None
        t_val = _finite(t, f"sample {index}: t")
        req_val = _whole(req, f"sample {index}: requests")
        fail_val = _whole(fail, f"sample {index}: failures")
        if fail_val > req_val:
            raise DataError(f"sample {index} (t={t_val:g}): failures {fail_val} exceed requests {req_val}")
        if out:
            prev = out[-1]
            if t_val <= prev.t:
                raise DataError(f"sample {index}: time {t_val:g} is not after {prev.t:g}")
            if req_val < prev.requests or fail_val < prev.failures:
                raise DataError(
                    f"sample {index} (t={t_val:g}): cumulative counts decreased "
                    f"({prev.requests}/{prev.failures} -> {req_val}/{fail_val}): a counter reset?"
                )
        out.append(CounterSample(t_val, req_val, fail_val))
    return tuple(out)


def _finite(raw: Any, what: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise DataError(f"{what}: expected a number, got {raw!r}")
    try:
        value = float(raw)
    except ValueError:
        raise DataError(f"{what}: expected a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise DataError(f"{what}: {raw!r} is not finite")
    return value


def _whole(raw: Any, what: str) -> int:
    value = _finite(raw, what)
    if value < 0 or value != int(value):
        raise DataError(f"{what}: expected a non-negative whole count, got {raw!r}")
    return int(value)


def rolling_windows(series: Sequence[CounterSample], window_s: float) -> tuple[WindowRate, ...]:
    """Return every full window: one per sample at least window_s after the first.

    Each window starts at the latest sample at least window_s before its end, so it spans
    window_s or (across a gap in the series) a little more, never less.
    """
    if not window_s > 0 or not math.isfinite(window_s):
        raise ValueError(f"window_s must be a positive finite number, got {window_s!r}")
    out = []
    start = 0
    for end, sample in enumerate(series):
        if sample.t - series[0].t < window_s - 1e-9:
            continue
        while start + 1 < end and series[start + 1].t <= sample.t - window_s + 1e-9:
            start += 1
        first = series[start]
        out.append(
            WindowRate(first.t, sample.t, sample.requests - first.requests, sample.failures - first.failures)
        )
    return tuple(out)


def _window_setup(
    name: str,
    series: Iterable[Any] | None,
    *,
    threshold_pct: float,
    window_s: float,
    min_requests: int,
    source: str | None,
) -> tuple[_Spec, tuple[WindowRate, ...] | GateResult]:
    _check_threshold(name, threshold_pct)
    _check_min(name, min_requests)
    window = Window(f"rolling {window_s:g} s window", window_s)
    spec = _Spec(name, threshold_pct, "percent", Comparison.AT_MOST, min_requests, window, source)
    if (missing := _no_source(spec)) is not None:
        return spec, missing
    if series is None:
        return spec, spec.inconclusive(f"no request series from {source}")
    try:
        samples = parse_series(series)
    except DataError as exc:
        return spec, spec.inconclusive(f"unusable request series: {exc}")
    if len(samples) < 2:
        return spec, spec.inconclusive(f"request series has {len(samples)} sample(s): no window to measure")
    windows = rolling_windows(samples, window_s)
    if not windows:
        span = samples[-1].t - samples[0].t
        return spec, spec.inconclusive(
            f"request series spans {span:g} s, shorter than the {window_s:g} s window",
            samples=samples[-1].requests - samples[0].requests,
        )
    return spec, windows


def error_rate_worst_window_gate(
    name: str,
    series: Iterable[Any] | None,
    *,
    threshold_pct: float,
    window_s: float,
    source: str | None,
    min_requests: int = MIN_REQUESTS_PER_WINDOW,
) -> GateResult:
    """Gate the worst rolling window: any well-sampled window above the threshold fails the gate.

    Fail needs evidence, so a window above the threshold fails only with min_requests requests;
    otherwise any under-sampled window makes the gate inconclusive.
    """
    spec, windows = _window_setup(
        name, series, threshold_pct=threshold_pct, window_s=window_s, min_requests=min_requests, source=source
    )
    if isinstance(windows, GateResult):
        return windows
    sampled = [w for w in windows if w.requests >= min_requests]
    thin = [w for w in windows if w.requests < min_requests]
    worst = max(sampled or windows, key=lambda w: (w.rate_pct or 0.0, -w.end))
    raw = {"windows": len(windows), "worst": worst.to_dict(), "under_sampled": len(thin)}
    value = worst.rate_pct
    bad = [w for w in sampled if not w.within(threshold_pct)]
    if bad:
        reason = (
            f"{len(bad)} of {len(windows)} windows above the threshold; worst "
            f"{worst.rate_pct:.4g}% ({worst.failures}/{worst.requests}) "
            f"from t={worst.start:g} to t={worst.end:g}"
        )
        return spec.result(Verdict.FAIL, value, worst.requests, (reason,), raw)
    if thin:
        fewest = min(thin, key=lambda w: w.requests)
        reason = (
            f"too few requests: {len(thin)} of {len(windows)} windows below {min_requests}; fewest "
            f"{fewest.requests} from t={fewest.start:g} to t={fewest.end:g}"
        )
        return spec.result(Verdict.INCONCLUSIVE, value, fewest.requests, (reason,), raw)
    fewest_requests = min(w.requests for w in windows)
    return spec.result(Verdict.PASS, value, fewest_requests, (), raw)


def error_rate_trailing_window_gate(
    name: str,
    series: Iterable[Any] | None,
    *,
    threshold_pct: float,
    window_s: float,
    source: str | None,
    min_requests: int = MIN_REQUESTS_PER_WINDOW,
) -> GateResult:
    """Gate the window ending at the last sample (the error rate now)."""
    spec, windows = _window_setup(
        name, series, threshold_pct=threshold_pct, window_s=window_s, min_requests=min_requests, source=source
    )
    if isinstance(windows, GateResult):
        return windows
    last = windows[-1]
    raw = {"window": last.to_dict()}
    if last.requests < min_requests:
        reason = f"too few requests: {last.requests} < {min_requests} in the trailing window"
        return spec.result(Verdict.INCONCLUSIVE, last.rate_pct, last.requests, (reason,), raw)
    verdict = Verdict.PASS if last.within(threshold_pct) else Verdict.FAIL
    return spec.result(verdict, last.rate_pct, last.requests, (), raw)


# --- cost and cache ------------------------------------------------------------------------------


def _reading(raw: Any, what: str) -> float:
    value = _finite(raw, what)
    if value < 0:
        raise DataError(f"{what}: must not be negative, got {raw!r}")
    return value


def cost_gate(
    name: str,
    spend_usd: float | None,
    budget_usd: float | None,
    *,
    threshold_pct: float,
    source: str | None,
    window: Window,
) -> GateResult:
    """Gate current spend as a percentage of the allocated budget (budget must be > 0)."""
    _check_threshold(name, threshold_pct)
    spec = _Spec(name, threshold_pct, "percent", Comparison.AT_MOST, MIN_COST_READINGS, window, source)
    if (missing := _no_source(spec)) is not None:
        return missing
    if spend_usd is None:
        return spec.inconclusive(f"no spend reading from {source}")
    if budget_usd is None:
        return spec.inconclusive("no allocated budget known")
    try:
        spend = _reading(spend_usd, "spend")
        budget = _reading(budget_usd, "budget")
    except DataError as exc:
        return spec.inconclusive(f"unusable cost data: {exc}")
    if budget <= 0:
        return spec.inconclusive(f"allocated budget must be > 0, got {budget_usd!r}")
    raw = {"spend_usd": spend, "budget_usd": budget}
    within = _exact(spend) * 100 <= _exact(threshold_pct) * _exact(budget)
    # The share from exact numbers: a float quotient overflows to inf for a tiny budget (found by
    # hypothesis). A share too large for a float is over any threshold: the largest float stands for it.
    share, cap = _exact(spend) * 100 / _exact(budget), _exact(sys.float_info.max)
    value = float(min(share, cap))
    reasons = (f"spend is more than {value:g} % of the budget",) if share > cap else ()
    return spec.result(Verdict.PASS if within else Verdict.FAIL, value, 1, reasons, raw)


def cache_hit_rate_gate(
    name: str,
    hits: int | None,
    misses: int | None,
    *,
    threshold_pct: float,
    source: str | None,
    window: Window,
    min_lookups: int = MIN_CACHE_LOOKUPS,
) -> GateResult:
    """Gate hits / (hits + misses) of frequent queries as a percentage, at least the threshold."""
    _check_threshold(name, threshold_pct)
    _check_min(name, min_lookups)
    spec = _Spec(name, threshold_pct, "percent", Comparison.AT_LEAST, min_lookups, window, source)
    if (missing := _no_source(spec)) is not None:
        return missing
    if hits is None or misses is None:
        return spec.inconclusive(f"no cache counts from {source}")
    try:
        hit_count = _whole(hits, "hits")
        miss_count = _whole(misses, "misses")
    except DataError as exc:
        return spec.inconclusive(f"unusable cache counts: {exc}")
    lookups = hit_count + miss_count
    raw = {"hits": hit_count, "misses": miss_count}
    if lookups == 0:
        return spec.inconclusive(f"no cache lookups from {source}", **raw)
    value = 100 * hit_count / lookups  # exact for any whole counts (a float product can overflow)
    if lookups < min_lookups:
        reason = f"too few lookups: {lookups} < {min_lookups}"
        return spec.result(Verdict.INCONCLUSIVE, value, lookups, (reason,), raw)
    within = hit_count * 100 >= _exact(threshold_pct) * lookups
    return spec.result(Verdict.PASS if within else Verdict.FAIL, value, lookups, (), raw)
