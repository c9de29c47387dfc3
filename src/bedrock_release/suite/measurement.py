"""A measured span: the traffic one step generated and the metrics scraped around it.

Phase 3's load, a phase 5 monitoring period, a rollback's stability watch and phase 6's cache probe
each produce one ``MeasuredSpan``; the gate steps read it. Whatever could not be measured is kept
as an error string, so the gates that needed it are inconclusive with that reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from bedrock_release.gates.histogram import Histogram
from bedrock_release.gates.slo import CounterSample
from bedrock_release.load.monitor import LiveGate, LiveOutcome, LoadMonitor
from bedrock_release.load.results import ALL
from bedrock_release.load.runner import LoadPlan, LoadRun, run_load
from bedrock_release.suite.prometheus import MetricsError, SlotScrapes, scrape_slots
from bedrock_release.suite.target import Target
from bedrock_release.suite.traffic import TrafficError, serving_slots

__all__ = ["MeasuredSpan", "measure_load", "scrape_or_error"]

_JITTER_S = 0.25


@dataclass(frozen=True)
class MeasuredSpan:
    """What one span of traffic measured, and where each number came from."""

    description: str
    seconds: float | None
    required_seconds: float | None = None
    latency: Mapping[str, Histogram] = field(default_factory=dict)
    latency_source: str | None = None
    series: Mapping[str, tuple[CounterSample, ...]] = field(default_factory=dict)
    series_source: str | None = None
    traffic_error: str | None = None
    slots: tuple[str, ...] = ()
    before: SlotScrapes | None = None
    after: SlotScrapes | None = None
    metrics_error: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    #: The live gates' sequential tests while the load ran (load/monitor.py): looks and proven breaches.
    live: tuple[LiveOutcome, ...] = ()

    @property
    def metrics_source(self) -> str | None:
        """Return the scraped endpoints (None when scraping failed)."""
        return self.after.sources if self.after is not None and self.metrics_error is None else None

    def too_short(self) -> str | None:
        """Return why the span is shorter than it had to be, None when it is long enough."""
        if self.required_seconds is None or self.seconds is None:
            return None
        # A quarter second of scheduling jitter at the end of a load run is not a shorter period.
        if self.seconds + _JITTER_S < self.required_seconds:
            return (
                f"measured over {self.seconds:.3g} s, shorter than the required {self.required_seconds:.3g} s"
            )
        return None

    def with_required(self, seconds: float) -> MeasuredSpan:
        """Return the span with the duration the feature requires of it."""
        return MeasuredSpan(**{**self.__dict__, "required_seconds": seconds})


def scrape_or_error(
    session: requests.Session, target: Target, slots: tuple[str, ...]
) -> tuple[SlotScrapes | None, str | None]:
    """Scrape /metrics of the slots; return (scrapes, None) or (None, why not)."""
    try:
        return scrape_slots(session, target.endpoints.slots, slots), None
    except MetricsError as exc:
        return None, str(exc)


def measure_load(
    session: requests.Session,
    target: Target,
    plan: LoadPlan,
    *,
    admin_token: str | None,
    live: Sequence[LiveGate] = (),
    runner: Callable[..., LoadRun] = run_load,
) -> MeasuredSpan:
    """Scrape the serving slots, run locust, scrape again; nothing here raises for missing data.

    ``live``: the gates watched while the load runs; a breach their sequential test proves stops it.
    """
    try:
        slots = serving_slots(session, target)
    except TrafficError as exc:
        slots = (target.new_slot,)
        slots_error: str | None = f"serving slots unknown ({exc}); scraping the new slot only"
    else:
        slots_error = None
    before, before_error = scrape_or_error(session, target, slots)
    monitor = LoadMonitor(live) if live else None
    run = runner(plan, admin_token=admin_token, monitor=monitor)
    after, after_error = scrape_or_error(session, target, slots)
    metrics_error = before_error or after_error
    results = run.results
    if monitor is not None and results is not None:
        monitor.look(results.duration_s, results.kinds)  # the whole load, merged: the last look
    description = (
        f"{plan.purpose} load through the load balancer ({plan.duration_s:g} s planned, "
        f"{'verification' if plan.verification else 'customer'} traffic)"
    )
    latency, series = {}, {}
    if results is not None:
        latency = {name: kind.histogram() for name, kind in results.kinds.items()}
        series = {name: results.series_of(name) for name in [*results.kinds, ALL]}
    source = f"locust results {plan.results_path}" if results is not None else None
    raw: dict[str, Any] = {"load": run.to_dict(), "slots": list(slots)}
    if monitor is not None:
        raw["live_gates"] = [o.to_dict() for o in monitor.outcomes()]
    if slots_error:
        raw["slots_note"] = slots_error
    if before is not None and after is not None:
        raw["scrapes"] = {"before": before.to_dict(), "after": after.to_dict()}
    return MeasuredSpan(
        description=description,
        seconds=results.duration_s if results is not None else None,
        latency=latency,
        latency_source=source,
        series=series,
        series_source=source,
        traffic_error=run.error,
        slots=slots,
        before=before,
        after=after,
        metrics_error=metrics_error,
        raw=raw,
        live=monitor.outcomes() if monitor is not None else (),
    )
