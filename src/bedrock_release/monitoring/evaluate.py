"""Alarm evaluation done by us, from the metrics the release published (moto never evaluates alarms).

Each alarm's value is computed per period by the Python twin of its CloudWatch expression
(``twins``); a period above the threshold gives ALARM, at least one period with a value and none
above gives OK, anything else INSUFFICIENT_DATA, which is not OK. Percentiles: ``_percentile``.

Phase 6 causes some events on purpose: its fallback scenario opens the Bedrock circuit and its
compliance scenario has a residency violation blocked. Given when those probes ended, the event
alarms are evaluated over a window that starts after them (``probes_ended``); the load alarms
(latency, error rate, cost) keep their whole window, whose samples they need.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bedrock_release.monitoring._evidence import EvalWindow, errors_of, points_of
from bedrock_release.monitoring._percentile import PercentileEvaluator
from bedrock_release.monitoring.config import AwsClients, MonitoringConfig
from bedrock_release.monitoring.definitions import (
    EVENT_PERIOD_S,
    AlarmDefinition,
    AlarmKind,
    alarm_definitions,
)
from bedrock_release.monitoring.fetch import aligned_window, api_error, fetch_series
from bedrock_release.monitoring.prometheus import LatencySnapshot, PrometheusSource, scrape_latency
from bedrock_release.monitoring.provision import MonitoringError, find_topic, resolve_budget
from bedrock_release.monitoring.results import AlarmEvaluation
from bedrock_release.monitoring.thresholds import Thresholds, load_thresholds
from bedrock_release.monitoring.twins import apply_kind, decide_state

__all__ = ["PROBED_KINDS", "AlarmEvaluator", "evaluate_alarms", "evaluate_definition", "probe_free_at"]

#: The alarm kinds phase 6's deliberate probes trip: evaluated only after the probes ended.
PROBED_KINDS = frozenset({AlarmKind.EVENT_COUNT, AlarmKind.UNHEALTHY_COUNT, AlarmKind.OPEN_COUNT})


#: The slots stamp counts and gauges when they flush (every 10 s, docs/metrics.md), so an event of
#: the probes can carry a time up to one flush after them: twice that, for a flush late on a busy host.
PUBLISH_LAG_S = 20.0


def _quiet_from(probes_ended: datetime, period_s: int) -> datetime:
    """The first period boundary after the probes' last events were published."""
    t = probes_ended.astimezone(UTC) + timedelta(seconds=PUBLISH_LAG_S)
    return datetime.fromtimestamp(math.ceil(t.timestamp() / period_s) * period_s, UTC)


def probe_free_at(probes_ended: datetime, *, settle_s: float = 30.0) -> datetime:
    """When an event alarm's window that starts after the probes holds ``settle_s`` of data.

    CloudWatch's periods start on whole minutes, so the window starts at the first period boundary
    after the probes' events were published; ``settle_s`` lets the slots publish into it.
    """
    return _quiet_from(probes_ended, EVENT_PERIOD_S) + timedelta(seconds=settle_s)


class AlarmEvaluator:
    """Evaluates alarm definitions at one end time; Prometheus is scraped at most once, when needed."""

    def __init__(
        self,
        cw: Any,
        *,
        end: datetime | None = None,
        window_s: float | None = None,
        prometheus: PrometheusSource | None = None,
        probes_ended: datetime | None = None,
    ) -> None:
        self.cw = cw
        self.end = (end or datetime.now(UTC)).astimezone(UTC)
        self.window_s = window_s
        self.probes_ended = probes_ended.astimezone(UTC) if probes_ended else None
        self.prometheus = prometheus
        self._snapshot: LatencySnapshot | None = None
        self._percentiles = PercentileEvaluator(cw, prometheus, self._scrape)

    def _scrape(self) -> LatencySnapshot:
        if self._snapshot is None:
            assert self.prometheus is not None  # noqa: S101 - only called with a source
            self._snapshot = scrape_latency(self.prometheus.urls, timeout_s=self.prometheus.timeout_s)
        return self._snapshot

    def window(self, d: AlarmDefinition) -> EvalWindow:
        """The alarm's window: its period x evaluation periods (or ``window_s``) ending at ``end``.

        An event alarm's window starts no earlier than the first period after ``probes_ended``.
        """
        span = self.window_s if self.window_s is not None else d.period_s * d.evaluation_periods
        start, end = aligned_window(self.end, span, d.period_s)
        if (ended := self._probes_ended(d)) is not None:
            start = max(start, _quiet_from(ended, d.period_s))
        return EvalWindow(d, start, end)

    def _probes_ended(self, d: AlarmDefinition) -> datetime | None:
        """When phase 6's deliberate probes ended, if this alarm's window must start after them."""
        return self.probes_ended if d.kind in PROBED_KINDS else None

    def evaluate(self, d: AlarmDefinition) -> AlarmEvaluation:
        """OK, ALARM or INSUFFICIENT_DATA for one alarm, with its evidence."""
        w = self.window(d)
        if d.kind is AlarmKind.MAX_PERCENTILE:
            return self._percentiles.evaluate(w)
        source = f"cloudwatch GetMetricData {d.metrics[0].key.namespace}"
        ended = self._probes_ended(d)
        probes = (
            [f"window starts after phase 6's deliberate probes (ended {ended.isoformat()})"] if ended else []
        )
        if w.start >= w.end:
            return w.insufficient(
                source=source, reasons=[*probes, "no period after the probes has begun yet"]
            )
        series = fetch_series(self.cw, d.metrics, w.start, w.end)
        beat = fetch_series(self.cw, [d.heartbeat], w.start, w.end) if d.heartbeat else {}
        if errors := errors_of({**series, **{f"heartbeat:{k}": v for k, v in beat.items()}}):
            return w.insufficient(
                source=source, reasons=[*probes, "CloudWatch did not answer: " + "; ".join(errors)]
            )
        heartbeat = beat[d.heartbeat.id].by_time() if d.heartbeat else None
        pv = apply_kind(d, points_of(series), heartbeat)
        if pv.insufficient:
            return w.insufficient(source=source, reasons=[*probes, *pv.reasons], samples=pv.samples)
        state, value, why = decide_state(pv.values, d.threshold.value, pv.samples, d.min_samples)
        return w.result(
            state,
            source=source,
            reasons=[*why, *pv.reasons, *probes],
            value=value,
            samples=pv.samples,
            periods=pv.values,
        )


def evaluate_definition(
    cw: Any,
    definition: AlarmDefinition,
    *,
    end: datetime | None = None,
    window_s: float | None = None,
    prometheus: PrometheusSource | None = None,
) -> AlarmEvaluation:
    """Evaluate one alarm definition."""
    return AlarmEvaluator(cw, end=end, window_s=window_s, prometheus=prometheus).evaluate(definition)


def _reflect(cw: Any, evaluation: AlarmEvaluation) -> str | None:
    data = {
        "value": evaluation.value,
        "threshold": evaluation.threshold,
        "samples": evaluation.samples,
        "source": evaluation.source[:200],
        "evaluated_by": "bedrock_release.monitoring",
    }
    try:
        cw.set_alarm_state(
            AlarmName=evaluation.alarm_name,
            StateValue=evaluation.state.value,
            StateReason=evaluation.message()[:1023],
            StateReasonData=json.dumps(data),
        )
    except (ClientError, BotoCoreError) as exc:
        return api_error(exc)
    return None


def evaluate_alarms(
    clients: AwsClients,
    cfg: MonitoringConfig,
    *,
    end: datetime | None = None,
    window_s: float | None = None,
    since: datetime | None = None,
    probes_ended: datetime | None = None,
    prometheus: PrometheusSource | None = None,
    reflect_state: bool = False,
    thresholds: Thresholds | None = None,
    on_result: Callable[[AlarmEvaluation], None] | None = None,
) -> tuple[AlarmEvaluation, ...]:
    """Evaluate the eight alarms; ``reflect_state`` writes each state to CloudWatch (sandbox only).

    The window of each alarm is its period x evaluation periods ending at ``end`` (now), or
    ``window_s``, or everything from ``since`` (e.g. ``release_live_since``) to ``end``; the event
    alarms' windows start after ``probes_ended`` (when phase 6's deliberate probes ended).
    """
    th = thresholds or load_thresholds(cfg.features_dir)
    if window_s is None and since is not None:
        window_s = max(1.0, ((end or datetime.now(UTC)) - since).total_seconds())
    budget: float | None = None
    budget_error = ""
    try:
        budget, _ = resolve_budget(clients, cfg)
    except MonitoringError as exc:
        budget_error = str(exc)
    except (ClientError, BotoCoreError) as exc:
        budget_error = api_error(exc)
    try:
        topic = find_topic(clients.sns, cfg.topic_name) or "unresolved"
    except (ClientError, BotoCoreError):
        topic = "unresolved"  # evaluation does not need the action
    definitions = alarm_definitions(cfg, topic_arn=topic, budget_usd=budget or 1.0, thresholds=th)
    evaluator = AlarmEvaluator(
        clients.cloudwatch, end=end, window_s=window_s, prometheus=prometheus, probes_ended=probes_ended
    )
    out: list[AlarmEvaluation] = []
    for d in definitions:
        if d.kind is AlarmKind.BUDGET_SHARE and budget is None:
            result = evaluator.window(d).insufficient(
                source="AWS Budgets", reasons=[f"no allocated budget: {budget_error}"]
            )
        else:
            result = evaluator.evaluate(d)
        if reflect_state and (problem := _reflect(clients.cloudwatch, result)):
            # The evaluation stands; only its copy in the console failed.
            result = replace(
                result, reasons=(*result.reasons, f"could not write the state to CloudWatch: {problem}")
            )
        if on_result is not None:
            on_result(result)
        out.append(result)
    return tuple(out)
