"""Steps of features/monitoring.feature (phase 7), bound to bedrock_release.monitoring (docs/monitoring.md).

The pipeline creates the dashboard and alarms (roles/monitoring); these steps verify what exists
in CloudWatch against what the release publishes, and evaluate every alarm themselves (moto never
evaluates alarms).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_bdd import given, parsers, then

from bedrock_release import monitoring as mon
from bedrock_release.suite.checks import require
from bedrock_release.suite.evidence import EvidenceRecorder
from bedrock_release.suite.traffic import serving_slots


@pytest.fixture(scope="session")
def alarm_checks(monitoring: Any) -> dict[str, Any]:
    """Every alarm of the feature as CloudWatch holds it (read once per session)."""
    config, clients = monitoring
    return {check.name: check for check in mon.verify_alarms(clients, config)}


@pytest.fixture(scope="session")
def dashboard_check(monitoring: Any, target: Any) -> Any:
    """The hybrid routing dashboard against the metrics the new release publishes."""
    config, clients = monitoring
    since = mon.release_live_since(target.journal, target.new_slot) if target.journal else None
    return mon.verify_dashboard(
        clients.cloudwatch, config.dashboard_name, config.namespace, slot=target.new_slot, since=since
    )


@then("the hybrid routing dashboard exists with these widgets")
def dashboard_has_widgets(
    dashboard_check: Any, datatable: list[list[str]], evidence: EvidenceRecorder
) -> None:
    """The dashboard exists and has every widget of the table."""
    evidence.data("dashboard", dashboard_check.to_dict())
    require(dashboard_check.exists, dashboard_check.message())
    wanted = [row[0] for row in datatable[1:]]
    missing = [title for title in wanted if dashboard_check.widget(title) is None]
    require(
        not missing, f"dashboard {dashboard_check.name} lacks widgets {missing}; has {dashboard_check.titles}"
    )


@then("every widget of the dashboard shows a metric the new release publishes")
def widgets_show_published_metrics(dashboard_check: Any) -> None:
    """Each widget's metrics are ones the service publishes, with datapoints from the new slot."""
    require(dashboard_check.ok, dashboard_check.message())


@then(parsers.parse('the alarm "{alarm}" exists with threshold {threshold:g} {unit}'))
def alarm_exists(
    alarm: str, threshold: float, unit: str, alarm_checks: dict[str, Any], evidence: EvidenceRecorder
) -> None:
    """The alarm exists in CloudWatch with the threshold this scenario states."""
    check = alarm_checks.get(alarm)
    require(check is not None, f"alarm {alarm} is not one of the release's alarms {sorted(alarm_checks)}")
    evidence.data(f"alarm {alarm}", check.to_dict())
    require(check.exists, f"alarm {check.alarm_name} does not exist")
    require(
        check.threshold is not None
        and float(check.threshold) == threshold
        and check.expected_threshold == threshold,
        f"alarm {check.alarm_name} has threshold {check.threshold} (expected by the definition "
        f"{check.expected_threshold}), the feature says {threshold:g} {unit}",
    )
    require(check.unit == unit, f"alarm {check.alarm_name} is in {check.unit}, the feature says {unit}")
    require(check.matches_definition, check.message())


@then(parsers.parse('the alarm "{alarm}" notifies the on-call topic'))
def alarm_notifies(alarm: str, alarm_checks: dict[str, Any]) -> None:
    """The alarm's action is the on-call topic."""
    check = alarm_checks.get(alarm)
    require(check is not None, f"alarm {alarm} is not one of the release's alarms")
    require(
        check.notifies_topic,
        f"alarm {check.alarm_name} does not notify {check.topic_arn}: actions {check.actions}",
    )


@given("the event alarms' window starts after phase 6's deliberate probes", target_fixture="probes_ended")
def after_the_probes(target: Any, evidence: EvidenceRecorder) -> datetime | None:
    """When phase 6 finished (journal); waits until an event alarm's window after it holds data.

    Without a journal that records phase 6 (the phase 7 scenarios run by hand), nothing is excluded.
    """
    ended = mon.validation_ended_at(target.journal) if target.journal else None
    evidence.data("phase 6 ended", {"journal": str(target.journal), "ended": ended and ended.isoformat()})
    if ended is not None:
        ready = mon.probe_free_at(ended)
        time.sleep(max(0.0, (ready - datetime.now(UTC)).total_seconds()))
    return ended


@then("every alarm of the release evaluates to OK from the published metrics")
def alarms_evaluate_ok(
    monitoring: Any, target: Any, http: Any, probes_ended: datetime | None, evidence: EvidenceRecorder
) -> None:
    """Each alarm evaluated from CloudWatch (and the slots' histograms where moto has no p95) is OK."""
    config, clients = monitoring
    urls = tuple(u for u in (target.endpoints.slot(s) for s in serving_slots(http, target)) if u)
    evaluations = mon.evaluate_alarms(
        clients, config, prometheus=mon.PrometheusSource(urls=urls), probes_ended=probes_ended
    )
    require(evaluations, "no alarm was evaluated")
    evidence.gates(e.to_gate() for e in evaluations)
