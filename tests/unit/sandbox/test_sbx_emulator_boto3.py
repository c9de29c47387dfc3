"""Stock boto3 bedrock-runtime against the emulator: happy paths, modelled errors, auth, faults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from sbx_helpers import MODEL, Served

USER = [{"role": "user", "content": [{"text": "Our nightly export job fails with a timeout"}]}]


def _converse(client: Any, text: str = "Our nightly export job fails with a timeout", **kwargs: Any) -> Any:
    return client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": text}]}], **kwargs)


def test_converse_returns_answer_usage_metrics_and_stop_reason(bedrock: Callable[..., Any]) -> None:
    response = _converse(bedrock(), system=[{"text": "Be brief."}])
    text = response["output"]["message"]["content"][0]["text"]
    assert response["output"]["message"]["role"] == "assistant"
    assert "nightly export job" in text
    usage = response["usage"]
    assert usage["inputTokens"] > 0
    assert usage["outputTokens"] > 0
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert response["stopReason"] == "end_turn"
    assert response["metrics"]["latencyMs"] >= 0


def test_converse_is_deterministic_and_depends_on_input(bedrock: Callable[..., Any]) -> None:
    client = bedrock()
    first, again = _converse(client, "question A"), _converse(client, "question A")
    other = _converse(client, "question B")
    assert first["output"] == again["output"]
    assert first["usage"] == again["usage"]
    assert first["output"] != other["output"]


def test_converse_stops_at_max_tokens(bedrock: Callable[..., Any]) -> None:
    response = _converse(bedrock(), inferenceConfig={"maxTokens": 3})
    assert response["stopReason"] == "max_tokens"
    assert response["usage"]["outputTokens"] <= 3


def test_invoke_model_anthropic_messages_body(bedrock: Callable[..., Any]) -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "hi"}],
    }
    response = bedrock().invoke_model(modelId="eu." + MODEL, body=json.dumps(body))
    payload = json.loads(response["body"].read())
    assert payload["type"] == "message"
    assert payload["content"][0]["type"] == "text"
    assert payload["usage"]["input_tokens"] >= 1
    assert payload["usage"]["output_tokens"] >= 1
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-output-token-count"] == str(payload["usage"]["output_tokens"])
    assert response["contentType"] == "application/json"


def test_invoke_model_titan_body(bedrock: Callable[..., Any]) -> None:
    response = bedrock().invoke_model(
        modelId="amazon.titan-text-express-v1", body=json.dumps({"inputText": "hello"})
    )
    payload = json.loads(response["body"].read())
    assert payload["results"][0]["completionReason"] == "FINISH"
    assert payload["inputTextTokenCount"] >= 1


def test_invoke_model_unknown_family_is_validation_error(bedrock: Callable[..., Any]) -> None:
    client = bedrock()
    with pytest.raises(client.exceptions.ValidationException, match="model identifier is invalid"):
        client.invoke_model(modelId="acme.unknown-v1", body=json.dumps({"prompt": "x"}))


def test_invoke_model_missing_required_key_is_validation_error(bedrock: Callable[..., Any]) -> None:
    client = bedrock()
    with pytest.raises(client.exceptions.ValidationException, match="max_tokens"):
        client.invoke_model(modelId=MODEL, body=json.dumps({"anthropic_version": "x", "messages": []}))


def test_conversation_must_start_with_user(bedrock: Callable[..., Any]) -> None:
    client = bedrock()
    with pytest.raises(client.exceptions.ValidationException, match="start with a user message"):
        client.converse(modelId=MODEL, messages=[{"role": "assistant", "content": [{"text": "hi"}]}])


@pytest.mark.parametrize(
    ("kind", "exception", "status"),
    [
        ("throttling", "ThrottlingException", 429),
        ("service_unavailable", "ServiceUnavailableException", 503),
        ("validation", "ValidationException", 400),
        ("model_timeout", "ModelTimeoutException", 408),
        ("access_denied", "AccessDeniedException", 403),
        ("internal", "InternalServerException", 500),
    ],
)
def test_each_error_kind_raises_the_modelled_exception(
    emulator: Served, bedrock: Callable[..., Any], kind: str, exception: str, status: int
) -> None:
    emulator.admin.put(
        f"{emulator.url}/_emulator/faults", json={"kind": "error", "error": kind}
    ).raise_for_status()
    client = bedrock()
    with pytest.raises(getattr(client.exceptions, exception)) as raised:
        _converse(client)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert raised.value.response["Error"]["Code"] == exception


def test_unknown_access_key_is_access_denied(bedrock: Callable[..., Any]) -> None:
    client = bedrock(access_key="AKIAOTHERKEY00000000")
    with pytest.raises(client.exceptions.AccessDeniedException, match="security token"):
        _converse(client)


def test_unsigned_request_is_access_denied(emulator: Served) -> None:
    client = boto3.client(
        "bedrock-runtime",
        region_name="eu-central-1",
        endpoint_url=emulator.url,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}, proxies={}),
    )
    with pytest.raises(client.exceptions.AccessDeniedException):
        _converse(client)


def test_boto3_retries_are_observable_and_bounded(emulator: Served, bedrock: Callable[..., Any]) -> None:
    rule = {"kind": "error", "error": "throttling", "times": 2}
    emulator.admin.post(f"{emulator.url}/_emulator/faults", json=rule).raise_for_status()
    response = _converse(bedrock(attempts=3))  # two throttled attempts, the third succeeds
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    counters = emulator.admin.get(f"{emulator.url}/_emulator/counters").json()
    assert counters["by_status"] == {"200": 1, "429": 2}


def test_fixed_latency_is_observed_by_the_client(emulator: Served, bedrock: Callable[..., Any]) -> None:
    rule = {"kind": "latency", "mean_ms": 300}
    emulator.admin.post(f"{emulator.url}/_emulator/faults", json=rule).raise_for_status()
    started = time.perf_counter()
    response = _converse(bedrock())
    assert time.perf_counter() - started >= 0.3
    assert response["metrics"]["latencyMs"] >= 300


def test_latency_applies_only_to_the_marked_requests(emulator: Served, bedrock: Callable[..., Any]) -> None:
    rule = {"kind": "latency", "mean_ms": 400, "match": {"marker": "[slow]"}}
    emulator.admin.post(f"{emulator.url}/_emulator/faults", json=rule).raise_for_status()
    client = bedrock()
    assert _converse(client, "fast please")["metrics"]["latencyMs"] < 400
    assert _converse(client, "[slow] please")["metrics"]["latencyMs"] >= 400


def test_error_rule_scoped_to_another_model_does_not_fire(
    emulator: Served, bedrock: Callable[..., Any]
) -> None:
    rule = {"kind": "error", "error": "service_unavailable", "match": {"model": "amazon.nova-pro-v1:0"}}
    emulator.admin.post(f"{emulator.url}/_emulator/faults", json=rule).raise_for_status()
    assert _converse(bedrock())["stopReason"] == "end_turn"


def test_hang_beyond_read_timeout_times_the_client_out(emulator: Served, bedrock: Callable[..., Any]) -> None:
    rule = {"kind": "hang", "seconds": 3}
    emulator.admin.post(f"{emulator.url}/_emulator/faults", json=rule).raise_for_status()
    started = time.perf_counter()
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        _converse(bedrock(read_timeout=0.5))
    assert time.perf_counter() - started < 2.5


def test_hang_within_read_timeout_ends_in_model_timeout(
    emulator: Served, bedrock: Callable[..., Any]
) -> None:
    rule = {"kind": "hang", "seconds": 0.2}
    emulator.admin.post(f"{emulator.url}/_emulator/faults", json=rule).raise_for_status()
    client = bedrock()
    with pytest.raises(client.exceptions.ModelTimeoutException):
        _converse(client)


def test_rate_limit_throttles_beyond_the_burst(emulator: Served, bedrock: Callable[..., Any]) -> None:
    rule = {"kind": "rate_limit", "rps": 0.01, "burst": 2}
    emulator.admin.post(f"{emulator.url}/_emulator/faults", json=rule).raise_for_status()
    client = bedrock()
    _converse(client)
    _converse(client)
    with pytest.raises(client.exceptions.ThrottlingException):
        _converse(client)


def test_error_rate_with_seed_replays_identically(emulator: Served, bedrock: Callable[..., Any]) -> None:
    client = bedrock()

    def outcomes() -> list[bool]:
        rules = {"seed": 7, "rules": [{"kind": "error", "error": "throttling", "rate": 0.5}]}
        emulator.admin.put(f"{emulator.url}/_emulator/faults", json=rules).raise_for_status()
        results = []
        for _ in range(20):
            try:
                _converse(client)
                results.append(True)
            except client.exceptions.ThrottlingException:
                results.append(False)
        return results

    first = outcomes()
    assert first == outcomes()
    assert 3 <= first.count(False) <= 17  # a rate of 0.5, not all or nothing


def test_received_requests_show_bodies_region_and_outcome(
    emulator: Served, bedrock: Callable[..., Any]
) -> None:
    _converse(bedrock(), "redacted [REDACTED_EMAIL] text")
    log = emulator.admin.get(f"{emulator.url}/_emulator/requests").json()
    (entry,) = log["requests"]
    assert entry["operation"] == "converse"
    assert entry["model_id"] == MODEL
    assert entry["region"] == "eu-central-1"
    assert entry["status"] == 200
    assert entry["body"]["messages"][0]["content"][0]["text"] == "redacted [REDACTED_EMAIL] text"
    after = emulator.admin.get(f"{emulator.url}/_emulator/requests", params={"after": log["last_seq"]}).json()
    assert after["requests"] == []


def test_rejected_requests_are_recorded_too(emulator: Served, bedrock: Callable[..., Any]) -> None:
    with pytest.raises(botocore.exceptions.ClientError):
        _converse(bedrock(access_key="AKIAOTHERKEY00000000"), "secret body")
    (entry,) = emulator.admin.get(f"{emulator.url}/_emulator/requests").json()["requests"]
    assert entry["status"] == 403
    assert entry["error"] == "access_denied"
    assert entry["body"]["messages"][0]["content"][0]["text"] == "secret body"
