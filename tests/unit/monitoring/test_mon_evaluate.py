"""Evaluating counted, gauged and rate alarms from CloudWatch series (fake CloudWatch)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from unittest.mock import MagicMock

import pytest
from mon_fake_cloudwatch import FakeCloudWatch
from mon_fixtures import TOPIC

from bedrock_release.gates.verdict import Verdict
from bedrock_release.monitoring import (
    AlarmEvaluator,
    AlarmState,
    AwsClients,
    MonitoringConfig,
    Thresholds,
    alarm_definitions,
    evaluate_alarms,
    evaluate_definition,
    probe_free_at,
)
from bedrock_release.monitoring.evaluate import PUBLISH_LAG_S

END = datetime(2026, 11, 26, 15, 5, 30, tzinfo=UTC)


@pytest.fixture
def defs(cfg: MonitoringConfig, thresholds: Thresholds):  # type: ignore[no-untyped-def]
    return {a.name: a for a in alarm_definitions(cfg, topic_arn=TOPIC, thresholds=thresholds)}


def test_the_window_is_the_alarm_period_on_period_boundaries(defs) -> None:  # type: ignore[no-untyped-def]
    evaluator = AlarmEvaluator(FakeCloudWatch(), end=END)
    w = evaluator.window(defs["error-rate"])
    assert (w.start, w.end) == (
        datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
        datetime(2026, 11, 26, 15, 10, tzinfo=UTC),
    )
    w = AlarmEvaluator(FakeCloudWatch(), end=END, window_s=3600).window(defs["pii-leak"])
    assert w.end - w.start == timedelta(minutes=61)


def test_error_rate_evaluates_from_the_exact_status_series(defs) -> None:  # type: ignore[no-untyped-def]
    t = datetime(2026, 11, 26, 15, 5, tzinfo=UTC)
    cw = FakeCloudWatch(
        {("Requests{Status=ok}", "Sum"): [(t, 995.0)], ("Requests{Status=error}", "Sum"): [(t, 5.0)]}
    )
    result = evaluate_definition(cw, defs["error-rate"], end=END)
    assert result.state is AlarmState.OK
    assert (result.value, result.samples) == (0.5, 1000)
    assert result.periods == ((t.isoformat(), 0.5),)
    gate = result.to_gate()
    assert gate.verdict is Verdict.PASS
    assert gate.threshold == 1.0


def test_no_violation_is_ok_with_a_heartbeat_and_insufficient_without(defs) -> None:  # type: ignore[no-untyped-def]
    t = datetime(2026, 11, 26, 15, 5, tzinfo=UTC)
    alive = FakeCloudWatch({("BudgetSpentUSD{Slot=green}", "SampleCount"): [(t, 6.0)]})
    ok = evaluate_definition(alive, defs["pii-leak"], end=END)
    assert ok.state is AlarmState.OK
    assert any("publisher is alive" in r for r in ok.reasons)
    silent = evaluate_definition(FakeCloudWatch(), defs["pii-leak"], end=END)
    assert silent.state is AlarmState.INSUFFICIENT_DATA
    assert silent.to_gate().verdict is Verdict.INCONCLUSIVE


def test_a_violation_alarms(defs) -> None:  # type: ignore[no-untyped-def]
    t = datetime(2026, 11, 26, 15, 5, tzinfo=UTC)
    cw = FakeCloudWatch(
        {
            ("ComplianceViolations{Rule=pii_in_model_payload}", "Sum"): [(t, 1.0)],
            ("BudgetSpentUSD{Slot=green}", "SampleCount"): [(t, 6.0)],
        }
    )
    result = evaluate_definition(cw, defs["compliance-violations"], end=END)
    assert result.state is AlarmState.ALARM
    assert result.to_gate().verdict is Verdict.FAIL
    assert "ALARM: value 1 count" in result.message()


def test_cloudwatch_unreachable_is_insufficient(defs) -> None:  # type: ignore[no-untyped-def]
    for name in ("error-rate", "cost-budget", "pii-leak", "health-check-failures", "circuit-open"):
        result = evaluate_definition(FakeCloudWatch(down=True), defs[name], end=END)
        assert result.state is AlarmState.INSUFFICIENT_DATA, name
        assert not result.ok


def test_evidence_is_json_ready(defs) -> None:  # type: ignore[no-untyped-def]
    result = evaluate_definition(FakeCloudWatch(), defs["circuit-open"], end=END)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["state"] == "INSUFFICIENT_DATA"
    assert data["ok"] is False
    assert data["raw"]["definition"]["alarm_name"] == "bedrock-support-local-circuit-open"


def test_evaluate_alarms_can_cover_everything_since_the_release_went_live(cfg: MonitoringConfig) -> None:
    cw = FakeCloudWatch()
    sns = MagicMock()
    sns.get_paginator.return_value.paginate.return_value = [{"Topics": []}]
    clients = AwsClients(cloudwatch=cw, sns=sns, sqs=None, budgets=None, sts=None)
    results = evaluate_alarms(clients, cfg, end=END, since=END - timedelta(hours=1))
    assert {r.state for r in results} == {AlarmState.INSUFFICIENT_DATA}
    assert all(r.window_end - r.window_start >= timedelta(hours=1) for r in results)


PROBE = datetime(2026, 11, 26, 15, 4, 30, tzinfo=UTC)  # phase 6's deliberate probes ended
AFTER = datetime(2026, 11, 26, 15, 5, tzinfo=UTC)  # the first period after them and their publication


def _probed_minute_then_quiet() -> FakeCloudWatch:
    before = datetime(2026, 11, 26, 15, 4, tzinfo=UTC)
    return FakeCloudWatch(
        {
            ("ComplianceViolations{Rule=customer_region}", "Sum"): [(before, 1.0)],
            ("CircuitState{Circuit=bedrock, Slot=green}", "Maximum"): [(before, 2.0), (AFTER, 0.0)],
            ("CircuitState{Circuit=mcp, Slot=green}", "Maximum"): [(before, 0.0), (AFTER, 0.0)],
            ("BudgetSpentUSD{Slot=green}", "SampleCount"): [(before, 6.0), (AFTER, 3.0)],
        }
    )


def test_the_deliberate_probes_breach_the_event_alarms_over_their_whole_window(defs) -> None:  # type: ignore[no-untyped-def]
    cw = _probed_minute_then_quiet()
    assert evaluate_definition(cw, defs["compliance-violations"], end=END).state is AlarmState.ALARM
    assert evaluate_definition(cw, defs["circuit-open"], end=END).state is AlarmState.ALARM


def test_event_alarms_start_after_the_probes_and_load_alarms_keep_their_window(defs) -> None:  # type: ignore[no-untyped-def]
    evaluator = AlarmEvaluator(_probed_minute_then_quiet(), end=END, probes_ended=PROBE)
    for name in ("compliance-violations", "circuit-open"):
        result = evaluator.evaluate(defs[name])
        assert result.state is AlarmState.OK, result.message()
        assert result.window_start == AFTER
        assert any("after phase 6's deliberate probes" in r for r in result.reasons)
    assert evaluator.window(defs["error-rate"]).start == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def test_a_violation_after_the_probes_still_alarms(defs) -> None:  # type: ignore[no-untyped-def]
    cw = _probed_minute_then_quiet()
    cw.data[("ComplianceViolations{Rule=customer_region}", "Sum")].append((AFTER, 1.0))
    result = AlarmEvaluator(cw, end=END, probes_ended=PROBE).evaluate(defs["compliance-violations"])
    assert result.state is AlarmState.ALARM


def test_before_a_period_after_the_probes_began_the_event_alarms_are_insufficient(defs) -> None:  # type: ignore[no-untyped-def]
    evaluator = AlarmEvaluator(_probed_minute_then_quiet(), end=PROBE, probes_ended=PROBE)
    result = evaluator.evaluate(defs["pii-leak"])
    assert result.state is AlarmState.INSUFFICIENT_DATA
    assert "no period after the probes has begun yet" in result.reasons
    assert result.to_gate().verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize(
    ("ended", "ready"),
    [
        (PROBE, datetime(2026, 11, 26, 15, 5, 30, tzinfo=UTC)),
        (AFTER - timedelta(seconds=PUBLISH_LAG_S), datetime(2026, 11, 26, 15, 5, 30, tzinfo=UTC)),
        (AFTER - timedelta(seconds=PUBLISH_LAG_S - 1), datetime(2026, 11, 26, 15, 6, 30, tzinfo=UTC)),
    ],
)
def test_the_window_after_the_probes_is_ready_once_it_holds_data(ended: datetime, ready: datetime) -> None:
    """The window starts at the first minute after the probes' last flush (up to PUBLISH_LAG_S later)."""
    assert probe_free_at(ended) == ready
    assert probe_free_at(ended, settle_s=0) == ready - timedelta(seconds=30)


def test_an_event_the_slot_published_after_the_probes_ended_is_still_theirs(defs) -> None:  # type: ignore[no-untyped-def]
    """Seen in make deploy: the residency probe's count was flushed 4 s after phase 6 finished."""
    late = AFTER - timedelta(seconds=PUBLISH_LAG_S - 4)
    evaluator = AlarmEvaluator(_probed_minute_then_quiet(), end=END, probes_ended=late - timedelta(seconds=4))
    assert evaluator.window(defs["compliance-violations"]).start == AFTER
    assert evaluator.evaluate(defs["compliance-violations"]).state is AlarmState.OK
