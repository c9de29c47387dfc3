"""Helpers of the monitoring integration tests (a uniquely named module: ``conftest`` is ambiguous).

``Slot`` is one slot's telemetry wired as the service wires it: Prometheus and CloudWatch from the
same calls, the gauges with values the test controls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bedrock_release.monitoring import AwsClients
from bedrock_release.monitoring.catalogue import CIRCUITS, COMPONENT_NAMES, FLAGS
from support_service.cloudwatch import CloudWatchPublisher, GaugeSample
from support_service.metrics import PrometheusMetrics
from support_service.telemetry import Telemetry

REPO = Path(__file__).resolve().parents[3]
NAMESPACE = "BedrockSupport/local"
REGION = "eu-central-1"


@dataclass
class Slot:
    """One slot's telemetry as the service wires it: Prometheus and CloudWatch from the same calls."""

    name: str
    clients: AwsClients
    metrics: PrometheusMetrics = field(default_factory=PrometheusMetrics)
    unhealthy: set[str] = field(default_factory=set)
    circuits: dict[str, float] = field(default_factory=dict)
    spent_usd: float = 0.0

    def __post_init__(self) -> None:
        self.publisher = CloudWatchPublisher(
            self.clients.cloudwatch, NAMESPACE, interval_s=3600, gauges=self._gauges
        )
        self.telemetry = Telemetry(self.metrics, self.name, self.publisher)

    def _gauges(self) -> Iterable[GaugeSample]:
        # The gauges of support_service.service._gauges, with values the test controls.
        for flag in FLAGS:
            yield GaugeSample("FlagEnabled", {"Slot": self.name, "Flag": flag}, 1.0)
        yield GaugeSample("FlagStoreDegraded", {"Slot": self.name}, 0.0)
        for circuit in CIRCUITS:
            state = self.circuits.get(circuit, 0.0)
            yield GaugeSample("CircuitState", {"Slot": self.name, "Circuit": circuit}, state)
        for component in COMPONENT_NAMES:
            healthy = 0.0 if component in self.unhealthy else 1.0
            yield GaugeSample("ComponentHealthy", {"Slot": self.name, "Component": component}, healthy)
        yield GaugeSample("BudgetSpentUSD", {"Slot": self.name}, self.spent_usd)

    def traffic(self, operation: str, route: str, count: int, latency_ms: float, *, errors: int = 0) -> None:
        """``count`` operations of one kind (``errors`` of them failed), as the manager reports them."""
        for i in range(count):
            status = "error" if i < errors else "ok"
            self.telemetry.decision(
                operation, route, "generation_direct" if route == "direct" else "cache_hit"
            )
            self.telemetry.operation(operation, route, status, latency_ms / 1000)
            if route == "cache":
                self.telemetry.cache_lookup("frequent", "hit")

    def healthy_traffic(self) -> None:
        """Enough of everything for every alarm to be decidable."""
        self.traffic("generation", "direct", 250, 420.0)
        self.traffic("routine", "cache", 250, 12.0)
        self.traffic("routine", "mcp", 500, 150.0, errors=2)
        self.telemetry.bedrock_usage(1000, 500, 0.25, "direct")
        self.spent_usd = 0.25

    def flush(self) -> None:
        """Publish now (the service does this every interval)."""
        result = self.publisher.flush()
        assert result.failed_batches == 0, self.publisher.last_error
