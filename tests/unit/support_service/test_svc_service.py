"""Wiring with the real boto3 clients: endpoints come only from boto3's standard variables
(moto on an ephemeral 127.0.0.1 port here), flags and CloudWatch go over the wire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from svc_fakes import FLAGS_PATH, make_settings

from support_service.service import build_service


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL_SSM": url,
        "AWS_ENDPOINT_URL_CLOUDWATCH": url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield url
    server.stop()


def test_default_clients_use_the_standard_endpoint_variables(tmp_path: Path, moto_url: str) -> None:
    ssm = boto3.client("ssm", region_name="eu-central-1", endpoint_url=moto_url)
    ssm.put_parameter(
        Name=f"{FLAGS_PATH}/ENABLE_BEDROCK_SUPPORT_MODE", Value="true", Type="String", Overwrite=True
    )
    settings = make_settings(tmp_path, cloudwatch_namespace="BedrockSupport/wiring")
    service = build_service(settings, mcp_server=None)
    # No region configured anywhere: SSM and CloudWatch use the Bedrock region.
    assert service.flags._ssm.meta.region_name == "eu-central-1"
    service.start()
    try:
        status = service.flags.refresh()
        assert status.store == "ok"
        assert status.values.bedrock_support_mode
        assert service.registry.all_active()
        assert service.cloudwatch is not None
        service.telemetry.operation("routine", "mcp", "ok", 0.02)
        result = service.cloudwatch.flush()
        assert result.failed_batches == 0
    finally:
        service.stop()
    cloudwatch = boto3.client("cloudwatch", region_name="eu-central-1", endpoint_url=moto_url)
    names = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="BedrockSupport/wiring")["Metrics"]}
    assert {"Requests", "RequestLatency", "FlagEnabled", "CircuitState", "BudgetSpentUSD"} <= names


def test_configured_aws_region_wins(tmp_path: Path, moto_url: str) -> None:
    service = build_service(make_settings(tmp_path, aws_region="eu-west-1"))
    assert service.flags._ssm.meta.region_name == "eu-west-1"
