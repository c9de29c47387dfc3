"""Idempotent creation (in-process moto): a second run changes nothing; check mode writes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from bedrock_release.monitoring import AwsClients, MonitoringConfig, ensure_monitoring, resolve_budget
from bedrock_release.monitoring.provision import MonitoringError


@pytest.fixture
def clients() -> Iterator[AwsClients]:
    with mock_aws():
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="eu-central-1",
        )
        yield AwsClients.create("eu-central-1", session=session)


def test_second_run_reports_no_change(clients: AwsClients, cfg: MonitoringConfig) -> None:
    first = ensure_monitoring(clients, cfg)
    assert first.changed
    assert len(first.alarms.created) == 9  # eight alarms and the canary
    assert first.dashboard.created == ("bedrock-support-local-hybrid-routing",)
    assert first.topic.subscription_arn
    second = ensure_monitoring(clients, cfg)
    assert not second.changed
    assert (second.alarms.created, second.alarms.updated) == ((), ())
    assert len(second.alarms.unchanged) == 9
    assert second.topic.topic_arn == first.topic.topic_arn


def test_a_drifted_alarm_or_dashboard_is_put_back(clients: AwsClients, cfg: MonitoringConfig) -> None:
    ensure_monitoring(clients, cfg)
    cw = clients.cloudwatch
    alarm = cw.describe_alarms(AlarmNames=["bedrock-support-local-pii-leak"])["MetricAlarms"][0]
    cw.put_metric_alarm(
        AlarmName=alarm["AlarmName"],
        MetricName=alarm["MetricName"],
        Namespace=alarm["Namespace"],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cw.put_dashboard(DashboardName=cfg.dashboard_name, DashboardBody='{"widgets": []}')
    again = ensure_monitoring(clients, cfg)
    assert again.alarms.updated == ("bedrock-support-local-pii-leak",)
    assert again.dashboard.updated == (cfg.dashboard_name,)
    fixed = cw.describe_alarms(AlarmNames=["bedrock-support-local-pii-leak"])["MetricAlarms"][0]
    assert fixed["Threshold"] == 0.0


def test_check_mode_reports_and_writes_nothing(clients: AwsClients, cfg: MonitoringConfig) -> None:
    planned = ensure_monitoring(clients, cfg, check_mode=True)
    assert planned.changed
    assert planned.topic.topic_arn.endswith(":bedrock-support-local-oncall")
    assert clients.sns.list_topics()["Topics"] == []
    assert clients.cloudwatch.describe_alarms()["MetricAlarms"] == []
    assert clients.cloudwatch.list_dashboards()["DashboardEntries"] == []


def test_budget_comes_from_aws_budgets_when_not_configured(
    clients: AwsClients, cfg: MonitoringConfig
) -> None:
    named = MonitoringConfig(
        name_prefix=cfg.name_prefix,
        namespace=cfg.namespace,
        region=cfg.region,
        release_slot="green",
        budget_name="bedrock-support-local",
        features_dir=cfg.features_dir,
    )
    with pytest.raises(MonitoringError, match="does not exist"):
        resolve_budget(clients, named)
    account = clients.sts.get_caller_identity()["Account"]
    clients.budgets.create_budget(
        AccountId=account,
        Budget={
            "BudgetName": "bedrock-support-local",
            "BudgetLimit": {"Amount": "50.00", "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
        },
    )
    assert resolve_budget(clients, named) == (50.0, "AWS Budgets bedrock-support-local (limit 50 USD)")
