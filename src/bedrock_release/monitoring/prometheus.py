"""Latency from the slots' Prometheus histograms: the fallback where CloudWatch gives no percentile.

moto stores the latency samples but computes no percentile; the service's own histogram
``support_request_duration_seconds{operation, route}`` has bucket edges at both plan thresholds
(0.3 s, 1.5 s), so the gate rule of docs/gates.md decides exactly at them. The histogram is
cumulative since the slot process started; a ``baseline`` snapshot turns it into a window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["HISTOGRAM", "LatencySnapshot", "PrometheusSource", "scrape_latency"]

HISTOGRAM = "support_request_duration_seconds"

# (operation, route) -> {le: cumulative count}
_Buckets = Mapping[tuple[str, str], Mapping[float, float]]


@dataclass(frozen=True)
class LatencySnapshot:
    """Cumulative latency buckets of one or more slots at one time, summed over the slots."""

    taken_at: datetime
    urls: tuple[str, ...]
    buckets: _Buckets
    errors: tuple[str, ...] = ()

    def histogram(
        self, operation: str, route: str, baseline: LatencySnapshot | None = None
    ) -> dict[float, float]:
        """{le seconds: cumulative count} of one series, minus the baseline's when one is given."""
        now = dict(self.buckets.get((operation, route), {}))
        if baseline is None:
            return now
        before = baseline.buckets.get((operation, route), {})
        return {le: count - before.get(le, 0.0) for le, count in now.items()}


@dataclass(frozen=True)
class PrometheusSource:
    """Where to scrape (the release slot's base URLs) and an optional earlier snapshot."""

    urls: tuple[str, ...]
    baseline: LatencySnapshot | None = None
    timeout_s: float = 5.0
    extra: Mapping[str, str] = field(default_factory=dict)


def _parse(text: str) -> dict[tuple[str, str], dict[float, float]]:
    out: dict[tuple[str, str], dict[float, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != HISTOGRAM:
            continue
        for sample in family.samples:
            if not sample.name.endswith("_bucket"):
                continue
            key = (sample.labels.get("operation", ""), sample.labels.get("route", ""))
            le = math.inf if sample.labels["le"] in ("+Inf", "Inf") else float(sample.labels["le"])
            out.setdefault(key, {})[le] = float(sample.value)
    return out


def scrape_latency(
    urls: Sequence[str], *, timeout_s: float = 5.0, session: requests.Session | None = None
) -> LatencySnapshot:
    """Scrape ``<url>/metrics`` of each slot and sum the latency buckets (a failed scrape is an error)."""
    http = session or requests.Session()
    http.trust_env = False  # loopback in the sandbox; never a shell's proxy
    total: dict[tuple[str, str], dict[float, float]] = {}
    errors: list[str] = []
    for url in urls:
        try:
            response = http.get(url.rstrip("/") + "/metrics", timeout=timeout_s)
            response.raise_for_status()
            parsed = _parse(response.text)
        except (requests.RequestException, ValueError) as exc:
            errors.append(f"{url}/metrics: {type(exc).__name__}: {exc}")
            continue
        for key, buckets in parsed.items():
            into = total.setdefault(key, {})
            for le, count in buckets.items():
                into[le] = into.get(le, 0.0) + count
    return LatencySnapshot(datetime.now(UTC), tuple(urls), total, tuple(errors))
