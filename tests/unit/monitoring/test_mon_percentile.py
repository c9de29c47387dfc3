"""Percentile alarms: CloudWatch's p95, the Maximum bound where it has none, then Prometheus."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from mon_fake_cloudwatch import FakeCloudWatch
from mon_fixtures import TOPIC

from bedrock_release.monitoring import (
    AlarmDefinition,
    AlarmEvaluator,
    AlarmState,
    LatencySnapshot,
    MonitoringConfig,
    PrometheusSource,
    Thresholds,
    alarm_definitions,
)

END = datetime(2026, 11, 26, 15, 5, tzinfo=UTC)
T = END - timedelta(minutes=5)
DIRECT = "RequestLatency{Operation=generation, Route=direct}"
CACHE = "RequestLatency{Operation=generation, Route=cache}"
MCP = "RequestLatency{Operation=generation, Route=mcp}"


@pytest.fixture
def generation(cfg: MonitoringConfig, thresholds: Thresholds) -> AlarmDefinition:
    return alarm_definitions(cfg, topic_arn=TOPIC, thresholds=thresholds)[0]


def _snapshot(
    buckets: dict[tuple[str, str], dict[float, float]], errors: tuple[str, ...] = ()
) -> LatencySnapshot:
    return LatencySnapshot(END, ("http://127.0.0.1:1",), buckets, errors)


def _evaluate(cw: FakeCloudWatch, d: AlarmDefinition, snapshot: LatencySnapshot | None = None):  # type: ignore[no-untyped-def]
    source = PrometheusSource(urls=("http://127.0.0.1:1",)) if snapshot else None
    evaluator = AlarmEvaluator(cw, end=END, prometheus=source)
    if snapshot is not None:
        evaluator._snapshot = snapshot
    return evaluator.evaluate(d)


def test_cloudwatch_p95_is_used_where_cloudwatch_computes_it(generation: AlarmDefinition) -> None:
    cw = FakeCloudWatch({(DIRECT, "p95"): [(T, 1400.0)], (DIRECT, "SampleCount"): [(T, 400.0)]})
    result = _evaluate(cw, generation)
    assert result.state is AlarmState.OK
    assert (result.value, result.samples) == (1400.0, 400)
    assert result.source == "cloudwatch GetMetricData p95"


def test_cloudwatch_p95_above_the_threshold_alarms(generation: AlarmDefinition) -> None:
    cw = FakeCloudWatch({(DIRECT, "p95"): [(T, 1500.1)], (DIRECT, "SampleCount"): [(T, 400.0)]})
    assert _evaluate(cw, generation).state is AlarmState.ALARM


def test_without_percentiles_a_maximum_within_the_threshold_proves_ok(generation: AlarmDefinition) -> None:
    cw = FakeCloudWatch(
        {
            (DIRECT, "Maximum"): [(T, 1200.0)],
            (CACHE, "Maximum"): [(T, 20.0)],
            (DIRECT, "SampleCount"): [(T, 300.0)],
        },
        refuse=frozenset({"p95"}),
    )
    result = _evaluate(cw, generation)
    assert result.state is AlarmState.OK
    assert result.value == 1200.0
    assert "upper bound" in result.source
    assert any("gave no p95" in r for r in result.reasons)
    assert result.raw["bound"] is True


def test_without_percentiles_and_without_prometheus_a_high_maximum_is_insufficient(
    generation: AlarmDefinition,
) -> None:
    cw = FakeCloudWatch(
        {(DIRECT, "Maximum"): [(T, 4000.0)], (DIRECT, "SampleCount"): [(T, 300.0)]}, refuse=frozenset({"p95"})
    )
    result = _evaluate(cw, generation)
    assert result.state is AlarmState.INSUFFICIENT_DATA
    assert not result.ok
    assert any("no Prometheus source" in r for r in result.reasons)


def test_too_few_samples_for_a_p95_is_insufficient(generation: AlarmDefinition) -> None:
    cw = FakeCloudWatch(
        {(DIRECT, "Maximum"): [(T, 100.0)], (DIRECT, "SampleCount"): [(T, 199.0)]}, refuse=frozenset({"p95"})
    )
    result = _evaluate(cw, generation)
    assert result.state is AlarmState.INSUFFICIENT_DATA
    assert "too few samples: 199 < 200" in result.reasons


def test_no_latency_data_at_all_is_insufficient(generation: AlarmDefinition) -> None:
    result = _evaluate(FakeCloudWatch(refuse=frozenset({"p95"})), generation)
    assert result.state is AlarmState.INSUFFICIENT_DATA
    assert result.value is None


def _buckets(fast: float, slow: float) -> dict[float, float]:
    """Cumulative seconds buckets: ``fast`` samples at 0.5 s, ``slow`` at 2 s."""
    return {0.3: 0.0, 0.5: fast, 1.5: fast, 2.0: fast + slow, math.inf: fast + slow}


def test_prometheus_decides_when_the_maximum_cannot(generation: AlarmDefinition) -> None:
    cw = FakeCloudWatch(
        {(DIRECT, "Maximum"): [(T, 2000.0)], (DIRECT, "SampleCount"): [(T, 300.0)]}, refuse=frozenset({"p95"})
    )
    few_slow = _snapshot({("generation", "direct"): _buckets(fast=290, slow=10)})
    ok = _evaluate(cw, generation, few_slow)
    assert ok.state is AlarmState.OK, ok.message()
    assert ok.value == 500.0  # the upper bound of the bucket (0.3 s, 0.5 s]: never below the true P95
    assert "prometheus" in ok.source
    assert "cumulative" in ok.source
    many_slow = _snapshot({("generation", "direct"): _buckets(fast=200, slow=100)})
    alarm = _evaluate(cw, generation, many_slow)
    assert alarm.state is AlarmState.ALARM
    assert alarm.raw["per_series"][DIRECT]["samples"] == 300


def test_prometheus_that_cannot_be_scraped_is_insufficient(generation: AlarmDefinition) -> None:
    cw = FakeCloudWatch(
        {(DIRECT, "Maximum"): [(T, 2000.0)], (DIRECT, "SampleCount"): [(T, 300.0)]}, refuse=frozenset({"p95"})
    )
    result = _evaluate(cw, generation, _snapshot({}, errors=("http://127.0.0.1:1/metrics: ConnectionError",)))
    assert result.state is AlarmState.INSUFFICIENT_DATA
    assert "ConnectionError" in result.message()


def test_percentiles_are_asked_once_per_evaluation(cfg: MonitoringConfig, thresholds: Thresholds) -> None:
    generation, cached = alarm_definitions(cfg, topic_arn=TOPIC, thresholds=thresholds)[:2]
    cw = FakeCloudWatch(refuse=frozenset({"p95"}))
    evaluator = AlarmEvaluator(cw, end=END)
    evaluator.evaluate(generation)
    evaluator.evaluate(cached)
    assert sum(1 for call in cw.calls if "p95" in call) == 1


def test_cloudwatch_down_is_insufficient_never_ok(generation: AlarmDefinition) -> None:
    result = _evaluate(FakeCloudWatch(down=True), generation)
    assert result.state is AlarmState.INSUFFICIENT_DATA
    assert "CloudWatch did not answer" in result.message()
