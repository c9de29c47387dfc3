"""Results: fail closed, gate mapping, JSON-ready evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bedrock_release.gates.verdict import Verdict
from bedrock_release.monitoring import (
    AlarmEvaluation,
    AlarmState,
    AlertDelivery,
    DashboardCheck,
    DashboardReadable,
    MetricKey,
    MetricPresence,
    WidgetCheck,
)

START, END = datetime(2026, 11, 26, 15, 0, tzinfo=UTC), datetime(2026, 11, 26, 15, 5, tzinfo=UTC)


def _evaluation(state: AlarmState, value: float | None, samples: int = 10) -> AlarmEvaluation:
    return AlarmEvaluation(
        name="error-rate",
        alarm_name="p-error-rate",
        state=state,
        value=value,
        threshold=1.0,
        unit="percent",
        comparison="GreaterThanThreshold",
        samples=samples,
        min_samples=1,
        window_start=START,
        window_end=END,
        period_s=300,
        periods=(),
        source="test",
    )


@pytest.mark.parametrize(
    ("state", "verdict"),
    [
        (AlarmState.OK, Verdict.PASS),
        (AlarmState.ALARM, Verdict.FAIL),
        (AlarmState.INSUFFICIENT_DATA, Verdict.INCONCLUSIVE),
    ],
)
def test_alarm_state_maps_to_the_gate_verdict(state: AlarmState, verdict: Verdict) -> None:
    result = _evaluation(state, 0.5)
    assert result.to_gate().verdict is verdict
    assert result.ok is (state is AlarmState.OK)
    assert result.to_gate().window.seconds == 300


def test_ok_cannot_be_built_without_a_value_or_samples() -> None:
    with pytest.raises(ValueError, match="OK needs"):
        _evaluation(AlarmState.OK, None)
    with pytest.raises(ValueError, match="OK needs"):
        _evaluation(AlarmState.OK, 0.1, samples=0)


def test_dashboard_check_is_ok_only_when_every_widget_is() -> None:
    key = MetricKey.of("ns", "Requests", {"Status": "ok"})
    good = WidgetCheck("error rate", (MetricPresence(key, True, 3),))
    bad = WidgetCheck("route mix", (MetricPresence(key, True, 0, listed=False),), ("no metric has data",))
    assert DashboardCheck("d", True, (good,), ()).ok
    check = DashboardCheck("d", True, (good, bad), ())
    assert not check.ok
    assert check.widget("Route Mix ") is bad
    assert "route mix: no metric has data" in check.message()
    assert not DashboardCheck("d", False, (), ("dashboard d does not exist",)).ok


def test_evidence_serialises() -> None:
    key = MetricKey.of("ns", "Requests", {"Status": "ok"})
    check = DashboardCheck("d", True, (WidgetCheck("w", (MetricPresence(key, True, 3),)),), (), START, END)
    data = json.loads(json.dumps(check.to_dict()))
    assert data["ok"] is True
    assert data["widgets"][0]["metrics"][0]["key"] == {
        "namespace": "ns",
        "metric_name": "Requests",
        "dimensions": {"Status": "ok"},
    }
    delivery = AlertDelivery("a", "t", "q", True, False, None, "tok", None, 1.0, False, ("nothing arrived",))
    assert not delivery.ok
    assert "NOT delivered" in delivery.message()
    assert not DashboardReadable("ops", True, 0, ()).ok
