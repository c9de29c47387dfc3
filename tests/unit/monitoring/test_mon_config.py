"""Monitoring configuration: the naming convention, target.json, validation, clients."""

from __future__ import annotations

import pytest

from bedrock_release.monitoring import OPERATIONS_DASHBOARD, AwsClients, MonitoringConfig
from sandbox.seed import OPERATIONS_DASHBOARD as SEEDED

TARGET = {
    "environment": "local",
    "cloudwatch_namespace": "BedrockSupport/local",
    "aws_region": "eu-central-1",
    "budget_name": "bedrock-support-local",
    "slots": {"active": "blue", "idle": "green"},
}


def test_names_follow_the_environment_prefix() -> None:
    cfg = MonitoringConfig.for_environment(
        "staging",
        namespace="BedrockSupport/staging",
        region="eu-west-1",
        release_slot="blue",
        budget_usd=100.0,
    )
    assert cfg.name_prefix == "bedrock-support-staging-"
    assert cfg.topic_name == "bedrock-support-staging-oncall"
    assert cfg.dashboard_name == "bedrock-support-staging-hybrid-routing"
    assert cfg.canary_alarm_name == "bedrock-support-staging-alerting-canary"
    assert cfg.alarm_name("error-rate") == "bedrock-support-staging-error-rate"
    assert cfg.delivery_queue_name is None


def test_from_target_takes_the_idle_slot_and_the_budget_name() -> None:
    cfg = MonitoringConfig.from_target(TARGET, delivery_queue=True)
    assert (cfg.release_slot, cfg.budget_name, cfg.budget_usd) == ("green", "bedrock-support-local", None)
    assert cfg.delivery_queue_name == "bedrock-support-local-oncall-delivery-check"
    assert MonitoringConfig.from_target(TARGET, release_slot="blue").release_slot == "blue"
    assert cfg.to_dict()["namespace"] == "BedrockSupport/local"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"release_slot": "red"}, "release_slot"),
        ({"namespace": ""}, "namespace"),
        ({"name_prefix": "bad prefix "}, "name_prefix"),
        ({"budget_usd": None, "budget_name": None}, "budget"),
        ({"budget_usd": 0.0}, "budget_usd"),
    ],
)
def test_bad_configuration_is_refused(overrides: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "name_prefix": "p-",
        "namespace": "ns",
        "region": "eu-central-1",
        "release_slot": "green",
        "budget_usd": 1.0,
    }
    with pytest.raises(ValueError, match=message):
        MonitoringConfig(**{**base, **overrides})  # type: ignore[arg-type]


def test_operations_dashboard_name_is_the_one_the_sandbox_seeds() -> None:
    assert OPERATIONS_DASHBOARD == SEEDED


def test_clients_use_an_explicit_endpoint_or_boto3s_standard_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    explicit = AwsClients.create("eu-central-1", "http://127.0.0.1:9")
    assert explicit.cloudwatch.meta.endpoint_url == "http://127.0.0.1:9"
    assert explicit.sqs.meta.endpoint_url == "http://127.0.0.1:9"
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:8")
    standard = AwsClients.create("eu-central-1")
    assert standard.cloudwatch.meta.endpoint_url == "http://127.0.0.1:8"
    assert standard.sns.meta.endpoint_url == "https://sns.eu-central-1.amazonaws.com"
