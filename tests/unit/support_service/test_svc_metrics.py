"""Prometheus metrics: the contract's names and labels, and SLO thresholds as bucket bounds."""

from __future__ import annotations

from prometheus_client import generate_latest

from support_service.metrics import LATENCY_BUCKETS_S, PrometheusMetrics

CONTRACT = {
    "support_request_duration_seconds": ("operation", "route"),
    "support_requests_total": ("operation", "route", "status"),
    "support_route_decisions_total": ("operation", "route", "reason"),
    "support_cache_requests_total": ("query_class", "result"),
    "support_bedrock_tokens_total": ("direction",),
    "support_cost_usd_total": ("route",),
    "support_circuit_state": ("circuit",),
    "support_flag_enabled": ("flag",),
    "support_flag_store_degraded": (),
    "support_component_healthy": ("component",),
    "support_compliance_violations_total": ("rule",),
    "support_pii_redactions_total": ("kind",),
}


def test_contract_names_and_labels() -> None:
    metrics = PrometheusMetrics()
    by_name = {}
    for metric in metrics.registry.collect():
        name = metric.name + ("_total" if metric.type == "counter" else "")
        by_name[name] = metric
    for name in CONTRACT:
        assert name in by_name, name
    extra = set(by_name) - set(CONTRACT)
    assert extra == {"support_cloudwatch_publish_failures_total"}
    collectors = {
        "support_request_duration_seconds": metrics.request_duration,
        "support_requests_total": metrics.requests,
        "support_route_decisions_total": metrics.route_decisions,
        "support_cache_requests_total": metrics.cache_requests,
        "support_bedrock_tokens_total": metrics.bedrock_tokens,
        "support_cost_usd_total": metrics.cost_usd,
        "support_circuit_state": metrics.circuit_state,
        "support_flag_enabled": metrics.flag_enabled,
        "support_component_healthy": metrics.component_healthy,
        "support_compliance_violations_total": metrics.compliance_violations,
        "support_pii_redactions_total": metrics.pii_redactions,
    }
    for name, labels in CONTRACT.items():
        if labels:
            # labels() refuses any other set of label names: this checks the exact contract labels.
            collectors[name].labels(**dict.fromkeys(labels, "x"))
    metrics.requests.labels(operation="routine", route="mcp", status="ok").inc()
    assert b'support_requests_total{operation="routine",route="mcp",status="ok"} 1.0' in generate_latest(
        metrics.registry
    )


def test_slo_thresholds_are_bucket_bounds() -> None:
    assert 0.3 in LATENCY_BUCKETS_S  # cached P95 <= 300 ms
    assert 1.5 in LATENCY_BUCKETS_S  # generation P95 <= 1.5 s
    assert list(LATENCY_BUCKETS_S) == sorted(LATENCY_BUCKETS_S)


def test_instances_do_not_share_a_registry() -> None:
    a, b = PrometheusMetrics(), PrometheusMetrics()
    a.cost_usd.labels(route="direct").inc(2)
    assert a.registry.get_sample_value("support_cost_usd_total", {"route": "direct"}) == 2
    # b exports its own spend: 0 per cost route from its start, never a's.
    assert b.registry.get_sample_value("support_cost_usd_total", {"route": "direct"}) == 0
    assert b.registry.get_sample_value("support_cost_usd_total", {"route": "mcp"}) == 0
