"""The alarms of plan phase 7 as data: metrics, expression, threshold (from the features), action.

Each alarm carries its CloudWatch form (``put_kwargs``) and the kind of its expression, whose Python
twin (``evaluate.apply_kind``) computes the same value from the fetched series: moto evaluates no
metric math and no alarm, so our evaluation must not depend on CloudWatch doing it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bedrock_release.monitoring.catalogue import CIRCUITS, COMPONENT_NAMES, SLOTS, MetricKey
from bedrock_release.monitoring.config import MonitoringConfig
from bedrock_release.monitoring.thresholds import FeatureThreshold, Thresholds, load_thresholds

__all__ = [
    "ALARM_NAMES",
    "EVENT_PERIOD_S",
    "MIN_PERCENTILE_SAMPLES",
    "AlarmDefinition",
    "AlarmKind",
    "MetricQuery",
    "alarm_definitions",
    "canary_definition",
    "normalise_alarm",
]

#: The alarms of features/monitoring.feature, in the order the feature lists them.
ALARM_NAMES = (
    "p95-latency-generation",
    "p95-latency-cached",
    "error-rate",
    "cost-budget",
    "compliance-violations",
    "pii-leak",
    "health-check-failures",
    "circuit-open",
)

#: CloudWatch's own bar for a trustworthy percentile: 10 / (1 - q) samples, 200 for the p95
#: (the threshold of EvaluateLowSampleCountPercentile). Fewer samples: INSUFFICIENT_DATA.
MIN_PERCENTILE_SAMPLES = 200

_LATENCY_PERIOD_S = 300
_RATE_PERIOD_S = 300  # the plan's 5-minute window for the error rate
EVENT_PERIOD_S = 60  # the event alarms: violations, PII, unhealthy components, open circuits
_UNHEALTHY_BELOW = 1.0  # ComponentHealthy: 1 healthy, 0 not
_OPEN_AT_LEAST = 2.0  # CircuitState: 0 closed, 1 half-open, 2 open
_MAX_ALARM_METRICS = 10  # CloudWatch: a metric-math alarm may retrieve at most 10 metrics


class AlarmKind(enum.StrEnum):
    """How an alarm's value is computed from its metrics (the expression's Python twin)."""

    MAX_PERCENTILE = "max_percentile"  # MAX of per-series percentiles
    ERROR_RATE = "error_rate"  # 100 * err / (err + ok), err missing = 0
    BUDGET_SHARE = "budget_share"  # 100 * SUM(spend per slot) / budget
    EVENT_COUNT = "event_count"  # SUM of counts, missing = 0 while the publisher is alive
    UNHEALTHY_COUNT = "unhealthy_count"  # components whose Minimum is below 1
    OPEN_COUNT = "open_count"  # circuits whose Maximum is 2 (open)


@dataclass(frozen=True)
class MetricQuery:
    """One metric an alarm or widget retrieves: id, exact metric, statistic, period."""

    id: str
    key: MetricKey
    stat: str
    period_s: int
    label: str = ""

    @property
    def quantile(self) -> float | None:
        """0.95 for "p95"; None for a plain statistic."""
        if self.stat.startswith("p"):
            return float(self.stat[1:]) / 100
        return None

    def metric_stat(self) -> dict[str, Any]:
        """The MetricStat structure of GetMetricData / PutMetricAlarm."""
        return {
            "Metric": {
                "Namespace": self.key.namespace,
                "MetricName": self.key.name,
                "Dimensions": self.key.api_dimensions(),
            },
            "Period": self.period_s,
            "Stat": self.stat,
        }

    def to_api(self, *, return_data: bool) -> dict[str, Any]:
        """A MetricDataQuery."""
        query: dict[str, Any] = {"Id": self.id, "MetricStat": self.metric_stat(), "ReturnData": return_data}
        if self.label:
            query["Label"] = self.label
        return query


@dataclass(frozen=True)
class AlarmDefinition:
    """One alarm: its CloudWatch form and what our evaluation needs to reproduce it."""

    name: str  # the feature's name ("error-rate")
    alarm_name: str  # with the environment prefix
    kind: AlarmKind
    description: str
    threshold: FeatureThreshold
    metrics: tuple[MetricQuery, ...]
    expression: str | None  # None: a single-metric alarm on metrics[0]
    period_s: int
    treat_missing_data: str
    actions: tuple[str, ...]
    min_samples: int = 1
    budget_usd: float | None = None  # BUDGET_SHARE only
    heartbeat: MetricQuery | None = None  # EVENT_COUNT: proof the publisher is alive
    required: tuple[str, ...] = ()  # metric ids that must have data in the window
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    comparison: str = "GreaterThanThreshold"

    def __post_init__(self) -> None:
        if self.expression is None and len(self.metrics) != 1:
            raise ValueError(f"alarm {self.name}: a single-metric alarm needs exactly one metric")
        if len(self.metrics) > _MAX_ALARM_METRICS:
            raise ValueError(
                f"alarm {self.name}: {len(self.metrics)} metrics > CloudWatch's {_MAX_ALARM_METRICS}"
            )
        if self.kind is AlarmKind.BUDGET_SHARE and not (self.budget_usd and self.budget_usd > 0):
            raise ValueError(f"alarm {self.name}: the budget must be > 0")

    @property
    def unit(self) -> str:
        """Unit of the threshold ("ms", "percent", "count")."""
        return self.threshold.unit

    def put_kwargs(self) -> dict[str, Any]:
        """The PutMetricAlarm request."""
        kwargs: dict[str, Any] = {
            "AlarmName": self.alarm_name,
            "AlarmDescription": self.description,
            "ActionsEnabled": True,
            "AlarmActions": list(self.actions),
            "OKActions": [],
            "InsufficientDataActions": [],
            "ComparisonOperator": self.comparison,
            "Threshold": float(self.threshold.value),
            "EvaluationPeriods": self.evaluation_periods,
            "DatapointsToAlarm": self.datapoints_to_alarm,
            "TreatMissingData": self.treat_missing_data,
        }
        if self.expression is None:
            metric = self.metrics[0]
            kwargs.update(
                Namespace=metric.key.namespace,
                MetricName=metric.key.name,
                Dimensions=metric.key.api_dimensions(),
                Period=metric.period_s,
            )
            if metric.quantile is not None:
                kwargs["ExtendedStatistic"] = metric.stat
                kwargs["EvaluateLowSampleCountPercentile"] = "ignore"
            else:
                kwargs["Statistic"] = metric.stat
        else:
            kwargs["Metrics"] = [
                {"Id": "e1", "Expression": self.expression, "Label": self.name, "ReturnData": True},
                *(m.to_api(return_data=False) for m in self.metrics),
            ]
        return kwargs

    def normalised(self) -> dict[str, Any]:
        """The comparable form of the request (what ``normalise_alarm`` makes of DescribeAlarms)."""
        return normalise_alarm(self.put_kwargs())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for evidence."""
        return {
            "name": self.name,
            "alarm_name": self.alarm_name,
            "kind": self.kind.value,
            "threshold": self.threshold.to_dict(),
            "comparison": self.comparison,
            "period_s": self.period_s,
            "evaluation_periods": self.evaluation_periods,
            "datapoints_to_alarm": self.datapoints_to_alarm,
            "treat_missing_data": self.treat_missing_data,
            "expression": self.expression,
            "metrics": [{"id": m.id, "stat": m.stat, **m.key.to_dict()} for m in self.metrics],
            "actions": list(self.actions),
            "min_samples": self.min_samples,
        }


def _dims(raw: Iterable[Mapping[str, Any]] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(d["Name"]), str(d["Value"])) for d in raw or ()))


def normalise_alarm(alarm: Mapping[str, Any]) -> dict[str, Any]:
    """A PutMetricAlarm request or a DescribeAlarms entry, reduced to what defines the alarm.

    Defaults CloudWatch (or moto) leaves out are filled in, lists are sorted, and a query's
    ReturnData only counts where it is true (moto omits false).
    """
    out: dict[str, Any] = {
        "AlarmName": alarm.get("AlarmName"),
        "AlarmDescription": alarm.get("AlarmDescription") or "",
        "ActionsEnabled": bool(alarm.get("ActionsEnabled", True)),
        "AlarmActions": sorted(alarm.get("AlarmActions") or []),
        "OKActions": sorted(alarm.get("OKActions") or []),
        "InsufficientDataActions": sorted(alarm.get("InsufficientDataActions") or []),
        "ComparisonOperator": alarm.get("ComparisonOperator"),
        "Threshold": float(alarm["Threshold"]) if alarm.get("Threshold") is not None else None,
        "EvaluationPeriods": alarm.get("EvaluationPeriods"),
        "DatapointsToAlarm": alarm.get("DatapointsToAlarm") or alarm.get("EvaluationPeriods"),
        "TreatMissingData": alarm.get("TreatMissingData") or "missing",
    }
    metrics = alarm.get("Metrics") or []
    if metrics:
        queries = []
        for q in metrics:
            item: dict[str, Any] = {"Id": q.get("Id"), "ReturnData": q.get("ReturnData") is True}
            if q.get("Expression"):
                item["Expression"] = q["Expression"]
                item["Label"] = q.get("Label") or ""
            stat = q.get("MetricStat")
            if stat:
                metric = stat.get("Metric", {})
                item["MetricStat"] = {
                    "Namespace": metric.get("Namespace"),
                    "MetricName": metric.get("MetricName"),
                    "Dimensions": _dims(metric.get("Dimensions")),
                    "Period": int(stat.get("Period") or 0),
                    "Stat": stat.get("Stat"),
                }
            queries.append(item)
        out["Metrics"] = sorted(queries, key=lambda q: str(q["Id"]))
    else:
        out.update(
            Namespace=alarm.get("Namespace"),
            MetricName=alarm.get("MetricName"),
            Dimensions=_dims(alarm.get("Dimensions")),
            Period=alarm.get("Period"),
            Statistic=alarm.get("Statistic"),
            ExtendedStatistic=alarm.get("ExtendedStatistic"),
        )
    return out


# --- the eight alarms ---------------------------------------------------------------------------------


def _q(qid: str, ns: str, name: str, dims: Mapping[str, str], *, stat: str, period: int) -> MetricQuery:
    key = MetricKey.of(ns, name, dims)
    return MetricQuery(qid, key, stat, period, label=key.label())


def _latency(cfg: MonitoringConfig, pairs: Sequence[tuple[str, str]]) -> tuple[MetricQuery, ...]:
    ns = cfg.namespace
    return tuple(
        _q(
            f"{op[:3]}_{route}",
            ns,
            "RequestLatency",
            {"Operation": op, "Route": route},
            stat="p95",
            period=_LATENCY_PERIOD_S,
        )
        for op, route in pairs
    )


def _array(metrics: Sequence[MetricQuery]) -> str:
    return "[" + ", ".join(m.id for m in metrics) + "]"


def alarm_definitions(
    cfg: MonitoringConfig,
    *,
    topic_arn: str,
    budget_usd: float | None = None,
    thresholds: Thresholds | None = None,
) -> tuple[AlarmDefinition, ...]:
    """The eight alarms of the plan for this environment, each notifying ``topic_arn``."""
    th = thresholds or load_thresholds(cfg.features_dir)
    budget = budget_usd if budget_usd is not None else cfg.budget_usd
    if budget is None or not budget > 0:
        raise ValueError("the cost alarm needs the allocated budget (> 0); resolve it first")
    ns, slot, actions = cfg.namespace, cfg.release_slot, (topic_arn,)

    def alarm(name: str, kind: AlarmKind, description: str, **kw: Any) -> AlarmDefinition:
        return AlarmDefinition(
            name=name,
            alarm_name=cfg.alarm_name(name),
            kind=kind,
            description=f"{description}; threshold from features/monitoring.feature",
            threshold=th.alarm(name),
            actions=actions,
            **kw,
        )

    gen = _latency(cfg, [("generation", "direct"), ("generation", "mcp"), ("generation", "cache")])
    cached = _latency(cfg, [("routine", "cache"), ("generation", "cache")])
    err = _q("err", ns, "Requests", {"Status": "error"}, stat="Sum", period=_RATE_PERIOD_S)
    ok = _q("ok", ns, "Requests", {"Status": "ok"}, stat="Sum", period=_RATE_PERIOD_S)
    spend = tuple(
        _q(f"spend_{s}", ns, "BudgetSpentUSD", {"Slot": s}, stat="Maximum", period=_LATENCY_PERIOD_S)
        for s in SLOTS
    )
    rules = ("bedrock_region", "customer_region", "pii_in_model_payload")
    violations = tuple(
        _q(f"v_{r}", ns, "ComplianceViolations", {"Rule": r}, stat="Sum", period=EVENT_PERIOD_S)
        for r in rules
    )
    pii = _q(
        "pii",
        ns,
        "ComplianceViolations",
        {"Rule": "pii_in_model_payload"},
        stat="Sum",
        period=EVENT_PERIOD_S,
    )
    heartbeat = _q("alive", ns, "BudgetSpentUSD", {"Slot": slot}, stat="SampleCount", period=EVENT_PERIOD_S)
    health = tuple(
        _q(
            f"h{i}",
            ns,
            "ComponentHealthy",
            {"Slot": slot, "Component": c},
            stat="Minimum",
            period=EVENT_PERIOD_S,
        )
        for i, c in enumerate(COMPONENT_NAMES)
    )
    circuits = tuple(
        _q(f"c_{c}", ns, "CircuitState", {"Slot": slot, "Circuit": c}, stat="Maximum", period=EVENT_PERIOD_S)
        for c in CIRCUITS
    )
    release_spend = f"spend_{slot}"
    return (
        alarm(
            "p95-latency-generation",
            AlarmKind.MAX_PERCENTILE,
            "P95 latency of generation requests (max over their routes; an upper bound of the overall P95)",
            metrics=gen,
            expression=f"MAX({_array(gen)})",
            period_s=_LATENCY_PERIOD_S,
            treat_missing_data="missing",
            min_samples=MIN_PERCENTILE_SAMPLES,
        ),
        alarm(
            "p95-latency-cached",
            AlarmKind.MAX_PERCENTILE,
            "P95 latency of cached requests (max over the cacheable operations)",
            metrics=cached,
            expression=f"MAX({_array(cached)})",
            period_s=_LATENCY_PERIOD_S,
            treat_missing_data="missing",
            min_samples=MIN_PERCENTILE_SAMPLES,
        ),
        alarm(
            "error-rate",
            AlarmKind.ERROR_RATE,
            "Error rate of support operations in percent over 5 minutes",
            metrics=(err, ok),
            expression="100 * FILL(err, 0) / (FILL(err, 0) + FILL(ok, 0))",
            period_s=_RATE_PERIOD_S,
            treat_missing_data="missing",
            required=("ok",),
        ),
        alarm(
            "cost-budget",
            AlarmKind.BUDGET_SHARE,
            f"Spend (the slots' own cost accounting) in percent of the allocated budget {budget:g} USD",
            metrics=spend,
            expression=f"100 * SUM({_array(spend)}) / {budget!r}",
            period_s=_LATENCY_PERIOD_S,
            treat_missing_data="missing",
            budget_usd=budget,
            required=(release_spend,),
        ),
        alarm(
            "compliance-violations",
            AlarmKind.EVENT_COUNT,
            "Blocked compliance violations (residency, PII at a model boundary)",
            metrics=violations,
            expression=f"SUM({_array(violations)})",
            period_s=EVENT_PERIOD_S,
            treat_missing_data="notBreaching",
            heartbeat=heartbeat,
        ),
        alarm(
            "pii-leak",
            AlarmKind.EVENT_COUNT,
            "PII found in a payload bound for a model after redaction",
            metrics=(pii,),
            expression=None,
            period_s=EVENT_PERIOD_S,
            treat_missing_data="notBreaching",
            heartbeat=heartbeat,
        ),
        alarm(
            "health-check-failures",
            AlarmKind.UNHEALTHY_COUNT,
            f"Components of slot {slot} whose health probe failed",
            metrics=health,
            expression=f"{len(health)} - SUM({_array(health)})",
            period_s=EVENT_PERIOD_S,
            treat_missing_data="breaching",
            required=tuple(h.id for h in health),
        ),
        alarm(
            "circuit-open",
            AlarmKind.OPEN_COUNT,
            f"Open circuit breakers of slot {slot}",
            metrics=circuits,
            expression=" + ".join(f"IF({c.id} >= 2, 1, 0)" for c in circuits),
            period_s=EVENT_PERIOD_S,
            treat_missing_data="missing",
            required=tuple(c.id for c in circuits),
        ),
    )


def canary_definition(cfg: MonitoringConfig, *, topic_arn: str) -> dict[str, Any]:
    """PutMetricAlarm request of the alerting-path canary: a metric nobody publishes, never breaching."""
    return {
        "AlarmName": cfg.canary_alarm_name,
        "AlarmDescription": (
            "Canary of the alerting path (plan phase 4): raised only by the release pipeline's "
            "check with SetAlarmState. A test - no action needed."
        ),
        "ActionsEnabled": True,
        "AlarmActions": [topic_arn],
        "OKActions": [],
        "InsufficientDataActions": [],
        "Namespace": cfg.namespace,
        "MetricName": "AlertingCanary",
        "Dimensions": [],
        "Period": EVENT_PERIOD_S,
        "Statistic": "Maximum",
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 0.0,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "TreatMissingData": "notBreaching",
    }


#: Thresholds the Python twins use for the per-series test (documented in docs/monitoring.md).
TWIN_CONSTANTS: Mapping[str, float] = {"unhealthy_below": _UNHEALTHY_BELOW, "open_at_least": _OPEN_AT_LEAST}
