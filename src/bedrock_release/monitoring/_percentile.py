"""Percentile alarms: CloudWatch's p95 where it has one, else a Maximum bound, else Prometheus.

moto 5.2.5 answers ``Stat: p95`` with HTTP 500 and leaves ``ExtendedStatistics`` out of
GetMetricStatistics. The Maximum of a period is never below its p95, so "every Maximum within the
threshold" proves OK; when a Maximum is above, only the slots' histograms can decide (docs/gates.md
bucket rule), and without them the result is INSUFFICIENT_DATA.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from bedrock_release.gates.histogram import DataError, from_prometheus
from bedrock_release.gates.slo import latency_gate
from bedrock_release.gates.verdict import Verdict, Window
from bedrock_release.monitoring._evidence import EvalWindow, errors_of, points_of
from bedrock_release.monitoring.fetch import fetch_series
from bedrock_release.monitoring.prometheus import LatencySnapshot, PrometheusSource
from bedrock_release.monitoring.results import AlarmEvaluation, AlarmState
from bedrock_release.monitoring.twins import apply_kind, decide_state

__all__ = ["PercentileEvaluator"]


class PercentileEvaluator:
    """Evaluates MAX_PERCENTILE alarms; remembers that CloudWatch has no percentiles after one refusal."""

    def __init__(
        self, cw: Any, prometheus: PrometheusSource | None, snapshot: Callable[[], LatencySnapshot]
    ) -> None:
        self.cw = cw
        self.prometheus = prometheus
        self.snapshot = snapshot
        self.unsupported: str | None = None  # why CloudWatch gave no percentile (moto: HTTP 500)

    def evaluate(self, w: EvalWindow) -> AlarmEvaluation:
        d = w.definition
        stat = d.metrics[0].stat
        counts = fetch_series(self.cw, d.metrics, w.start, w.end, stat="SampleCount")
        if errors := errors_of(counts):
            return w.insufficient(
                source="cloudwatch GetMetricData", reasons=["CloudWatch did not answer: " + "; ".join(errors)]
            )
        samples = int(sum(sum(s.values) for s in counts.values()))
        if self.unsupported is None:
            exact = fetch_series(self.cw, d.metrics, w.start, w.end)
            if not (errors := errors_of(exact)):
                pv = apply_kind(d, points_of(exact))
                state, value, why = decide_state(pv.values, d.threshold.value, samples, d.min_samples)
                return w.result(
                    state,
                    source=f"cloudwatch GetMetricData {stat}",
                    reasons=why,
                    value=value,
                    samples=samples,
                    periods=pv.values,
                )
            # Asked once per evaluation run: moto answers every percentile with HTTP 500.
            self.unsupported = "; ".join(errors)[:300]
        return self._bound(w, samples, note=f"CloudWatch gave no {stat} ({self.unsupported})")

    def _bound(self, w: EvalWindow, samples: int, note: str) -> AlarmEvaluation:
        d = w.definition
        stat = d.metrics[0].stat
        source = f"cloudwatch GetMetricData Maximum (an upper bound of the {stat})"
        bounds = fetch_series(self.cw, d.metrics, w.start, w.end, stat="Maximum")
        if errors := errors_of(bounds):
            return w.insufficient(
                source=source, reasons=[note, "CloudWatch did not answer: " + "; ".join(errors)]
            )
        pv = apply_kind(d, points_of(bounds))
        state, value, why = decide_state(pv.values, d.threshold.value, samples, d.min_samples)
        if state is AlarmState.OK:
            reasons = [note, f"every period's Maximum is within the threshold, so its {stat} is too"]
            return w.result(
                state,
                source=source,
                reasons=reasons,
                value=value,
                samples=samples,
                periods=pv.values,
                bound=True,
            )
        if self.prometheus is not None and pv.values:
            return self._prometheus(w, note=f"{note}; the Maximum bound {value:g} cannot decide the {stat}")
        if state is AlarmState.ALARM:
            why = (f"the Maximum bound {value:g} cannot decide the {stat} and no Prometheus source is given",)
        return w.insufficient(source=source, reasons=[note, *why], samples=samples, bound_value=value)

    def _prometheus(self, w: EvalWindow, note: str) -> AlarmEvaluation:
        d = w.definition
        assert self.prometheus is not None  # noqa: S101 - checked by the caller
        snap = self.snapshot()
        baseline = self.prometheus.baseline
        scope = (
            f"since the baseline scrape at {baseline.taken_at.isoformat()}"
            if baseline
            else "cumulative since each slot process started (not the alarm window)"
        )
        source = f"prometheus {', '.join(snap.urls)} {scope}"
        if snap.errors:
            return w.insufficient(source=source, reasons=[note, *snap.errors])
        per_series, problem = self._gates(w, snap, scope, source)
        if problem:
            return w.insufficient(source=source, reasons=[note, problem])
        samples = sum(int(s["samples"]) for s in per_series.values())
        worst = max(float(s["value"]) for s in per_series.values() if s["value"] is not None)
        verdicts = {label: s["verdict"] for label, s in per_series.items()}
        raw = {"per_series": per_series}
        if failed := [label for label, v in verdicts.items() if v is Verdict.FAIL]:
            reasons = [note, *(f"{label}: {d.metrics[0].stat} above the threshold" for label in failed)]
            return w.result(
                AlarmState.ALARM, source=source, reasons=reasons, value=worst, samples=samples, **raw
            )
        if undecided := [label for label, v in verdicts.items() if v is Verdict.INCONCLUSIVE]:
            reasons = [note, *(f"{label}: {'; '.join(per_series[label]['reasons'])}" for label in undecided)]
            return w.insufficient(source=source, reasons=reasons, samples=samples, **raw)
        if samples < d.min_samples:
            return w.insufficient(
                source=source,
                reasons=[note, f"too few samples: {samples} < {d.min_samples}"],
                samples=samples,
                **raw,
            )
        return w.result(AlarmState.OK, source=source, reasons=[note], value=worst, samples=samples, **raw)

    def _gates(
        self, w: EvalWindow, snap: LatencySnapshot, scope: str, source: str
    ) -> tuple[dict[str, dict[str, Any]], str | None]:
        """The gate verdict of each series' histogram, or why there is none."""
        d = w.definition
        baseline = self.prometheus.baseline if self.prometheus else None
        per_series: dict[str, dict[str, Any]] = {}
        for m in d.metrics:
            dims = dict(m.key.dimensions)
            cumulative = snap.histogram(dims["Operation"], dims["Route"], baseline)
            if cumulative.get(math.inf, 0.0) <= 0:
                continue  # no request of this operation took this route
            try:
                hist = from_prometheus(cumulative)
            except DataError as exc:
                return {}, f"{m.key.label()}: {exc}"
            gate = latency_gate(
                m.key.label(),
                hist,
                threshold=d.threshold.value,
                source=source,
                window=Window(scope),
                quantile=m.quantile or 0.95,
                min_samples=1,
            )
            per_series[m.key.label()] = {
                "verdict": gate.verdict,
                "value": gate.value,
                "samples": gate.samples,
                "reasons": gate.reasons,
            }
        if not per_series:
            return {}, "no latency samples in the histograms"
        return per_series, None
