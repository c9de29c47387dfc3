"""The alerting path through a moto server: canary alarm -> on-call topic -> SQS queue."""

from __future__ import annotations

import json

import pytest

from bedrock_release.monitoring import AwsClients, MonitoringConfig, check_alert_delivery, ensure_monitoring
from bedrock_release.monitoring.alerting import VIA_EMULATED
from bedrock_release.monitoring.config import MonitoringConfig as Config

pytestmark = pytest.mark.integration


def test_the_canary_notification_arrives_via_the_alarms_own_action(
    clients: AwsClients, cfg: MonitoringConfig
) -> None:
    result = check_alert_delivery(clients, cfg, emulate_cloudwatch_action=True, grace_s=1.0, timeout_s=10)
    assert result.ok, result.message()
    assert result.via == VIA_EMULATED
    assert result.setup_changed  # nothing existed before
    assert result.notification is not None
    assert result.notification["AlarmName"] == cfg.canary_alarm_name
    assert result.token in result.notification["NewStateReason"]
    canary = clients.cloudwatch.describe_alarms(AlarmNames=[cfg.canary_alarm_name])["MetricAlarms"][0]
    assert canary["StateValue"] == "OK"  # put back after the check
    again = check_alert_delivery(clients, cfg, emulate_cloudwatch_action=True, grace_s=0.5, timeout_s=10)
    assert again.ok
    assert not again.setup_changed


def test_without_emulation_moto_delivers_nothing(clients: AwsClients, cfg: MonitoringConfig) -> None:
    result = check_alert_delivery(clients, cfg, timeout_s=2)
    assert not result.ok
    assert result.state_set
    assert any("no notification carrying token" in r for r in result.reasons)


def test_a_broken_subscription_is_repaired_and_reported(clients: AwsClients, cfg: MonitoringConfig) -> None:
    topic = ensure_monitoring(clients, cfg).topic
    clients.sns.unsubscribe(SubscriptionArn=topic.subscription_arn)
    result = check_alert_delivery(clients, cfg, emulate_cloudwatch_action=True, grace_s=0.5, timeout_s=5)
    assert result.ok, result.message()
    assert result.setup_changed  # the evidence shows the path had to be mended before it worked


def test_a_stale_canary_message_is_not_taken_for_this_checks(
    clients: AwsClients, cfg: MonitoringConfig
) -> None:
    topic = ensure_monitoring(clients, cfg).topic
    stale = {"AlarmName": cfg.canary_alarm_name, "NewStateReason": "alerting-path check old-token"}
    clients.sns.publish(TopicArn=topic.topic_arn, Message=json.dumps(stale))
    foreign = {"AlarmName": cfg.alarm_name("error-rate"), "NewStateReason": "real"}
    clients.sns.publish(TopicArn=topic.topic_arn, Message=json.dumps(foreign))
    result = check_alert_delivery(clients, cfg, timeout_s=2)
    assert not result.ok  # the stale one was consumed, not counted
    left = clients.sqs.receive_message(QueueUrl=topic.queue_url, WaitTimeSeconds=1, MaxNumberOfMessages=10)
    bodies = [json.loads(json.loads(m["Body"])["Message"]) for m in left.get("Messages", [])]
    assert bodies == [foreign]  # someone else's notification is left on the queue


def test_without_a_delivery_queue_delivery_cannot_be_observed(
    clients: AwsClients, cfg: MonitoringConfig
) -> None:
    no_queue = Config(
        name_prefix=cfg.name_prefix,
        namespace=cfg.namespace,
        region=cfg.region,
        release_slot="green",
        budget_usd=50.0,
        features_dir=cfg.features_dir,
    )
    result = check_alert_delivery(clients, no_queue, emulate_cloudwatch_action=True)
    assert not result.ok
    assert "no delivery queue" in result.reasons[0]
