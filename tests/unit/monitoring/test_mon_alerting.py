"""The CloudWatch notification we publish where moto runs no alarm action, and reading it back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bedrock_release.monitoring import cloudwatch_notification
from bedrock_release.monitoring.alerting import _notification

ALARM = {
    "AlarmName": "p-alerting-canary",
    "AlarmDescription": "canary",
    "AlarmArn": "arn:aws:cloudwatch:eu-central-1:123456789012:alarm:p-alerting-canary",
    "StateValue": "ALARM",
    "StateReason": "alerting-path check abc",
    "StateUpdatedTimestamp": datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
    "AlarmActions": ["arn:aws:sns:eu-central-1:123456789012:p-oncall"],
    "MetricName": "AlertingCanary",
    "Namespace": "ns",
    "Statistic": "Maximum",
    "Period": 60,
    "EvaluationPeriods": 1,
    "ComparisonOperator": "GreaterThanThreshold",
    "Threshold": 0.0,
    "Dimensions": [],
}


def test_notification_has_cloudwatchs_shape_and_subject() -> None:
    subject, message = cloudwatch_notification(ALARM, "123456789012", "eu-central-1", old_state="OK")
    assert subject == 'ALARM: "p-alerting-canary" in eu-central-1'
    body = json.loads(message)
    assert body["NewStateValue"] == "ALARM"
    assert body["OldStateValue"] == "OK"
    assert body["NewStateReason"] == "alerting-path check abc"
    assert body["Trigger"]["Statistic"] == "MAXIMUM"
    assert body["StateChangeTime"] == "2026-11-26T15:00:00+00:00"
    assert body["AWSAccountId"] == "123456789012"


def test_reading_back_understands_the_sns_envelope_and_raw_delivery() -> None:
    _, message = cloudwatch_notification(ALARM, "123456789012", "eu-central-1", old_state="OK")
    envelope = json.dumps({"Type": "Notification", "TopicArn": "t", "Message": message})
    assert _notification(envelope)["AlarmName"] == "p-alerting-canary"  # type: ignore[index]
    assert _notification(message)["AlarmName"] == "p-alerting-canary"  # type: ignore[index]
    assert _notification("not json") is None
    assert _notification(json.dumps({"Type": "Notification", "Message": "hello"})) is None
