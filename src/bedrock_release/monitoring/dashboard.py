"""The hybrid-routing dashboard as data, and reading the metrics back out of a dashboard body."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bedrock_release.monitoring.catalogue import CIRCUITS, SLOTS, MetricKey
from bedrock_release.monitoring.config import MonitoringConfig
from bedrock_release.monitoring.definitions import MetricQuery
from bedrock_release.monitoring.thresholds import Thresholds, load_thresholds
from support_service.budget import BudgetState
from support_service.circuit import CircuitState
from support_service.flags import FlagSnapshot
from support_service.routing import Operation, Reason, Residency, Route, RoutingInputs, decide

__all__ = [
    "DASHBOARD_WIDGETS",
    "DashboardDefinition",
    "Widget",
    "dashboard_definition",
    "route_combinations",
    "widget_metrics",
]

#: Widget titles, exactly as features/monitoring.feature lists them.
DASHBOARD_WIDGETS = (
    "latency by route",
    "error rate",
    "cost against budget",
    "cache hit rate",
    "route mix",
    "circuit breaker states",
)

_PERIOD_S = 60
_WIDTH, _HEIGHT = 12, 6


def route_combinations() -> tuple[tuple[str, str, str], ...]:
    """Every (operation, route, reason) the service can record, from the router itself.

    ``decide`` over all its inputs, plus ``fallback_from_direct`` (an MCP answer after a failed
    direct call) for every operation that can be routed direct.
    """
    combos: set[tuple[str, str, str]] = set()
    for op, bits, circuit, budget, residency, hit in itertools.product(
        Operation,
        itertools.product([False, True], repeat=5),
        CircuitState,
        BudgetState,
        Residency,
        [False, True],
    ):
        d = decide(RoutingInputs(op, FlagSnapshot(*bits), circuit, budget, residency, hit))
        combos.add((op.value, d.route.value, d.reason.value))
        if d.route is Route.DIRECT:
            combos.add((op.value, Route.MCP.value, Reason.FALLBACK_FROM_DIRECT.value))
    return tuple(sorted(combos))


@dataclass(frozen=True)
class Widget:
    """One graph: its metrics, optional metric-math lines, and threshold lines."""

    title: str
    metrics: tuple[MetricQuery, ...]
    expressions: tuple[tuple[str, str, str], ...] = ()  # (id, expression, label)
    annotations: tuple[tuple[str, float], ...] = ()  # (label, value)
    stacked: bool = False
    hide_metrics: bool = False  # show only the expressions
    y_label: str = ""

    def body(self, region: str, x: int, y: int) -> dict[str, Any]:
        """The widget's JSON (CloudWatch dashboard body structure)."""
        lines: list[list[Any]] = [
            [{"expression": expr, "id": eid, "label": label}] for eid, expr, label in self.expressions
        ]
        for m in self.metrics:
            row: list[Any] = [m.key.namespace, m.key.name]
            for k, v in m.key.dimensions:
                row += [k, v]
            options: dict[str, Any] = {"id": m.id, "stat": m.stat, "label": m.label}
            if self.hide_metrics:
                options["visible"] = False
            lines.append([*row, options])
        properties: dict[str, Any] = {
            "title": self.title,
            "view": "timeSeries",
            "stacked": self.stacked,
            "region": region,
            "period": _PERIOD_S,
            "metrics": lines,
        }
        if self.annotations:
            properties["annotations"] = {
                "horizontal": [{"label": label, "value": value} for label, value in self.annotations]
            }
        if self.y_label:
            properties["yAxis"] = {"left": {"label": self.y_label, "showUnits": False}}
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": _WIDTH,
            "height": _HEIGHT,
            "properties": properties,
        }


@dataclass(frozen=True)
class DashboardDefinition:
    """A dashboard: its name, region and widgets."""

    name: str
    region: str
    widgets: tuple[Widget, ...] = field(default_factory=tuple)

    def body(self) -> dict[str, Any]:
        """The dashboard body as a dict (two widgets per row)."""
        return {
            "widgets": [
                w.body(self.region, x=(i % 2) * _WIDTH, y=(i // 2) * _HEIGHT)
                for i, w in enumerate(self.widgets)
            ]
        }

    def body_json(self) -> str:
        """The body as PutDashboard takes it (canonical JSON, so equal bodies compare equal)."""
        return json.dumps(self.body(), sort_keys=True, separators=(",", ":"))

    def metric_keys(self) -> tuple[MetricKey, ...]:
        """Every metric any widget retrieves."""
        return tuple(m.key for w in self.widgets for m in w.metrics)


def _q(qid: str, ns: str, name: str, dims: Mapping[str, str], *, stat: str, label: str = "") -> MetricQuery:
    key = MetricKey.of(ns, name, dims)
    return MetricQuery(qid, key, stat, _PERIOD_S, label=label or key.label())


def dashboard_definition(
    cfg: MonitoringConfig, *, budget_usd: float | None = None, thresholds: Thresholds | None = None
) -> DashboardDefinition:
    """The hybrid-routing dashboard: the six widgets of the feature, on the service's real metrics."""
    th = thresholds or load_thresholds(cfg.features_dir)
    budget = budget_usd if budget_usd is not None else cfg.budget_usd
    if budget is None or not budget > 0:
        raise ValueError("the cost widget needs the allocated budget (> 0); resolve it first")
    ns = cfg.namespace
    combos = route_combinations()
    pairs = sorted({(op, route) for op, route, _ in combos})

    latency = Widget(
        DASHBOARD_WIDGETS[0],
        tuple(
            _q(
                f"l{i}",
                ns,
                "RequestLatency",
                {"Operation": op, "Route": route},
                stat="p95",
                label=f"{op} via {route} p95",
            )
            for i, (op, route) in enumerate(pairs)
        ),
        annotations=(
            ("P95 generation", th.alarm("p95-latency-generation").value),
            ("P95 cached", th.alarm("p95-latency-cached").value),
        ),
        y_label="ms",
    )
    error_rate = Widget(
        DASHBOARD_WIDGETS[1],
        (
            _q("err", ns, "Requests", {"Status": "error"}, stat="Sum", label="errors"),
            _q("ok", ns, "Requests", {"Status": "ok"}, stat="Sum", label="ok"),
        ),
        expressions=(("rate", "100 * FILL(err, 0) / (FILL(err, 0) + FILL(ok, 0))", "error rate %"),),
        annotations=(("error rate limit %", th.alarm("error-rate").value),),
        hide_metrics=True,
        y_label="percent",
    )
    share = th.alarm("cost-budget").value
    cost = Widget(
        DASHBOARD_WIDGETS[2],
        (
            *(
                _q(
                    f"spent_{s}",
                    ns,
                    "BudgetSpentUSD",
                    {"Slot": s},
                    stat="Maximum",
                    label=f"spent by {s} (USD)",
                )
                for s in SLOTS
            ),
            *(
                _q(f"cost_{r}", ns, "CostUSD", {"Route": r}, stat="Sum", label=f"cost via {r} (USD)")
                for r in ("direct", "mcp")
            ),
        ),
        annotations=(
            (f"{share:g}% of budget", round(budget * share / 100, 6)),
            ("allocated budget", float(budget)),
        ),
        y_label="USD",
    )
    cache = Widget(
        DASHBOARD_WIDGETS[3],
        (
            _q(
                "hit",
                ns,
                "CacheRequests",
                {"QueryClass": "frequent", "Result": "hit"},
                stat="Sum",
                label="frequent hits",
            ),
            _q(
                "miss",
                ns,
                "CacheRequests",
                {"QueryClass": "frequent", "Result": "miss"},
                stat="Sum",
                label="frequent misses",
            ),
        ),
        expressions=(("hitrate", "100 * hit / (hit + miss)", "frequent-query hit rate %"),),
        annotations=(("hit rate target %", th.gate("cache-hit-rate").value),),
        hide_metrics=True,
        y_label="percent",
    )
    mix = Widget(
        DASHBOARD_WIDGETS[4],
        tuple(
            _q(
                f"d{i}",
                ns,
                "RouteDecisions",
                {"Operation": op, "Route": route, "Reason": reason},
                stat="Sum",
                label=f"{op} -> {route} ({reason})",
            )
            for i, (op, route, reason) in enumerate(combos)
        ),
        stacked=True,
        y_label="decisions",
    )
    circuits = Widget(
        DASHBOARD_WIDGETS[5],
        tuple(
            _q(f"c_{s}_{c}", ns, "CircuitState", {"Slot": s, "Circuit": c}, stat="Maximum", label=f"{s} {c}")
            for s in SLOTS
            for c in CIRCUITS
        ),
        annotations=(("open", 2.0), ("half-open", 1.0)),
        y_label="0 closed, 1 half-open, 2 open",
    )
    return DashboardDefinition(
        cfg.dashboard_name, cfg.region, (latency, error_rate, cost, cache, mix, circuits)
    )


def _row_metric(row: Sequence[Any], previous: Sequence[Any] | None) -> tuple[str, str, dict[str, str]] | None:
    items = [x for x in row if not isinstance(x, dict)]
    if not items:
        return None  # an expression line
    # "." repeats the value at the same position of the previous line (dashboard shorthand).
    resolved = [
        (previous[i] if x == "." and previous is not None and i < len(previous) else x)
        for i, x in enumerate(items)
    ]
    if len(resolved) < 2 or len(resolved) % 2:
        raise ValueError(f"malformed metric line {row!r}")
    ns, name, *dims = resolved
    return str(ns), str(name), {str(dims[i]): str(dims[i + 1]) for i in range(0, len(dims), 2)}


def widget_metrics(widget: Mapping[str, Any]) -> tuple[MetricKey, ...]:
    """The metrics one widget of a dashboard body retrieves (expressions are skipped)."""
    out: list[MetricKey] = []
    previous: list[Any] | None = None
    for row in (widget.get("properties") or {}).get("metrics") or []:
        parsed = _row_metric(row, previous)
        if parsed is not None:
            ns, name, dims = parsed
            out.append(MetricKey.of(ns, name, dims))
            previous = [x for x in row if not isinstance(x, dict)]
    return tuple(out)


def widget_titles(body: Mapping[str, Any]) -> tuple[str, ...]:
    """Titles of the widgets of a dashboard body."""
    return tuple(str((w.get("properties") or {}).get("title", "")) for w in _widgets(body))


def _widgets(body: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    widgets = body.get("widgets")
    if not isinstance(widgets, list):
        raise ValueError("dashboard body has no widgets list")
    return widgets
