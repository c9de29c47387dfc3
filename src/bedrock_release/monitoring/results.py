"""Results of creating, verifying and evaluating monitoring: frozen, with evidence, fail closed."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window
from bedrock_release.monitoring.catalogue import MetricKey

__all__ = [
    "AlarmCheck",
    "AlarmEvaluation",
    "AlarmState",
    "AlertDelivery",
    "ChangeResult",
    "DashboardCheck",
    "DashboardReadable",
    "MetricPresence",
    "MetricsReadable",
    "ProvisionResult",
    "TopicResult",
    "WidgetCheck",
]


def _json(value: Any) -> Any:  # noqa: PLR0911 - one return per JSON type
    if isinstance(value, MetricKey):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json(getattr(value, f.name)) for f in fields(value) if f.repr}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json(v) for v in value]
    return value


class _Evidence:
    """to_dict() for every result."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (Allure attachment, journal record)."""
        out = _json(self)
        if hasattr(self, "ok"):
            out["ok"] = bool(self.ok)
        return out


class AlarmState(enum.StrEnum):
    """CloudWatch's alarm states; only OK is OK."""

    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class ChangeResult(_Evidence):
    """What an idempotent ensure did, by resource name."""

    changed: bool
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopicResult(_Evidence):
    """The on-call topic and, when asked for, the queue that proves delivery."""

    changed: bool
    topic_arn: str
    queue_url: str | None = None
    queue_arn: str | None = None
    subscription_arn: str | None = None
    created: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProvisionResult(_Evidence):
    """Everything phase 7 creates."""

    changed: bool
    topic: TopicResult
    dashboard: ChangeResult
    alarms: ChangeResult
    budget_usd: float
    budget_source: str


@dataclass(frozen=True)
class MetricPresence(_Evidence):
    """One metric: does the service publish it, how many samples in the window, does CloudWatch know it.

    ``listed`` is asked only of a metric without samples in the window (samples prove it exists):
    None when not asked, else whether ListMetrics shows it at all.
    """

    key: MetricKey
    published: bool
    datapoints: int
    listed: bool | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Published by the service, with samples (of exactly its dimensions) in the window."""
        return self.published and self.datapoints > 0 and self.problem is None


@dataclass(frozen=True)
class WidgetCheck(_Evidence):
    """One widget of a dashboard and the metrics it shows."""

    title: str
    metrics: tuple[MetricPresence, ...]
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    @property
    def metrics_with_data(self) -> tuple[MetricPresence, ...]:
        """The metrics that have data in the window."""
        return tuple(m for m in self.metrics if m.ok)


@dataclass(frozen=True)
class DashboardCheck(_Evidence):
    """A dashboard, widget by widget, against what the service publishes."""

    name: str
    exists: bool
    widgets: tuple[WidgetCheck, ...]
    problems: tuple[str, ...]
    since: datetime | None = None
    until: datetime | None = None
    slot: str | None = None

    @property
    def ok(self) -> bool:
        """The dashboard exists and neither it nor any widget has a problem."""
        return self.exists and not self.problems and all(w.ok for w in self.widgets)

    @property
    def titles(self) -> tuple[str, ...]:
        """Widget titles in order."""
        return tuple(w.title for w in self.widgets)

    def widget(self, title: str) -> WidgetCheck | None:
        """The widget with this title (case and surrounding blanks ignored)."""
        want = title.strip().casefold()
        return next((w for w in self.widgets if w.title.strip().casefold() == want), None)

    def message(self) -> str:
        """One line for a failure message."""
        state = "OK" if self.ok else "NOT OK"
        problems = list(self.problems) + [f"{w.title}: {p}" for w in self.widgets for p in w.problems]
        return f"dashboard {self.name}: {state}" + (f": {'; '.join(problems)}" if problems else "")


@dataclass(frozen=True)
class AlarmCheck(_Evidence):
    """One alarm of the feature as CloudWatch holds it, against its definition."""

    name: str
    alarm_name: str
    exists: bool
    threshold: float | None
    expected_threshold: float
    unit: str
    threshold_source: str
    comparison: str | None
    period_s: int | None
    evaluation_periods: int | None
    datapoints_to_alarm: int | None
    actions: tuple[str, ...]
    topic_arn: str | None
    notifies_topic: bool
    matches_definition: bool
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Exists, threshold as the feature says, notifies the topic, and equals its definition."""
        return self.exists and self.matches_definition and self.notifies_topic and not self.problems

    def message(self) -> str:
        """One line for a failure message."""
        state = "OK" if self.ok else "NOT OK"
        return (
            f"alarm {self.alarm_name}: {state}: threshold {self.threshold} "
            f"(feature: {self.expected_threshold:g} {self.unit}, {self.threshold_source}), "
            f"comparison {self.comparison}, period {self.period_s} s x {self.evaluation_periods}, "
            f"actions {list(self.actions)}" + (f"; {'; '.join(self.problems)}" if self.problems else "")
        )


@dataclass(frozen=True)
class MetricsReadable(_Evidence):
    """The new release's own metrics (dimension Slot) as CloudWatch returns them."""

    namespace: str
    slot: str
    metrics: tuple[MetricPresence, ...]
    problems: tuple[str, ...]
    since: datetime | None = None
    until: datetime | None = None

    @property
    def ok(self) -> bool:
        """Every required metric has data in the window."""
        return not self.problems and bool(self.metrics)

    def message(self) -> str:
        """One line for a failure message."""
        good = sum(1 for m in self.metrics if m.ok)
        head = f"metrics of slot {self.slot} in {self.namespace}: {good}/{len(self.metrics)} readable"
        return head + (f": {'; '.join(self.problems)}" if self.problems else "")


@dataclass(frozen=True)
class DashboardReadable(_Evidence):
    """A pre-existing dashboard: there, valid JSON, with widgets."""

    name: str
    exists: bool
    widget_count: int
    titles: tuple[str, ...]
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Exists, parses, holds at least one widget."""
        return self.exists and self.widget_count > 0 and not self.problems

    def message(self) -> str:
        """One line for a failure message."""
        return (
            f"dashboard {self.name}: {'readable' if self.ok else 'NOT readable'}, {self.widget_count} widgets"
            + (f": {'; '.join(self.problems)}" if self.problems else "")
        )


@dataclass(frozen=True)
class AlarmEvaluation(_Evidence):
    """One alarm evaluated by us from the published metrics (moto never evaluates alarms)."""

    name: str
    alarm_name: str
    state: AlarmState
    value: float | None
    threshold: float
    unit: str
    comparison: str
    samples: int
    min_samples: int
    window_start: datetime
    window_end: datetime
    period_s: int
    periods: tuple[tuple[str, float], ...]
    source: str
    reasons: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", AlarmState(self.state))
        if self.state is AlarmState.OK and (self.value is None or self.samples < self.min_samples):
            raise ValueError(f"alarm {self.name}: OK needs a value and at least {self.min_samples} samples")

    @property
    def ok(self) -> bool:
        """Only OK is OK; INSUFFICIENT_DATA is not."""
        return self.state is AlarmState.OK

    def message(self) -> str:
        """One line: alarm, state, value, threshold, samples, window, source, reasons."""
        value = "none" if self.value is None else f"{self.value:.6g}"
        line = (
            f"alarm {self.alarm_name}: {self.state.value}: value {value} {self.unit}, alarms when "
            f"{'>' if self.comparison == 'GreaterThanThreshold' else self.comparison} {self.threshold:g} "
            f"{self.unit}; {self.samples} samples (minimum {self.min_samples}) over "
            f"{self.window_start.isoformat()}..{self.window_end.isoformat()}; source {self.source}"
        )
        return line + (f"; {'; '.join(self.reasons)}" if self.reasons else "")

    def to_gate(self) -> GateResult:
        """The evaluation as a gate result (OK pass, ALARM fail, INSUFFICIENT_DATA inconclusive)."""
        verdict = {
            AlarmState.OK: Verdict.PASS,
            AlarmState.ALARM: Verdict.FAIL,
            AlarmState.INSUFFICIENT_DATA: Verdict.INCONCLUSIVE,
        }[self.state]
        seconds = (self.window_end - self.window_start).total_seconds()
        return GateResult(
            name=f"alarm {self.name}",
            verdict=verdict,
            value=self.value,
            threshold=self.threshold,
            unit=self.unit,
            comparison=Comparison.AT_MOST,
            samples=self.samples,
            min_samples=self.min_samples,
            window=Window(f"{seconds:g} s ending {self.window_end.isoformat()}", seconds),
            source=self.source,
            reasons=self.reasons,
            raw=self.to_dict(),
        )


@dataclass(frozen=True)
class AlertDelivery(_Evidence):
    """The alerting path: a raised alarm's notification arrived on the topic's delivery queue."""

    alarm_name: str
    topic_arn: str | None
    queue_url: str | None
    state_set: bool
    delivered: bool
    via: str | None  # "cloudwatch-action" | "emulated-publish" | None
    token: str
    notification: Mapping[str, Any] | None  # the CloudWatch notification as received
    waited_s: float
    setup_changed: bool
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """The notification carrying this check's token arrived."""
        return self.state_set and self.delivered

    def message(self) -> str:
        """One line for a failure message."""
        state = f"delivered via {self.via}" if self.ok else "NOT delivered"
        return (
            f"alarm {self.alarm_name} -> {self.topic_arn} -> {self.queue_url}: {state} "
            f"after {self.waited_s:.1f} s" + (f"; {'; '.join(self.reasons)}" if self.reasons else "")
        )
