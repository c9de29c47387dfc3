"""The emulator's model invocation logs, written to moto's CloudWatch Logs and read back with the suite's
own reader (stock boto3 ``logs``), as the phase 4 and 6 checks read Bedrock's in production."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from sbx_helpers import MODEL, Served

from bedrock_release.suite.invocation_logs import InvocationLog, read_invocations
from sandbox.settings import SANDBOX_AWS_ACCESS_KEY_ID, SANDBOX_AWS_SECRET_ACCESS_KEY

GROUP = "/bedrock-support/unit/model-invocations"  # conftest.INVOCATION_LOG_GROUP


def _client(service: str, url: str, key: str = SANDBOX_AWS_ACCESS_KEY_ID) -> Any:
    return boto3.client(
        service,
        region_name="eu-central-1",
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=SANDBOX_AWS_SECRET_ACCESS_KEY,
        config=Config(retries={"total_max_attempts": 1}, proxies={}),
    )


def _read_until(logs: Any, started: datetime, count: int) -> InvocationLog:
    deadline = time.monotonic() + 10  # delivery runs every 0.2 s; 10 s bounds a broken writer
    while True:
        try:
            log = read_invocations(logs, GROUP, region="eu-central-1", start=started)
        except ValueError:
            log = None
        if (log is not None and len(log.invocations) >= count) or time.monotonic() > deadline:
            assert log is not None, "the invocation log group was never readable"
            return log
        time.sleep(0.1)


def test_each_invocation_is_logged_in_the_documented_record_once_the_group_exists(
    moto_url: str, logging_emulator: Served
) -> None:
    url, state = logging_emulator.url, logging_emulator.state
    started = datetime.now(UTC)
    bedrock = _client("bedrock-runtime", url)
    text = "Our nightly export fails [check abcdefghijkl]"
    answer = bedrock.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": text}]}])
    fault = {"kind": "error", "error": "service_unavailable"}
    logging_emulator.admin.post(f"{url}/_emulator/faults", json=fault, timeout=5).raise_for_status()
    with pytest.raises(botocore.exceptions.ClientError):
        bedrock.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "second"}]}])
    with pytest.raises(botocore.exceptions.ClientError):  # unknown key: no account, logged nowhere
        _client("bedrock-runtime", url, key="AKIAUNKNOWNCHECK0001").converse(
            modelId=MODEL, messages=[{"role": "user", "content": [{"text": "who?"}]}]
        )
    writer = state.invocation_log
    deadline = time.monotonic() + 10
    while "does not exist" not in str(writer.last_error) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "does not exist" in str(writer.last_error)  # no group yet: tried, kept for the next round
    assert (writer.stats()["pending"], writer.delivered, writer.dropped) == (2, 0, 0)
    logs = _client("logs", moto_url)
    logs.create_log_group(logGroupName=GROUP)  # what the sandbox seeds
    log = _read_until(logs, started, 2)
    ok, failed = sorted(log.invocations, key=lambda i: i.error_code or "")
    assert (ok.region, ok.operation, ok.model_id) == ("eu-central-1", "Converse", MODEL)
    assert ok.user_texts() == (text,)
    assert log.with_marker("abcdefghijkl") == [ok]
    assert (ok.input_tokens, ok.output_tokens) == (
        answer["usage"]["inputTokens"],
        answer["usage"]["outputTokens"],
    )
    assert ok.output_body["output"] == answer["output"]
    assert ok.account_id == "123456789012"  # moto's account, from STS
    assert failed.error_code == "ServiceUnavailableException"
    assert failed.output_body is None
    assert len(log.invocations) == 2
    stream = logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
    assert [s["logStreamName"] for s in stream] == ["aws/bedrock/modelinvocations"]


def test_no_log_group_configured_means_no_logging(emulator: Served) -> None:
    assert emulator.state.invocation_log is None
