"""One place where the service reports what happened: Prometheus and CloudWatch from the same calls."""

from __future__ import annotations

from support_service.circuit import CircuitState
from support_service.cloudwatch import CloudWatchPublisher
from support_service.flags import FlagStoreStatus
from support_service.metrics import PrometheusMetrics

__all__ = ["Telemetry"]


class Telemetry:
    """Records operations, decisions, cache lookups, cost, compliance and state gauges."""

    def __init__(
        self, metrics: PrometheusMetrics, slot: str, cloudwatch: CloudWatchPublisher | None = None
    ) -> None:
        self.metrics = metrics
        self.slot = slot
        self.cloudwatch = cloudwatch
        self.component_health: dict[str, bool] = {}

    def operation(self, operation: str, route: str, status: str, duration_s: float) -> None:
        """One finished support operation (``status`` ok or error; ``route`` none when it never routed)."""
        self.metrics.requests.labels(operation=operation, route=route, status=status).inc()
        self.metrics.request_duration.labels(operation=operation, route=route).observe(duration_s)
        if self.cloudwatch:
            cw = self.cloudwatch
            cw.count("Requests", {"Operation": operation, "Route": route, "Status": status})
            cw.count("Requests", {"Status": status})
            cw.count("Requests", {"Slot": self.slot, "Status": status})
            cw.observe("RequestLatency", {"Operation": operation, "Route": route}, duration_s * 1000)
            cw.observe("RequestLatency", {"Slot": self.slot}, duration_s * 1000)

    def decision(self, operation: str, route: str, reason: str) -> None:
        """One routing decision (a fallback is a second decision of the same operation)."""
        self.metrics.route_decisions.labels(operation=operation, route=route, reason=reason).inc()
        if self.cloudwatch:
            self.cloudwatch.count(
                "RouteDecisions", {"Operation": operation, "Route": route, "Reason": reason}
            )

    def cache_lookup(self, query_class: str, result: str) -> None:
        """One cache hit or miss."""
        self.metrics.cache_requests.labels(query_class=query_class, result=result).inc()
        if self.cloudwatch:
            self.cloudwatch.count("CacheRequests", {"QueryClass": query_class, "Result": result})

    def bedrock_usage(self, input_tokens: int, output_tokens: int, cost_usd: float, route: str) -> None:
        """Token usage and cost of one model call."""
        self.metrics.bedrock_tokens.labels(direction="input").inc(input_tokens)
        self.metrics.bedrock_tokens.labels(direction="output").inc(output_tokens)
        self.metrics.cost_usd.labels(route=route).inc(cost_usd)
        if self.cloudwatch:
            self.cloudwatch.count("BedrockTokens", {"Direction": "input"}, input_tokens)
            self.cloudwatch.count("BedrockTokens", {"Direction": "output"}, output_tokens)
            self.cloudwatch.count("CostUSD", {"Route": route}, cost_usd, unit="None")

    def violation(self, rule: str) -> None:
        """One blocked compliance violation."""
        self.metrics.compliance_violations.labels(rule=rule).inc()
        if self.cloudwatch:
            self.cloudwatch.count("ComplianceViolations", {"Rule": rule})

    def redaction(self, kind: str) -> None:
        """One redacted PII occurrence."""
        self.metrics.pii_redactions.labels(kind=kind).inc()
        if self.cloudwatch:
            self.cloudwatch.count("PiiRedactions", {"Kind": kind})

    def circuit(self, name: str, state: CircuitState) -> None:
        """A circuit's current state."""
        self.metrics.circuit_state.labels(circuit=name).set(state.gauge_value)

    def flags(self, status: FlagStoreStatus) -> None:
        """The flag values and store health after a poll."""
        for flag, value in status.values.by_name().items():
            self.metrics.flag_enabled.labels(flag=flag).set(1 if value else 0)
        self.metrics.flag_store_degraded.set(1 if status.degraded else 0)

    def component(self, name: str, healthy: bool) -> None:
        """A component's health after a probe."""
        self.component_health[name] = healthy
        self.metrics.component_healthy.labels(component=name).set(1 if healthy else 0)
