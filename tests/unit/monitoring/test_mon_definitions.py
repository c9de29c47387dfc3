"""The eight alarms as data: names, thresholds from the features, action, CloudWatch validity."""

from __future__ import annotations

import re

import botocore.session
import pytest
from botocore.validate import ParamValidator
from mon_fixtures import TOPIC

from bedrock_release.monitoring import (
    ALARM_NAMES,
    AlarmDefinition,
    AlarmKind,
    MonitoringConfig,
    Thresholds,
    alarm_definitions,
    canary_definition,
    is_published,
    normalise_alarm,
)

_MODEL = botocore.session.get_session().get_service_model("cloudwatch")


@pytest.fixture
def alarms(cfg: MonitoringConfig, thresholds: Thresholds) -> tuple[AlarmDefinition, ...]:
    return alarm_definitions(cfg, topic_arn=TOPIC, thresholds=thresholds)


def test_the_alarms_are_the_features_names_with_the_environment_prefix(
    alarms: tuple[AlarmDefinition, ...],
) -> None:
    assert tuple(a.name for a in alarms) == ALARM_NAMES
    assert all(a.alarm_name == f"bedrock-support-local-{a.name}" for a in alarms)


def test_each_threshold_equals_the_feature_and_every_alarm_notifies_the_topic(
    alarms: tuple[AlarmDefinition, ...], thresholds: Thresholds
) -> None:
    for a in alarms:
        request = a.put_kwargs()
        assert request["Threshold"] == thresholds.alarm(a.name).value
        assert request["AlarmActions"] == [TOPIC]
        assert request["ActionsEnabled"] is True
        assert request["ComparisonOperator"] == "GreaterThanThreshold"  # at the threshold is OK


@pytest.mark.parametrize("name", ALARM_NAMES)
def test_every_request_is_valid_for_the_cloudwatch_api(
    alarms: tuple[AlarmDefinition, ...], name: str
) -> None:
    request = next(a for a in alarms if a.name == name).put_kwargs()
    report = ParamValidator().validate(request, _MODEL.operation_model("PutMetricAlarm").input_shape)
    assert not report.has_errors(), report.generate_report()


def test_every_alarm_metric_is_one_the_service_publishes(alarms: tuple[AlarmDefinition, ...]) -> None:
    for a in alarms:
        for m in (*a.metrics, *([a.heartbeat] if a.heartbeat else [])):
            assert is_published(m.key), (a.name, m.key.label())


def test_expressions_only_reference_their_metrics_and_stay_within_cloudwatch_limits(
    alarms: tuple[AlarmDefinition, ...],
) -> None:
    for a in alarms:
        assert len(a.metrics) <= 10
        ids = {m.id for m in a.metrics}
        assert all(re.fullmatch(r"[a-z][a-zA-Z0-9_]*", i) for i in ids)
        if a.expression is not None:
            referenced = set(re.findall(r"\b[a-z][a-zA-Z0-9_]*\b", a.expression)) - {"e1"}
            assert referenced <= ids, (a.name, referenced - ids)
            assert referenced == ids, f"{a.name}: every retrieved metric is used"
        assert set(a.required) <= ids


def test_the_expression_matches_its_kind(alarms: tuple[AlarmDefinition, ...]) -> None:
    # The Python twin of each kind is in twins.py; this pins which expression each kind stands for.
    expected = {
        AlarmKind.MAX_PERCENTILE: r"^MAX\(\[[a-z_, ]+\]\)$",
        AlarmKind.ERROR_RATE: r"^100 \* FILL\(err, 0\) / \(FILL\(err, 0\) \+ FILL\(ok, 0\)\)$",
        AlarmKind.BUDGET_SHARE: r"^100 \* SUM\(\[spend_blue, spend_green\]\) / 50\.0$",
        AlarmKind.EVENT_COUNT: r"^SUM\(\[[a-z_, ]+\]\)$",
        AlarmKind.UNHEALTHY_COUNT: r"^7 - SUM\(\[h0, h1, h2, h3, h4, h5, h6\]\)$",
        AlarmKind.OPEN_COUNT: r"^IF\(c_bedrock >= 2, 1, 0\) \+ IF\(c_mcp >= 2, 1, 0\)$",
    }
    for a in alarms:
        if a.expression is not None:
            assert re.match(expected[a.kind], a.expression), (a.name, a.expression)


def test_latency_alarms_cover_every_route_of_their_requests(alarms: tuple[AlarmDefinition, ...]) -> None:
    by_name = {a.name: a for a in alarms}
    generation = {dict(m.key.dimensions)["Route"] for m in by_name["p95-latency-generation"].metrics}
    cached = {dict(m.key.dimensions)["Operation"] for m in by_name["p95-latency-cached"].metrics}
    assert generation == {"direct", "mcp", "cache"}
    assert cached == {"routine", "generation"}
    assert all(m.stat == "p95" for m in by_name["p95-latency-cached"].metrics)
    assert by_name["p95-latency-generation"].min_samples == 200


def test_health_and_circuit_alarms_watch_the_release_slot(alarms: tuple[AlarmDefinition, ...]) -> None:
    for a in alarms:
        if a.kind in (AlarmKind.UNHEALTHY_COUNT, AlarmKind.OPEN_COUNT):
            assert {dict(m.key.dimensions)["Slot"] for m in a.metrics} == {"green"}
    pii = next(a for a in alarms if a.name == "pii-leak")
    assert pii.expression is None
    assert pii.put_kwargs()["Statistic"] == "Sum"


def test_the_cost_alarm_needs_a_budget(cfg: MonitoringConfig, thresholds: Thresholds) -> None:
    no_budget = MonitoringConfig(
        name_prefix="p-", namespace="ns", region="eu-central-1", release_slot="blue", budget_name="b"
    )
    with pytest.raises(ValueError, match="budget"):
        alarm_definitions(no_budget, topic_arn=TOPIC, thresholds=thresholds)
    budget = alarm_definitions(cfg, topic_arn=TOPIC, budget_usd=20.0, thresholds=thresholds)[3]
    assert budget.expression is not None
    assert budget.expression.endswith("/ 20.0")


def test_normalise_makes_a_request_and_its_moto_description_equal(
    alarms: tuple[AlarmDefinition, ...],
) -> None:
    request = alarms[2].put_kwargs()
    described = {
        **request,
        "Threshold": 1,  # an int
        "AlarmActions": list(request["AlarmActions"]),
        # moto leaves out ReturnData=False and returns dimensions in its own order
        "Metrics": [
            {k: v for k, v in q.items() if not (k == "ReturnData" and v is False)} for q in request["Metrics"]
        ],
        "StateValue": "OK",
        "AlarmArn": "arn:aws:cloudwatch:eu-central-1:123456789012:alarm:x",
    }
    assert normalise_alarm(described) == normalise_alarm(request)


def test_normalise_sees_a_changed_threshold_period_or_action(alarms: tuple[AlarmDefinition, ...]) -> None:
    request = alarms[5].put_kwargs()
    base = normalise_alarm(request)
    assert normalise_alarm({**request, "Threshold": 1.0}) != base
    assert normalise_alarm({**request, "Period": 300}) != base
    assert normalise_alarm({**request, "AlarmActions": []}) != base


def test_canary_is_a_never_breaching_test_alarm_on_the_topic(cfg: MonitoringConfig) -> None:
    canary = canary_definition(cfg, topic_arn=TOPIC)
    assert canary["AlarmName"] == "bedrock-support-local-alerting-canary"
    assert canary["TreatMissingData"] == "notBreaching"
    assert canary["AlarmActions"] == [TOPIC]
    assert canary["AlarmName"].removeprefix(cfg.name_prefix) not in ALARM_NAMES
    report = ParamValidator().validate(canary, _MODEL.operation_model("PutMetricAlarm").input_shape)
    assert not report.has_errors(), report.generate_report()
