"""The post-deployment watch: customer traffic for the plan's two hours (scaled), gates per window.

One continuous locust run (customer traffic, no verification header) with histogram snapshots at
every rolling window; a scraper thread reads the serving slots' /metrics at the same boundaries.
Each window is one evaluation of the SLO gates of features/slo_gates.feature: P95 per request kind
and the error rate from locust, the cache hit rate of frequent queries from the counters, the cost
against the budget at the end.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from bedrock_release.gates import slo
from bedrock_release.gates.verdict import Comparison, GateResult, Window
from bedrock_release.load.results import ALL
from bedrock_release.load.runner import LoadRun, monitoring_plan, run_load
from bedrock_release.suite.measurement import scrape_or_error
from bedrock_release.suite.prometheus import MetricsError, SlotScrapes
from bedrock_release.suite.slo_spec import SloSpec
from bedrock_release.suite.target import Target
from bedrock_release.suite.traffic import serving_slots

__all__ = ["Watch", "WindowEvaluation", "evaluate_watch", "run_watch"]

_FREQUENT = '{query_class="frequent"}'


@dataclass(frozen=True)
class WindowEvaluation:
    """The gates of one window of the watch."""

    index: int
    start: float
    end: float
    gates: tuple[GateResult, ...]

    @property
    def passed(self) -> bool:
        """Return True when every gate of the window passed."""
        return bool(self.gates) and all(g.passed for g in self.gates)


@dataclass(frozen=True)
class Watch:
    """A watch run: the load, the scrapes at window boundaries, and what it had to cover."""

    run: LoadRun
    window_s: float
    required_s: float
    started_wall: float
    scrapes: tuple[tuple[float, SlotScrapes | None, str | None], ...] = field(default=())

    def summary(self) -> dict[str, Any]:
        """Return the watch for evidence attachments."""
        return {
            "required_s": self.required_s,
            "window_s": self.window_s,
            "load": self.run.to_dict(),
            "scrapes": [{"t": round(t, 2), "error": e} for t, _, e in self.scrapes],
        }


def run_watch(
    session: requests.Session,
    target: Target,
    *,
    required_s: float,
    window_s: float,
    runner: Callable[..., LoadRun] = run_load,
) -> Watch:
    """Run customer traffic for ceil(required / window) windows, scraping /metrics at each boundary."""
    if not target.endpoints.traffic:
        raise ValueError("the target has no load balancer endpoint")
    windows = max(1, math.ceil(required_s / window_s - 1e-9))
    plan = monitoring_plan(
        target.endpoints.traffic,
        target.time_scale,
        target.results_dir,
        purpose="post-deployment-watch",
        duration_s=windows * window_s,
        window_s=window_s,
    )
    slots = serving_slots(session, target)
    scrapes: list[tuple[float, SlotScrapes | None, str | None]] = []
    stop = threading.Event()
    started = time.time()

    def scrape_loop() -> None:
        boundary = 0
        while not stop.is_set():
            scraped, error = scrape_or_error(session, target, slots)
            scrapes.append((time.time() - started, scraped, error))
            boundary += 1
            stop.wait(max(0.0, started + boundary * window_s - time.time()))

    thread = threading.Thread(target=scrape_loop, name="watch-scraper", daemon=True)
    thread.start()
    try:
        run = runner(plan, admin_token=None)
    finally:
        stop.set()
        thread.join(timeout=30)
    scraped, error = scrape_or_error(session, target, slots)
    scrapes.append((time.time() - started, scraped, error))
    return Watch(run, window_s, required_s, started, tuple(scrapes))


def _cache_gate(spec: SloSpec, before: Any, after: Any, window: Window) -> GateResult:
    name = spec.gate
    if before[1] is None or after[1] is None:
        return GateResult.unavailable(
            name,
            reason=f"metrics source unavailable: {before[2] or after[2]}",
            threshold=spec.threshold,
            unit="percent",
            comparison=Comparison.AT_LEAST,
            min_samples=spec.min_samples,
            window=window,
            source="none",
        )
    try:
        hits = after[1].delta(before[1], "support_cache_requests_total", query_class="frequent", result="hit")
        misses = after[1].delta(
            before[1], "support_cache_requests_total", query_class="frequent", result="miss"
        )
    except MetricsError as exc:
        return GateResult.unavailable(
            name,
            reason=str(exc),
            threshold=spec.threshold,
            unit="percent",
            comparison=Comparison.AT_LEAST,
            min_samples=spec.min_samples,
            window=window,
            source=after[1].sources,
        )
    return slo.cache_hit_rate_gate(
        name,
        int(hits),
        int(misses),
        threshold_pct=spec.threshold,
        window=window,
        min_lookups=spec.min_samples,
        source=f"Prometheus support_cache_requests_total{_FREQUENT} deltas, {after[1].sources}",
    )


def evaluate_watch(watch: Watch, specs: Sequence[SloSpec]) -> list[WindowEvaluation]:
    """Evaluate the latency, error-rate and cache gates in every window of the watch."""
    results = watch.run.results
    if results is None or not results.windows:
        return []
    series = results.series_of(ALL)
    out = []
    for index, win in enumerate(results.windows):
        window = Window(f"watch window {index + 1} ({win.start:g}-{win.end:g} s)", win.end - win.start)
        source = f"locust results {results.path}, window {index + 1}"
        gates: list[GateResult] = []
        for spec in specs:
            if spec.gate.startswith("p95-latency-") and spec.kind:
                kind = win.kinds.get(spec.kind)
                gates.append(
                    slo.latency_gate(
                        spec.gate,
                        kind.histogram() if kind else None,
                        threshold=spec.threshold,
                        source=source,
                        window=window,
                        min_samples=spec.min_samples,
                    )
                )
            elif spec.gate == "error-rate":
                points = [s for s in series if win.start - 1e-9 <= s.t <= win.end + 1e-9]
                gates.append(
                    slo.error_rate_trailing_window_gate(
                        spec.gate,
                        points,
                        threshold_pct=spec.threshold,
                        window_s=max(1e-3, win.end - win.start - 0.5),
                        source=source,
                        min_requests=spec.min_samples,
                    )
                )
            elif spec.gate == "cache-hit-rate":
                bracket = _bracket(watch, results.started_at, win.start, win.end)
                gates.append(_cache_gate(spec, bracket[0], bracket[1], window))
        out.append(WindowEvaluation(index + 1, win.start, win.end, tuple(gates)))
    return out


def _bracket(watch: Watch, locust_start: float, start: float, end: float) -> tuple[Any, Any]:
    """Return the scrapes nearest to a window's start and end (the scraper's clock is the runner's)."""
    offset = locust_start - watch.started_wall
    scrapes = list(watch.scrapes)

    def nearest(t: float) -> Any:
        return min(scrapes, key=lambda s: abs(s[0] - (t + offset)))

    return nearest(start), nearest(end)
