"""The Python twins of the alarm expressions and the state rule, on synthetic datapoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mon_fixtures import TOPIC

from bedrock_release.monitoring import (
    AlarmDefinition,
    AlarmState,
    MonitoringConfig,
    Thresholds,
    alarm_definitions,
)
from bedrock_release.monitoring.twins import apply_kind, decide_state

T0 = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


@pytest.fixture
def alarm(cfg: MonitoringConfig, thresholds: Thresholds):  # type: ignore[no-untyped-def]
    defs = {a.name: a for a in alarm_definitions(cfg, topic_arn=TOPIC, thresholds=thresholds)}
    return defs.__getitem__


def _state(d: AlarmDefinition, points, heartbeat=None):  # type: ignore[no-untyped-def]
    pv = apply_kind(d, points, heartbeat)
    if pv.insufficient:
        return AlarmState.INSUFFICIENT_DATA, None
    state, value, _ = decide_state(pv.values, d.threshold.value, pv.samples, d.min_samples)
    return state, value


def test_error_rate_without_error_datapoints_is_zero(alarm) -> None:  # type: ignore[no-untyped-def]
    assert _state(alarm("error-rate"), {"ok": {T0: 500.0}}) == (AlarmState.OK, 0.0)


def test_error_rate_exactly_at_the_threshold_is_ok_and_above_alarms(alarm) -> None:  # type: ignore[no-untyped-def]
    d = alarm("error-rate")
    assert _state(d, {"ok": {T0: 990.0}, "err": {T0: 10.0}}) == (AlarmState.OK, 1.0)
    state, value = _state(d, {"ok": {T0: 989.0}, "err": {T0: 11.0}})
    assert state is AlarmState.ALARM
    assert value == pytest.approx(1.1)


def test_error_rate_with_no_requests_is_insufficient_data(alarm) -> None:  # type: ignore[no-untyped-def]
    assert _state(alarm("error-rate"), {}) == (AlarmState.INSUFFICIENT_DATA, None)
    assert _state(alarm("error-rate"), {"err": {T0: 3.0}})[0] is AlarmState.INSUFFICIENT_DATA  # ok required


def test_any_period_above_the_threshold_alarms(alarm) -> None:  # type: ignore[no-untyped-def]
    d = alarm("error-rate")
    state, value = _state(d, {"ok": {T0: 100.0, T1: 100.0}, "err": {T1: 50.0}})
    assert state is AlarmState.ALARM
    assert value == pytest.approx(100 * 50 / 150)


def test_budget_share_sums_the_slots(alarm) -> None:  # type: ignore[no-untyped-def]
    d = alarm("cost-budget")
    assert _state(d, {"spend_blue": {T0: 10.0}, "spend_green": {T0: 30.0}}) == (AlarmState.OK, 80.0)
    assert _state(d, {"spend_blue": {T0: 10.0}, "spend_green": {T0: 30.5}})[0] is AlarmState.ALARM
    # the release slot's own accounting must be there
    assert _state(d, {"spend_blue": {T0: 1.0}})[0] is AlarmState.INSUFFICIENT_DATA


def test_no_violation_counts_as_zero_only_while_the_publisher_is_alive(alarm) -> None:  # type: ignore[no-untyped-def]
    d = alarm("compliance-violations")
    assert _state(d, {}, {T0: 6.0}) == (AlarmState.OK, 0.0)
    assert _state(d, {}, {}) == (AlarmState.INSUFFICIENT_DATA, None)
    assert _state(d, {"v_customer_region": {T0: 1.0}}, {}) == (AlarmState.ALARM, 1.0)
    pii = alarm("pii-leak")
    assert _state(pii, {"pii": {T0: 2.0}}, {T0: 6.0}) == (AlarmState.ALARM, 2.0)


def test_a_failing_or_missing_component_counts(alarm) -> None:  # type: ignore[no-untyped-def]
    d = alarm("health-check-failures")
    healthy = {f"h{i}": {T0: 1.0} for i in range(7)}
    assert _state(d, healthy) == (AlarmState.OK, 0.0)
    assert _state(d, {**healthy, "h3": {T0: 0.0}}) == (AlarmState.ALARM, 1.0)
    # no h3 at T0, and only h3 at T1: a component without data in a period counts as failed
    assert _state(d, {**healthy, "h3": {T1: 1.0}}) == (AlarmState.ALARM, 6.0)
    missing = dict(healthy)
    del missing["h6"]
    assert _state(d, missing)[0] is AlarmState.INSUFFICIENT_DATA


def test_only_an_open_circuit_counts(alarm) -> None:  # type: ignore[no-untyped-def]
    d = alarm("circuit-open")
    assert _state(d, {"c_bedrock": {T0: 1.0}, "c_mcp": {T0: 0.0}}) == (AlarmState.OK, 0.0)  # half-open
    assert _state(d, {"c_bedrock": {T0: 2.0}, "c_mcp": {T0: 2.0}}) == (AlarmState.ALARM, 2.0)
    assert _state(d, {"c_bedrock": {T0: 0.0}})[0] is AlarmState.INSUFFICIENT_DATA


def test_max_percentile_takes_the_worst_route(alarm) -> None:  # type: ignore[no-untyped-def]
    d = alarm("p95-latency-generation")
    pv = apply_kind(d, {"gen_direct": {T0: 900.0}, "gen_cache": {T0: 40.0, T1: 30.0}})
    assert pv.values == ((T0, 900.0), (T1, 30.0))


def test_decide_state_needs_enough_samples_for_ok() -> None:
    values = ((T0, 10.0),)
    assert decide_state(values, 300.0, samples=199, min_samples=200)[0] is AlarmState.INSUFFICIENT_DATA
    assert decide_state(values, 300.0, samples=200, min_samples=200)[0] is AlarmState.OK
    # a breach needs no minimum: the evidence is there
    assert decide_state(((T0, 301.0),), 300.0, samples=1, min_samples=200)[0] is AlarmState.ALARM
    assert decide_state((), 300.0, samples=0, min_samples=1)[0] is AlarmState.INSUFFICIENT_DATA
