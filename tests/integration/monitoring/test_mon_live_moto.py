"""Against a moto server: create twice, verify, evaluate from what the service's publisher sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from mon_live import NAMESPACE, Slot

from bedrock_release.monitoring import (
    ALARM_NAMES,
    DASHBOARD_WIDGETS,
    AlarmState,
    AwsClients,
    MonitoringConfig,
    PrometheusSource,
    check_dashboard_readable,
    check_metrics_readable,
    ensure_monitoring,
    evaluate_alarms,
    verify_alarms,
    verify_dashboard,
)
from sandbox.seed import OPERATIONS_DASHBOARD, operations_dashboard_body
from sandbox.settings import SandboxSettings

pytestmark = pytest.mark.integration


def _states(results) -> dict[str, AlarmState]:  # type: ignore[no-untyped-def]
    return {r.name: r.state for r in results}


def test_created_twice_the_second_run_changes_nothing_and_everything_verifies(
    clients: AwsClients, cfg: MonitoringConfig
) -> None:
    assert ensure_monitoring(clients, cfg).changed
    second = ensure_monitoring(clients, cfg)
    assert not second.changed, second.to_dict()
    checks = verify_alarms(clients, cfg)
    assert [c.name for c in checks] == list(ALARM_NAMES)
    for check in checks:
        assert check.ok, check.message()
        assert check.notifies_topic
        assert check.threshold == check.expected_threshold
    by_name = {c.name: c for c in checks}
    assert (by_name["error-rate"].period_s, by_name["error-rate"].evaluation_periods) == (300, 1)
    assert by_name["pii-leak"].period_s == 60
    assert by_name["p95-latency-generation"].comparison == "GreaterThanThreshold"


def test_a_changed_or_missing_alarm_is_named(clients: AwsClients, cfg: MonitoringConfig) -> None:
    ensure_monitoring(clients, cfg)
    cw = clients.cloudwatch
    alarm = cw.describe_alarms(AlarmNames=[cfg.alarm_name("circuit-open")])["MetricAlarms"][0]
    cw.put_metric_alarm(
        **{
            k: alarm[k]
            for k in ("AlarmName", "Metrics", "EvaluationPeriods", "ComparisonOperator", "AlarmActions")
        },
        Threshold=1.0,
    )
    cw.delete_alarms(AlarmNames=[cfg.alarm_name("pii-leak")])
    checks = {c.name: c for c in verify_alarms(clients, cfg)}
    assert not checks["circuit-open"].ok
    assert any("threshold 1.0 differs from the feature's 0" in p for p in checks["circuit-open"].problems)
    assert not checks["pii-leak"].exists
    assert checks["error-rate"].ok


def test_an_alarm_without_the_topic_action_does_not_notify(
    clients: AwsClients, cfg: MonitoringConfig
) -> None:
    ensure_monitoring(clients, cfg)
    request = {
        **clients.cloudwatch.describe_alarms(AlarmNames=[cfg.alarm_name("pii-leak")])["MetricAlarms"][0]
    }
    clients.cloudwatch.put_metric_alarm(
        AlarmName=request["AlarmName"],
        MetricName="ComplianceViolations",
        Namespace=NAMESPACE,
        Dimensions=request["Dimensions"],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[],
    )
    check = next(c for c in verify_alarms(clients, cfg) if c.name == "pii-leak")
    assert not check.notifies_topic
    assert not check.ok


def test_dashboard_verifies_only_once_the_release_has_published(
    clients: AwsClients, cfg: MonitoringConfig, green: Slot
) -> None:
    ensure_monitoring(clients, cfg)
    before = verify_dashboard(clients.cloudwatch, cfg.dashboard_name, NAMESPACE, slot="green")
    assert before.exists
    assert not before.ok
    assert all("no metric of this widget" in " ".join(w.problems) for w in before.widgets)
    green.healthy_traffic()
    green.flush()
    after = verify_dashboard(clients.cloudwatch, cfg.dashboard_name, NAMESPACE, slot="green")
    assert after.ok, after.message()
    assert after.titles == DASHBOARD_WIDGETS
    for title in DASHBOARD_WIDGETS:
        widget = after.widget(title)
        assert widget is not None
        assert widget.metrics_with_data, title
    # with data from blue only, the per-slot widgets do not show the new release
    blue_only = verify_dashboard(clients.cloudwatch, cfg.dashboard_name, NAMESPACE, slot="blue")
    problems = {w.title: w.problems for w in blue_only.widgets}
    assert any("slot blue" in p for p in problems["circuit breaker states"])
    assert json.loads(json.dumps(after.to_dict()))["ok"] is True


def test_a_dashboard_that_is_missing_or_on_unpublished_metrics_fails(
    clients: AwsClients, cfg: MonitoringConfig
) -> None:
    assert not verify_dashboard(clients.cloudwatch, "nope", NAMESPACE).ok
    body = {
        "widgets": [
            {
                "type": "metric",
                "properties": {
                    "title": "latency by route",
                    "metrics": [[NAMESPACE, "RequestLatency", "Operation", "generation", {"stat": "p95"}]],
                },
            }
        ]
    }
    clients.cloudwatch.put_dashboard(DashboardName="bad", DashboardBody=json.dumps(body))
    check = verify_dashboard(clients.cloudwatch, "bad", NAMESPACE)
    assert not check.ok
    assert "widget 'error rate' is missing" in check.problems
    assert any("published with dimensions" in p for p in check.widgets[0].problems)


def test_metrics_of_the_new_release_are_readable(clients: AwsClients, green: Slot) -> None:
    assert not check_metrics_readable(clients.cloudwatch, NAMESPACE, "green").ok
    green.healthy_traffic()
    green.flush()
    readable = check_metrics_readable(clients.cloudwatch, NAMESPACE, "green")
    assert readable.ok, readable.message()
    assert len(readable.metrics) == 7 + 2 + 5 + 2 + 2
    other = check_metrics_readable(clients.cloudwatch, NAMESPACE, "blue")
    assert not other.ok
    assert (
        "ComponentHealthy{Component=BedrockSupportManager, Slot=blue} is not listed by CloudWatch"
        in other.message()
    )


def _list_metrics_calls(clients: AwsClients) -> list[dict[str, object]]:
    calls: list[dict[str, object]] = []
    clients.cloudwatch.meta.events.register(
        "provide-client-params.monitoring.ListMetrics", lambda params, **_: calls.append(params)
    )
    return calls


def test_samples_prove_a_metric_and_listmetrics_is_asked_only_about_one_without(
    clients: AwsClients, green: Slot
) -> None:
    green.healthy_traffic()
    green.flush()
    calls = _list_metrics_calls(clients)
    readable = check_metrics_readable(clients.cloudwatch, NAMESPACE, "green")
    assert readable.ok, readable.message()
    assert calls == []
    assert {m.listed for m in readable.metrics} == {None}
    later = datetime.now(UTC) + timedelta(hours=1)
    quiet = check_metrics_readable(
        clients.cloudwatch, NAMESPACE, "green", since=later, until=later + timedelta(minutes=5)
    )
    assert not quiet.ok
    assert len(calls) == len(quiet.metrics)
    assert {m.listed for m in quiet.metrics} == {True}
    assert "RequestLatency{Slot=green} has no datapoints since" in quiet.message()


def test_healthy_traffic_evaluates_ok_with_maximum_bounds_for_the_percentiles(
    clients: AwsClients, cfg: MonitoringConfig, green: Slot
) -> None:
    ensure_monitoring(clients, cfg)
    green.healthy_traffic()
    green.flush()
    results = evaluate_alarms(clients, cfg, reflect_state=True)
    for r in results:
        assert r.state is AlarmState.OK, r.message()
    by_name = {r.name: r for r in results}
    latency = by_name["p95-latency-generation"]
    assert latency.value == 420.0
    assert latency.samples == 250
    assert "upper bound" in latency.source
    assert by_name["p95-latency-cached"].value == 12.0
    assert by_name["error-rate"].value == pytest.approx(100 * 2 / 1000)
    assert by_name["cost-budget"].value == pytest.approx(0.5)
    assert any("publisher is alive" in reason for reason in by_name["pii-leak"].reasons)
    described = clients.cloudwatch.describe_alarms(AlarmNames=[cfg.alarm_name(n) for n in ALARM_NAMES])
    assert {a["StateValue"] for a in described["MetricAlarms"]} == {"OK"}


def test_nothing_published_is_insufficient_data_for_every_alarm(
    clients: AwsClients, cfg: MonitoringConfig
) -> None:
    ensure_monitoring(clients, cfg)
    results = evaluate_alarms(clients, cfg, reflect_state=True)
    assert set(_states(results).values()) == {AlarmState.INSUFFICIENT_DATA}
    described = clients.cloudwatch.describe_alarms(AlarmNames=[cfg.alarm_name("error-rate")])["MetricAlarms"][
        0
    ]
    assert described["StateValue"] == "INSUFFICIENT_DATA"


def test_breaches_alarm(clients: AwsClients, cfg: MonitoringConfig, green: Slot) -> None:
    green.healthy_traffic()
    green.traffic("routine", "mcp", 100, 90.0, errors=30)
    green.telemetry.violation("customer_region")
    green.telemetry.violation("pii_in_model_payload")
    green.unhealthy.add("MCPRouter")
    green.circuits["bedrock"] = 2.0
    green.spent_usd = 45.0
    green.flush()
    states = _states(evaluate_alarms(clients, cfg))
    assert states == {
        "p95-latency-generation": AlarmState.OK,
        "p95-latency-cached": AlarmState.OK,
        "error-rate": AlarmState.ALARM,
        "cost-budget": AlarmState.ALARM,
        "compliance-violations": AlarmState.ALARM,
        "pii-leak": AlarmState.ALARM,
        "health-check-failures": AlarmState.ALARM,
        "circuit-open": AlarmState.ALARM,
    }


def test_a_slow_outlier_is_decided_by_the_slots_prometheus_histogram(
    clients: AwsClients, cfg: MonitoringConfig, green: Slot, prometheus_url: str
) -> None:
    green.healthy_traffic()
    green.traffic("generation", "direct", 5, 2500.0)  # Maximum 2500 ms, P95 still 420 ms
    green.flush()
    without = {r.name: r for r in evaluate_alarms(clients, cfg)}["p95-latency-generation"]
    assert without.state is AlarmState.INSUFFICIENT_DATA
    with_prometheus = {
        r.name: r for r in evaluate_alarms(clients, cfg, prometheus=PrometheusSource(urls=(prometheus_url,)))
    }["p95-latency-generation"]
    assert with_prometheus.state is AlarmState.OK, with_prometheus.message()
    assert with_prometheus.value == 500.0  # bucket (0.3 s, 0.5 s]
    assert with_prometheus.source.startswith(f"prometheus {prometheus_url}")
    green.traffic("generation", "direct", 60, 2500.0)  # now more than 5 % are slow
    green.flush()
    slow = {
        r.name: r for r in evaluate_alarms(clients, cfg, prometheus=PrometheusSource(urls=(prometheus_url,)))
    }["p95-latency-generation"]
    assert slow.state is AlarmState.ALARM, slow.message()
    assert slow.value == 3000.0  # bucket (2 s, 3 s]


def test_the_existing_operations_dashboard_is_readable(clients: AwsClients) -> None:
    assert not check_dashboard_readable(clients.cloudwatch).ok
    body = operations_dashboard_body(SandboxSettings())
    clients.cloudwatch.put_dashboard(DashboardName=OPERATIONS_DASHBOARD, DashboardBody=json.dumps(body))
    readable = check_dashboard_readable(clients.cloudwatch)
    assert readable.ok, readable.message()
    assert readable.titles == ("MCP support operations", "MCP support latency (p95)")
    clients.cloudwatch.put_dashboard(DashboardName="empty", DashboardBody='{"widgets": []}')
    assert not check_dashboard_readable(clients.cloudwatch, "empty").ok
