"""Telemetry: the CloudWatch series the service publishes are exactly those of docs/metrics.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from svc_fakes import make_harness, operation

from support_service.app import create_app
from support_service.circuit import CircuitState
from support_service.metrics import PrometheusMetrics
from support_service.telemetry import Telemetry

DOC = Path(__file__).parents[3] / "docs" / "metrics.md"


class RecordingCloudWatch:
    def __init__(self) -> None:
        self.data: list[dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> None:
        self.data += kwargs["MetricData"]


def documented_series() -> set[tuple[str, tuple[str, ...]]]:
    section = DOC.read_text().split("## CloudWatch", 1)[1]
    series = set()
    for line in section.splitlines():
        match = re.match(r"\| `(\w+)` \| \w+ \| ([\w, ]+) \|", line)
        if match:
            series.add((match.group(1), tuple(sorted(d.strip() for d in match.group(2).split(",")))))
    return series


def test_published_series_match_the_documentation(tmp_path: Path) -> None:
    cloudwatch = RecordingCloudWatch()
    h = make_harness(tmp_path, cloudwatch_namespace="BedrockSupport/unit")
    h.service.cloudwatch._client = cloudwatch  # type: ignore[union-attr]
    with TestClient(create_app(service=h.service)) as client:
        h.flags(bedrock_support_mode=True, performance_optimization=True)
        client.post("/v1/support/operations", json=operation("emergency", "mail a@b.io", region="us-east-1"))
        client.post("/v1/support/operations", json=operation("emergency", "x"))
        client.post("/v1/support/operations", json=operation("routine", "x"))
        client.get("/health")
    # Stopping the app stopped the publisher, which flushes a last time.
    published = {
        (d["MetricName"], tuple(sorted(dim["Name"] for dim in d["Dimensions"]))) for d in cloudwatch.data
    }
    assert published == documented_series()
    slots = {dim["Value"] for d in cloudwatch.data for dim in d["Dimensions"] if dim["Name"] == "Slot"}
    assert slots == {"green"}


def test_prometheus_only_without_cloudwatch() -> None:
    telemetry = Telemetry(PrometheusMetrics(), "blue")
    telemetry.operation("routine", "mcp", "ok", 0.01)
    telemetry.circuit("bedrock", CircuitState.HALF_OPEN)
    registry = telemetry.metrics.registry
    assert (
        registry.get_sample_value(
            "support_requests_total", {"operation": "routine", "route": "mcp", "status": "ok"}
        )
        == 1
    )
    assert registry.get_sample_value("support_circuit_state", {"circuit": "bedrock"}) == 1
