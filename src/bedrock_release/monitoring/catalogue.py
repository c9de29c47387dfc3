"""What the support service publishes to CloudWatch: metric names, dimension sets, dimension values.

The table is docs/metrics.md's CloudWatch section (a unit test parses that page and compares); the
dimension values come from the service's own enums, so a widget or alarm can only name a series the
service can really publish. CloudWatch treats each dimension set as its own metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from support_service.compliance import ViolationRule
from support_service.components import COMPONENTS
from support_service.health import BEDROCK_CIRCUIT, MCP_CIRCUIT
from support_service.pii import PiiKind
from support_service.routing import Operation, Reason, Route

__all__ = [
    "CIRCUITS",
    "COMPONENT_NAMES",
    "DIMENSION_VALUES",
    "FLAGS",
    "PUBLISHED",
    "SLOTS",
    "MetricKey",
    "Published",
    "is_published",
    "published_problem",
]

SLOTS = ("blue", "green")
CIRCUITS = (BEDROCK_CIRCUIT, MCP_CIRCUIT)
COMPONENT_NAMES = tuple(spec.name for spec in COMPONENTS)
FLAGS = (
    "ENABLE_HYBRID_HEALTH_MONITORING",
    "ENABLE_BEDROCK_SUPPORT_MODE",
    "ENABLE_INTELLIGENT_ROUTING",
    "ENABLE_DIRECT_BEDROCK_FALLBACK",
    "ENABLE_PERFORMANCE_OPTIMIZATION",
)


@dataclass(frozen=True)
class Published:
    """One published metric shape: name, the exact dimension names, the unit."""

    name: str
    dimensions: frozenset[str]
    unit: str


def _p(name: str, dims: str, unit: str) -> Published:
    return Published(name, frozenset(d for d in dims.split(",") if d), unit)


#: docs/metrics.md, CloudWatch table, row by row.
PUBLISHED: tuple[Published, ...] = (
    _p("Requests", "Operation,Route,Status", "Count"),
    _p("Requests", "Status", "Count"),
    _p("Requests", "Slot,Status", "Count"),
    _p("RequestLatency", "Operation,Route", "Milliseconds"),
    _p("RequestLatency", "Slot", "Milliseconds"),
    _p("RouteDecisions", "Operation,Route,Reason", "Count"),
    _p("CacheRequests", "QueryClass,Result", "Count"),
    _p("BedrockTokens", "Direction", "Count"),
    _p("CostUSD", "Route", "None"),
    _p("ComplianceViolations", "Rule", "Count"),
    _p("PiiRedactions", "Kind", "Count"),
    _p("CircuitState", "Slot,Circuit", "None"),
    _p("FlagEnabled", "Slot,Flag", "None"),
    _p("FlagStoreDegraded", "Slot", "None"),
    _p("ComponentHealthy", "Slot,Component", "None"),
    _p("BudgetSpentUSD", "Slot", "None"),
)

#: The values each dimension can take (the Prometheus label values; Route adds "none").
DIMENSION_VALUES: Mapping[str, frozenset[str]] = {
    "Operation": frozenset(o.value for o in Operation),
    "Route": frozenset(r.value for r in Route) | {"none"},
    "Status": frozenset({"ok", "error"}),
    "Slot": frozenset(SLOTS),
    "Reason": frozenset(r.value for r in Reason),
    "QueryClass": frozenset({"frequent", "other"}),
    "Result": frozenset({"hit", "miss"}),
    "Direction": frozenset({"input", "output"}),
    "Rule": frozenset(r.value for r in ViolationRule),
    "Kind": frozenset(k.value for k in PiiKind),
    "Circuit": frozenset(CIRCUITS),
    "Flag": frozenset(FLAGS),
    "Component": frozenset(COMPONENT_NAMES),
}


@dataclass(frozen=True, order=True)
class MetricKey:
    """One CloudWatch metric: namespace, name and the exact dimension set (sorted by name)."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, namespace: str, name: str, dimensions: Mapping[str, str]) -> MetricKey:
        """Build a key; the dimension order never matters."""
        return cls(namespace, name, tuple(sorted(dimensions.items())))

    def api_dimensions(self) -> list[dict[str, str]]:
        """Dimensions as the CloudWatch API takes them (sorted by name, as the service sends them)."""
        return [{"Name": k, "Value": v} for k, v in self.dimensions]

    def label(self) -> str:
        """Short human form: ``Requests{Status=error}``."""
        return f"{self.name}{{{', '.join(f'{k}={v}' for k, v in self.dimensions)}}}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"namespace": self.namespace, "metric_name": self.name, "dimensions": dict(self.dimensions)}


def published_problem(key: MetricKey) -> str | None:
    """Why the service cannot publish this metric, or None when it can."""
    dims = frozenset(k for k, _ in key.dimensions)
    if not any(p.name == key.name and p.dimensions == dims for p in PUBLISHED):
        shapes = sorted(",".join(sorted(p.dimensions)) for p in PUBLISHED if p.name == key.name)
        if not shapes:
            return f"{key.label()}: the service publishes no metric named {key.name}"
        return f"{key.label()}: {key.name} is published with dimensions {' | '.join(shapes)} only"
    for k, v in key.dimensions:
        if v not in DIMENSION_VALUES[k]:
            return f"{key.label()}: {k}={v} is not a value the service publishes"
    return None


def is_published(key: MetricKey) -> bool:
    """True when the service publishes this exact metric (name, dimension set and values)."""
    return published_problem(key) is None
