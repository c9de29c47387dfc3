"""Verification of what phase 7 created, and the read-only checks of the phase 4 health check."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from audit_trail import read
from bedrock_release.monitoring.catalogue import (
    CIRCUITS,
    COMPONENT_NAMES,
    FLAGS,
    MetricKey,
    published_problem,
)
from bedrock_release.monitoring.config import OPERATIONS_DASHBOARD, AwsClients, MonitoringConfig
from bedrock_release.monitoring.dashboard import DASHBOARD_WIDGETS, widget_metrics
from bedrock_release.monitoring.definitions import AlarmDefinition, alarm_definitions, normalise_alarm
from bedrock_release.monitoring.fetch import api_error, datapoint_counts, listed_metrics
from bedrock_release.monitoring.provision import MonitoringError, find_topic, resolve_budget
from bedrock_release.monitoring.results import (
    AlarmCheck,
    DashboardCheck,
    DashboardReadable,
    MetricPresence,
    MetricsReadable,
    WidgetCheck,
)
from bedrock_release.monitoring.thresholds import Thresholds, load_thresholds
from bedrock_release.pipeline.journal import JOURNAL_NAME, fold, parse_ts

__all__ = [
    "check_dashboard_readable",
    "check_metrics_readable",
    "release_live_since",
    "release_metric_keys",
    "validation_ended_at",
    "verify_alarms",
    "verify_dashboard",
]

_DEFAULT_LOOKBACK = timedelta(hours=3)
_RELEASE_LOOKBACK = timedelta(minutes=15)


def _window(since: datetime | None, until: datetime | None, lookback: timedelta) -> tuple[datetime, datetime]:
    # "Until now" ends at the next whole minute: CloudWatch (and moto) cut end times to whole
    # seconds or minutes, and a datapoint published this very second must count.
    end = (until or _next_minute(datetime.now(UTC))).astimezone(UTC)
    start = since.astimezone(UTC) if since else end - lookback
    if start >= end:
        raise ValueError(f"since {start.isoformat()} must be before until {end.isoformat()}")
    return start, end


def _next_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0) + timedelta(minutes=1)


def _presence(
    cw: Any, keys: Sequence[MetricKey], start: datetime, end: datetime
) -> tuple[dict[MetricKey, MetricPresence], list[str]]:
    """Samples of each metric in the window; ListMetrics only for a metric without any.

    GetMetricData matches the exact dimension set, so a sample in the window proves the metric
    exists as the service publishes it. ListMetrics then only tells, for a metric without samples,
    whether CloudWatch knows it at all (a diagnosis; moto lists every sample of a metric, which
    took 43 s for the dashboard's 45 metrics after one sandbox deploy).
    """
    unique = sorted(set(keys))
    counts, count_error = datapoint_counts(cw, unique, start, end)
    errors = [f"CloudWatch GetMetricData: {count_error}"] if count_error else []
    empty = [key for key in unique if counts.get(key, 0) <= 0]
    listed: set[MetricKey] = set()
    if empty and not count_error:
        listed, list_error = listed_metrics(cw, empty)
        if list_error:
            errors.append(f"CloudWatch ListMetrics: {list_error}")
    out = {
        key: MetricPresence(
            key=key,
            published=published_problem(key) is None,
            datapoints=counts.get(key, 0),
            listed=None if key not in empty or count_error else key in listed,
            problem=published_problem(key),
        )
        for key in unique
    }
    return out, errors


def _get_body(cw: Any, name: str) -> tuple[Mapping[str, Any] | None, list[str]]:
    try:
        raw = cw.get_dashboard(DashboardName=name)["DashboardBody"]
    except cw.exceptions.ResourceNotFound:
        return None, [f"dashboard {name} does not exist"]
    except (ClientError, BotoCoreError) as exc:
        return None, [f"dashboard {name} could not be read: {api_error(exc)}"]
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, [f"dashboard {name} body is not JSON: {exc}"]
    if not isinstance(body, dict) or not isinstance(body.get("widgets"), list):
        return {}, [f"dashboard {name} body has no widgets list"]
    return body, []


def verify_dashboard(
    cw: Any,
    name: str,
    namespace: str,
    *,
    slot: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    expected_widgets: Sequence[str] = DASHBOARD_WIDGETS,
) -> DashboardCheck:
    """Every expected widget is there and shows a metric the service publishes, with data in the window.

    Each metric of a widget must be one the service publishes (name, exact dimension set, values,
    this namespace); at least one must be listed by CloudWatch with datapoints in [since, until];
    with ``slot``, widgets on per-slot metrics need data from that slot (the new release).
    """
    start, end = _window(since, until, _DEFAULT_LOOKBACK)
    body, problems = _get_body(cw, name)
    if body is None or problems:
        return DashboardCheck(name, body is not None, (), tuple(problems), start, end, slot)
    widgets = [w for w in body["widgets"] if isinstance(w, dict)]
    parsed: list[tuple[str, tuple[MetricKey, ...], str | None]] = []
    for w in widgets:
        title = str((w.get("properties") or {}).get("title", ""))
        try:
            parsed.append((title, widget_metrics(w), None))
        except ValueError as exc:
            parsed.append((title, (), str(exc)))
    presence, errors = _presence(cw, [k for _, keys, _ in parsed for k in keys], start, end)
    problems.extend(errors)
    checks: list[WidgetCheck] = []
    for title, keys, parse_error in parsed:
        metrics = tuple(presence[k] for k in dict.fromkeys(keys))
        wp: list[str] = [parse_error] if parse_error else []
        if not keys and not parse_error:
            wp.append("shows no metric")
        wp += [
            f"{k.label()} is in namespace {k.namespace}, not {namespace}"
            for k in keys
            if k.namespace != namespace
        ]
        wp += [m.problem for m in metrics if m.problem]
        if keys and not any(m.ok for m in metrics):
            wp.append("no metric of this widget has datapoints in the window")
        per_slot = [m for m in metrics if any(d == "Slot" for d, _ in m.key.dimensions)]
        if slot and per_slot and not any(m.ok and ("Slot", slot) in m.key.dimensions for m in per_slot):
            wp.append(f"no per-slot metric of slot {slot} (the new release) has datapoints in the window")
        checks.append(WidgetCheck(title, metrics, tuple(wp)))
    titles = {c.title.strip().casefold() for c in checks}
    problems += [f"widget {t!r} is missing" for t in expected_widgets if t.strip().casefold() not in titles]
    return DashboardCheck(name, True, tuple(checks), tuple(problems), start, end, slot)


def _period(alarm: Mapping[str, Any]) -> int | None:
    if alarm.get("Period"):
        return int(alarm["Period"])
    periods = {int(q["MetricStat"]["Period"]) for q in alarm.get("Metrics") or [] if q.get("MetricStat")}
    return periods.pop() if len(periods) == 1 else None


def _differences(actual: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    return [k for k in sorted(set(actual) | set(wanted)) if actual.get(k) != wanted.get(k)]


def _check(d: AlarmDefinition, alarm: Mapping[str, Any] | None, topic: str | None) -> AlarmCheck:
    if alarm is None:
        return AlarmCheck(
            d.name,
            d.alarm_name,
            False,
            None,
            d.threshold.value,
            d.unit,
            d.threshold.source,
            None,
            None,
            None,
            None,
            (),
            topic,
            False,
            False,
            (f"alarm {d.alarm_name} does not exist",),
        )
    problems: list[str] = []
    threshold = alarm.get("Threshold")
    if threshold is None or float(threshold) != d.threshold.value:
        problems.append(
            f"threshold {threshold} differs from the feature's {d.threshold.value:g} ({d.threshold.source})"
        )
    if alarm.get("ComparisonOperator") != d.comparison:
        problems.append(f"comparison {alarm.get('ComparisonOperator')} is not {d.comparison}")
    actions = tuple(alarm.get("AlarmActions") or ())
    notifies = bool(topic) and topic in actions and bool(alarm.get("ActionsEnabled", True))
    if topic is None:
        problems.append("the on-call topic does not exist")
    elif not notifies:
        problems.append(f"does not notify the on-call topic {topic} (actions {list(actions)})")
    actual, wanted = normalise_alarm(alarm), d.normalised()
    matches = actual == wanted
    if not matches:
        problems.append("differs from its definition in " + ", ".join(_differences(actual, wanted)))
    return AlarmCheck(
        name=d.name,
        alarm_name=d.alarm_name,
        exists=True,
        threshold=float(threshold) if threshold is not None else None,
        expected_threshold=d.threshold.value,
        unit=d.unit,
        threshold_source=d.threshold.source,
        comparison=alarm.get("ComparisonOperator"),
        period_s=_period(alarm),
        evaluation_periods=alarm.get("EvaluationPeriods"),
        datapoints_to_alarm=alarm.get("DatapointsToAlarm"),
        actions=actions,
        topic_arn=topic,
        notifies_topic=notifies,
        matches_definition=matches,
        problems=tuple(problems),
    )


def verify_alarms(
    clients: AwsClients, cfg: MonitoringConfig, *, thresholds: Thresholds | None = None
) -> tuple[AlarmCheck, ...]:
    """Each alarm of the feature: exists, threshold as the feature says, notifies the topic, as defined."""
    th = thresholds or load_thresholds(cfg.features_dir)
    try:
        budget, _ = resolve_budget(clients, cfg)
        topic = find_topic(clients.sns, cfg.topic_name)
        definitions = alarm_definitions(
            cfg, topic_arn=topic or f"missing:{cfg.topic_name}", budget_usd=budget, thresholds=th
        )
        names = [d.alarm_name for d in definitions]
        response = clients.cloudwatch.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm"])
    except (ClientError, BotoCoreError, MonitoringError) as exc:
        why = str(exc) if isinstance(exc, MonitoringError) else api_error(exc)
        return tuple(
            AlarmCheck(
                name,
                cfg.alarm_name(name),
                False,
                None,
                th.alarm(name).value,
                th.alarm(name).unit,
                th.alarm(name).source,
                None,
                None,
                None,
                None,
                (),
                None,
                False,
                False,
                (f"could not read the alarms: {why}",),
            )
            for name in th.alarms
        )
    existing = {a["AlarmName"]: a for a in response.get("MetricAlarms", [])}
    return tuple(_check(d, existing.get(d.alarm_name), topic) for d in definitions)


def release_metric_keys(namespace: str, slot: str, *, traffic: bool = True) -> tuple[MetricKey, ...]:
    """The metrics only the slot's own process publishes (dimension Slot): what proves it reports."""
    keys = [
        *(
            MetricKey.of(namespace, "ComponentHealthy", {"Slot": slot, "Component": c})
            for c in COMPONENT_NAMES
        ),
        *(MetricKey.of(namespace, "CircuitState", {"Slot": slot, "Circuit": c}) for c in CIRCUITS),
        *(MetricKey.of(namespace, "FlagEnabled", {"Slot": slot, "Flag": f}) for f in FLAGS),
        MetricKey.of(namespace, "FlagStoreDegraded", {"Slot": slot}),
        MetricKey.of(namespace, "BudgetSpentUSD", {"Slot": slot}),
    ]
    if traffic:
        keys += [
            MetricKey.of(namespace, "Requests", {"Slot": slot, "Status": "ok"}),
            MetricKey.of(namespace, "RequestLatency", {"Slot": slot}),
        ]
    return tuple(keys)


def check_metrics_readable(
    cw: Any,
    namespace: str,
    slot: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    require_traffic: bool = True,
) -> MetricsReadable:
    """The new release's metrics (its slot's gauges, and with traffic its request metrics) are readable.

    ``since`` should be when the slot started serving the new release: CloudWatch has no release
    dimension, and the slot may have run the previous release before (default: 15 minutes back).
    """
    start, end = _window(since, until, _RELEASE_LOOKBACK)
    keys = release_metric_keys(namespace, slot, traffic=require_traffic)
    presence, errors = _presence(cw, keys, start, end)
    metrics = tuple(presence[k] for k in keys)
    problems = list(errors)
    for m in metrics:
        if m.datapoints > 0:
            continue
        known = "is not listed by CloudWatch" if m.listed is False else "has no datapoints"
        problems.append(f"{m.key.label()} {known} since {start.isoformat()}")
    return MetricsReadable(namespace, slot, metrics, tuple(problems), start, end)


def check_dashboard_readable(cw: Any, name: str = OPERATIONS_DASHBOARD) -> DashboardReadable:
    """A pre-existing dashboard (the MCP tier's operations dashboard) exists, parses, has widgets."""
    body, problems = _get_body(cw, name)
    if body is None:
        return DashboardReadable(name, False, 0, (), tuple(problems))
    widgets = [w for w in body.get("widgets", []) if isinstance(w, dict)]
    titles = tuple(str((w.get("properties") or {}).get("title", "")) for w in widgets)
    if not widgets and not problems:
        problems.append(f"dashboard {name} has no widgets")
    return DashboardReadable(name, True, len(widgets), titles, tuple(problems))


def release_live_since(journal: Path | str, slot: str) -> datetime | None:
    """When ``slot`` last got a release, from a deploy journal (``slot_release_set``); else the run's start.

    CloudWatch has no release dimension: data of the slot after this moment is the new release's.
    """
    path = Path(journal)
    if path.is_dir():
        path = path / "audit.jsonl"
    if not path.is_file():
        return None
    first: datetime | None = None
    live: datetime | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            ts = datetime.fromisoformat(str(record["ts"]).replace("Z", "+00:00")).astimezone(UTC)
        except (ValueError, KeyError, TypeError):
            continue
        first = first or ts
        data = record.get("data") or {}
        if record.get("action") == "slot_release_set" and data.get("slot") == slot:
            live = ts
    return live or first


def validation_ended_at(journal: Path | str) -> datetime | None:
    """When phase 6 (production validation) last finished, from a deploy journal; None if it has not.

    Phase 6's scenarios open the Bedrock circuit and have a compliance violation blocked on purpose:
    the event alarms are evaluated after this moment (``evaluate_alarms(probes_ended=...)``). A
    journal that does not parse raises (AuditTrailError): nothing is excluded on a guess.
    """
    path = Path(journal)
    if path.is_dir():
        path = path / JOURNAL_NAME
    phase6 = fold(read(path)).phases.get(6)
    return parse_ts(phase6.finished_at) if phase6 and phase6.finished_at else None
