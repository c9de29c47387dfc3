"""Prometheus ``/metrics`` scrapes of the service's slots, and counter deltas between two scrapes.

The gates read counters as deltas over the measured span (a scrape before the load, one after),
summed over the serving slots. A scrape that fails, or a counter that went down between the two
scrapes (a slot restarted and its counters reset), is a ``MetricsError``: the gate is inconclusive.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

__all__ = [
    "MetricsError",
    "MetricsSnapshot",
    "Sample",
    "SlotScrapes",
    "parse_metrics",
    "scrape",
    "scrape_slots",
]


class MetricsError(RuntimeError):
    """A metrics source that did not answer or answered something unusable."""


@dataclass(frozen=True)
class Sample:
    """One Prometheus sample."""

    name: str
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class MetricsSnapshot:
    """The samples of one scrape of one source, with where and when it was taken."""

    source: str
    taken_at: float
    samples: tuple[Sample, ...]

    def select(self, name: str, **labels: str) -> tuple[Sample, ...]:
        """Return the samples of a series name whose labels include the given ones."""
        return tuple(
            s for s in self.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def total(self, name: str, **labels: str) -> float:
        """Return the sum of matching samples (0.0 when the series has none yet)."""
        return math.fsum(s.value for s in self.select(name, **labels))

    def buckets(self, name: str, **labels: str) -> dict[str, float]:
        """Return a histogram's cumulative ``le`` buckets summed over matching label sets."""
        out: dict[str, float] = {}
        for s in self.select(f"{name}_bucket", **labels):
            le = s.labels.get("le")
            if le is not None:
                out[le] = out.get(le, 0.0) + s.value
        return out


def parse_metrics(text: str, *, source: str, taken_at: float | None = None) -> MetricsSnapshot:
    """Parse Prometheus text exposition; MetricsError when it is not."""
    samples = []
    try:
        for family in text_string_to_metric_families(text):
            for item in family.samples:
                samples.append(Sample(item.name, dict(item.labels), float(item.value)))
    except (ValueError, TypeError) as exc:
        raise MetricsError(f"{source}: not Prometheus text: {exc}") from None
    return MetricsSnapshot(source, time.time() if taken_at is None else taken_at, tuple(samples))


def scrape(session: requests.Session, base_url: str | None, *, timeout_s: float = 5.0) -> MetricsSnapshot:
    """GET ``<base_url>/metrics``; MetricsError naming the URL when it fails."""
    if base_url is None:
        raise MetricsError("no metrics endpoint: the target has no reachable URL for this slot")
    url = f"{base_url}/metrics"
    try:
        response = session.get(url, timeout=timeout_s)
    except requests.RequestException as exc:
        raise MetricsError(f"{url} did not answer: {type(exc).__name__}: {exc}") from None
    if response.status_code != 200:
        raise MetricsError(f"{url} answered HTTP {response.status_code}")
    return parse_metrics(response.text, source=url)


@dataclass(frozen=True)
class SlotScrapes:
    """One scrape per slot, taken together."""

    by_slot: Mapping[str, MetricsSnapshot] = field(default_factory=dict)

    @property
    def sources(self) -> str:
        """Return the scraped URLs, for the evidence."""
        return ", ".join(s.source for s in self.by_slot.values())

    def total(self, name: str, **labels: str) -> float:
        """Return a counter summed over the slots."""
        return math.fsum(s.total(name, **labels) for s in self.by_slot.values())

    def delta(self, before: SlotScrapes, name: str, **labels: str) -> float:
        """Return the counter's increase since ``before``, summed over slots; refuses a reset."""
        out = 0.0
        for slot, after in self.by_slot.items():
            prior = before.by_slot.get(slot)
            if prior is None:
                raise MetricsError(f"slot {slot}: no earlier scrape to compute {name} from")
            now, then = after.total(name, **labels), prior.total(name, **labels)
            if now < then:
                raise MetricsError(
                    f"{after.source}: {name} went down from {then:g} to {now:g}: the slot restarted "
                    "during the measurement (counter reset)"
                )
            out += now - then
        return out

    def bucket_delta(self, before: SlotScrapes, name: str, **labels: str) -> dict[str, float]:
        """Return a histogram's cumulative buckets increase since ``before``, summed over slots."""
        out: dict[str, float] = {}
        for slot, after in self.by_slot.items():
            prior = before.by_slot.get(slot)
            if prior is None:
                raise MetricsError(f"slot {slot}: no earlier scrape to compute {name} from")
            then = prior.buckets(name, **labels)
            for le, value in after.buckets(name, **labels).items():
                diff = value - then.get(le, 0.0)
                if diff < 0:
                    raise MetricsError(f"{after.source}: {name} bucket le={le} went down (counter reset)")
                out[le] = out.get(le, 0.0) + diff
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return where and when each slot was scraped."""
        return {slot: {"source": s.source, "taken_at": s.taken_at} for slot, s in self.by_slot.items()}


def scrape_slots(
    session: requests.Session, urls: Mapping[str, str | None], slots: Iterable[str]
) -> SlotScrapes:
    """Scrape each named slot; MetricsError naming the first that fails."""
    return SlotScrapes({slot: scrape(session, urls.get(slot)) for slot in slots})
