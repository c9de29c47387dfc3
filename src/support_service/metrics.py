"""Prometheus metrics of one slot; names and labels are the contract (docs/contracts.md).

Each service instance has its own registry so that tests can build many apps in one process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

__all__ = ["COST_ROUTES", "LATENCY_BUCKETS_S", "PrometheusMetrics"]

# The routes that can cost money (support_service.routing.Route's values: a model call or a tool call).
COST_ROUTES = ("direct", "mcp")

# The ``*_created`` series double the exposition and no gate or dashboard reads them.
disable_created_metrics()

# Bucket bounds include the plan's SLO thresholds (300 ms cached, 1.5 s generation), so "P95 at most
# the threshold" is decidable exactly from the histogram.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)


class PrometheusMetrics:
    """The contract's metrics, registered in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.request_duration = Histogram(
            "support_request_duration_seconds",
            "Support operation latency",
            ["operation", "route"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.requests = Counter(
            "support_requests_total",
            "Support operations by outcome",
            ["operation", "route", "status"],
            registry=r,
        )
        self.route_decisions = Counter(
            "support_route_decisions_total", "Routing decisions", ["operation", "route", "reason"], registry=r
        )
        self.cache_requests = Counter(
            "support_cache_requests_total", "Response cache lookups", ["query_class", "result"], registry=r
        )
        self.bedrock_tokens = Counter(
            "support_bedrock_tokens_total", "Bedrock tokens used", ["direction"], registry=r
        )
        self.cost_usd = Counter("support_cost_usd_total", "Model cost in USD", ["route"], registry=r)
        # Every route's spend is a sample from the start (0 is a reading): a scrape without the series
        # is a slot that does not account its cost, which the cost gate refuses to read as no spend.
        for route in COST_ROUTES:
            self.cost_usd.labels(route=route)
        self.circuit_state = Gauge(
            "support_circuit_state", "Circuit state: 0 closed, 1 half-open, 2 open", ["circuit"], registry=r
        )
        self.flag_enabled = Gauge("support_flag_enabled", "Feature flag value (1 on)", ["flag"], registry=r)
        self.flag_store_degraded = Gauge(
            "support_flag_store_degraded",
            "1 while the flag store is unreachable or holds a bad value",
            registry=r,
        )
        self.component_healthy = Gauge(
            "support_component_healthy",
            "1 when the component is active and its probe passes",
            ["component"],
            registry=r,
        )
        self.compliance_violations = Counter(
            "support_compliance_violations_total", "Blocked compliance violations", ["rule"], registry=r
        )
        self.pii_redactions = Counter(
            "support_pii_redactions_total", "PII occurrences redacted", ["kind"], registry=r
        )
        # Addition to the contract: CloudWatch publishing failures are counted, never raised.
        self.cloudwatch_failures = Counter(
            "support_cloudwatch_publish_failures_total", "Failed CloudWatch PutMetricData batches", registry=r
        )
