"""The alerting path, end to end: raise a canary alarm, see its notification arrive via the topic.

Real: the topic, the queue and its subscription, SNS fan-out and SQS delivery, the alarm and its
action ARN. CloudWatch runs an alarm's actions when SetAlarmState changes its state; moto 5.2.5 does
not, so with ``emulate_cloudwatch_action`` (the sandbox) the notification CloudWatch would publish is
published to each SNS topic in the alarm's ``AlarmActions`` (read back from CloudWatch, so a wrong
action still fails the check), and the evidence says ``via: emulated-publish``.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bedrock_release.monitoring.config import AwsClients, MonitoringConfig
from bedrock_release.monitoring.definitions import canary_definition
from bedrock_release.monitoring.fetch import api_error
from bedrock_release.monitoring.provision import ensure_alarms, ensure_topic
from bedrock_release.monitoring.results import AlertDelivery

__all__ = ["VIA_CLOUDWATCH", "VIA_EMULATED", "check_alert_delivery", "cloudwatch_notification"]

VIA_CLOUDWATCH = "cloudwatch-action"
VIA_EMULATED = "emulated-publish"


def cloudwatch_notification(
    alarm: Mapping[str, Any], account: str, region: str, old_state: str
) -> tuple[str, str]:
    """(subject, message) of the SNS notification CloudWatch sends when an alarm enters its state."""
    state = str(alarm.get("StateValue", "ALARM"))
    trigger: dict[str, Any] = {
        "MetricName": alarm.get("MetricName"),
        "Namespace": alarm.get("Namespace"),
        "StatisticType": "ExtendedStatistic" if alarm.get("ExtendedStatistic") else "Statistic",
        "Statistic": str(alarm.get("ExtendedStatistic") or alarm.get("Statistic") or "").upper(),
        "Unit": alarm.get("Unit"),
        "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions") or []],
        "Period": alarm.get("Period"),
        "EvaluationPeriods": alarm.get("EvaluationPeriods"),
        "DatapointsToAlarm": alarm.get("DatapointsToAlarm"),
        "ComparisonOperator": alarm.get("ComparisonOperator"),
        "Threshold": alarm.get("Threshold"),
        "TreatMissingData": alarm.get("TreatMissingData", ""),
        "EvaluateLowSampleCountPercentile": alarm.get("EvaluateLowSampleCountPercentile", ""),
    }

    def iso(value: Any) -> str | None:
        return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value

    message = {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": iso(alarm.get("AlarmConfigurationUpdatedTimestamp")),
        "NewStateValue": state,
        "NewStateReason": alarm.get("StateReason"),
        "StateChangeTime": iso(alarm.get("StateUpdatedTimestamp")) or datetime.now(UTC).isoformat(),
        "Region": region,
        "AlarmArn": alarm.get("AlarmArn"),
        "OldStateValue": old_state,
        "OKActions": alarm.get("OKActions") or [],
        "AlarmActions": alarm.get("AlarmActions") or [],
        "InsufficientDataActions": alarm.get("InsufficientDataActions") or [],
        "Trigger": trigger,
    }
    subject = f'{state}: "{alarm["AlarmName"]}" in {region}'[:100]
    return subject, json.dumps(message, default=str)


def _notification(body: str) -> Mapping[str, Any] | None:
    """The CloudWatch message inside an SQS body (SNS envelope, or raw delivery)."""
    try:
        outer = json.loads(body)
    except json.JSONDecodeError:
        return None
    if (
        isinstance(outer, dict)
        and outer.get("Type") == "Notification"
        and isinstance(outer.get("Message"), str)
    ):
        try:
            inner = json.loads(outer["Message"])
        except json.JSONDecodeError:
            return None
        return inner if isinstance(inner, dict) else None
    return outer if isinstance(outer, dict) and "AlarmName" in outer else None


class _Inbox:
    """Reads the delivery queue for this check's notification; other messages are left for others."""

    def __init__(self, sqs: Any, url: str, alarm_name: str, token: str, clock: Callable[[], float]) -> None:
        self.sqs, self.url, self.alarm_name, self.token, self.clock = sqs, url, alarm_name, token, clock
        self.foreign: list[str] = []

    def wait(self, until: float) -> Mapping[str, Any] | None:
        while True:
            remaining = until - self.clock()
            if remaining <= 0:
                return None
            response = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=max(0, min(int(remaining), 5)),
                VisibilityTimeout=30,
            )
            found = None
            for msg in response.get("Messages", []):
                note = _notification(msg.get("Body", ""))
                if note is not None and note.get("AlarmName") == self.alarm_name:
                    # Ours (this check, or a stale canary of an earlier one): consume it.
                    self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=msg["ReceiptHandle"])
                    if self.token in str(note.get("NewStateReason", "")):
                        found = note
                else:
                    self.foreign.append(msg["ReceiptHandle"])
            if found is not None:
                return found

    def release(self) -> None:
        for handle in self.foreign:
            # If this fails the message becomes visible again after its timeout anyway.
            with contextlib.suppress(ClientError, BotoCoreError):
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=handle, VisibilityTimeout=0
                )


def _publish_as_cloudwatch(clients: AwsClients, alarm_name: str, region: str) -> list[str]:
    alarm = clients.cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]
    account = clients.sts.get_caller_identity()["Account"]
    subject, message = cloudwatch_notification(alarm, account, region, old_state="OK")
    published = []
    for action in alarm.get("AlarmActions") or []:
        if str(action).startswith("arn:aws:sns:"):
            clients.sns.publish(TopicArn=action, Subject=subject, Message=message)
            published.append(str(action))
    return published


def check_alert_delivery(
    clients: AwsClients,
    cfg: MonitoringConfig,
    *,
    timeout_s: float = 20.0,
    grace_s: float = 3.0,
    emulate_cloudwatch_action: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> AlertDelivery:
    """Raise the canary alarm; its notification must arrive on the topic's delivery queue."""
    token = uuid.uuid4().hex
    name = cfg.canary_alarm_name

    def result(**kw: Any) -> AlertDelivery:
        base: dict[str, Any] = {
            "alarm_name": name,
            "topic_arn": None,
            "queue_url": None,
            "state_set": False,
            "delivered": False,
            "via": None,
            "token": token,
            "notification": None,
            "waited_s": 0.0,
            "setup_changed": False,
        }
        return AlertDelivery(**{**base, **kw})

    if not cfg.delivery_queue_name:
        return result(
            reasons=("no delivery queue configured: the arrival of a notification cannot be observed",)
        )
    try:
        topic = ensure_topic(clients, cfg)
        canary = ensure_alarms(clients.cloudwatch, [canary_definition(cfg, topic_arn=topic.topic_arn)])
    except (ClientError, BotoCoreError) as exc:
        return result(reasons=(f"could not set up topic, queue or canary: {api_error(exc)}",))
    setup = {
        "topic_arn": topic.topic_arn,
        "queue_url": topic.queue_url,
        "setup_changed": topic.changed or canary.changed,
    }
    inbox = _Inbox(clients.sqs, str(topic.queue_url), name, token, clock)
    started = clock()
    reasons: list[str] = []
    try:
        try:
            clients.cloudwatch.set_alarm_state(
                AlarmName=name,
                StateValue="ALARM",
                StateReason=f"alerting-path check {token} (a test; no action needed)",
            )
        except (ClientError, BotoCoreError) as exc:
            return result(**setup, reasons=(f"SetAlarmState failed: {api_error(exc)}",))
        first_wait = grace_s if emulate_cloudwatch_action else timeout_s
        note = inbox.wait(started + min(first_wait, timeout_s))
        via = VIA_CLOUDWATCH if note is not None else None
        if note is None and emulate_cloudwatch_action:
            reasons.append(
                f"no notification from CloudWatch within {grace_s:g} s (moto runs no alarm actions); "
                "published the CloudWatch notification to the alarm's action topics"
            )
            published = _publish_as_cloudwatch(clients, name, cfg.region)
            if not published:
                reasons.append("the canary alarm has no SNS action")
            note = inbox.wait(started + timeout_s)
            via = VIA_EMULATED if note is not None else None
        if note is None:
            reasons.append(f"no notification carrying token {token} arrived within {timeout_s:g} s")
        return result(
            **setup,
            state_set=True,
            delivered=note is not None,
            via=via,
            notification=note,
            waited_s=round(clock() - started, 3),
            reasons=tuple(reasons),
        )
    except (ClientError, BotoCoreError) as exc:
        return result(
            **setup,
            state_set=True,
            waited_s=round(clock() - started, 3),
            reasons=(*reasons, f"reading the delivery queue failed: {api_error(exc)}"),
        )
    finally:
        inbox.release()
        # If this fails CloudWatch re-evaluates the canary (never breaching) back to OK by itself.
        with contextlib.suppress(ClientError, BotoCoreError):
            clients.cloudwatch.set_alarm_state(
                AlarmName=name, StateValue="OK", StateReason=f"alerting-path check {token} done"
            )
