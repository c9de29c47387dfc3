"""DirectBedrockClient: request shape (botocore Stubber), residency refusal, PII guard, error mapping,
and bounded attempts and timeouts against a local HTTP server speaking the Converse wire format."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.stub import Stubber

from support_service.bedrock import (
    SYSTEM_PROMPT,
    BedrockCallError,
    DirectBedrockClient,
    ResidencyRefusedError,
)
from support_service.budget import ModelPrice
from support_service.compliance import ComplianceValidator, PiiBlockedError, ViolationRule
from support_service.settings import DEFAULT_ALLOWED_REGIONS

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
PRICE = ModelPrice(0.003, 0.015)


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def compliance(region: str = "eu-central-1") -> ComplianceValidator:
    return ComplianceValidator(
        bedrock_region=region,
        allowed_bedrock_regions=DEFAULT_ALLOWED_REGIONS,
        permitted_customer_regions=DEFAULT_ALLOWED_REGIONS,
    )


def stubbed(region: str = "eu-central-1") -> tuple[DirectBedrockClient, Stubber, ComplianceValidator]:
    client = boto3.client("bedrock-runtime", region_name=region)
    validator = compliance(region)
    direct = DirectBedrockClient(
        region=region, model_id=MODEL, price=PRICE, compliance=validator, client=client
    )
    return direct, Stubber(client), validator


CONVERSE_OK = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Rotate the key in KMS."}]}},
    "usage": {"inputTokens": 1000, "outputTokens": 200, "totalTokens": 1200},
    "stopReason": "end_turn",
    "metrics": {"latencyMs": 12},
}


def test_converse_request_shape_and_priced_reply() -> None:
    direct, stub, _ = stubbed()
    stub.add_response(
        "converse",
        CONVERSE_OK,
        {
            "modelId": MODEL,
            "system": [{"text": SYSTEM_PROMPT.format(operation="emergency")}],
            "messages": [{"role": "user", "content": [{"text": "rotate keys for [REDACTED_EMAIL]"}]}],
            "inferenceConfig": {"maxTokens": 512},
        },
    )
    with stub:
        reply = direct.converse("emergency", "rotate keys for [REDACTED_EMAIL]")
    stub.assert_no_pending_responses()
    assert reply.answer == "Rotate the key in KMS."
    assert (reply.input_tokens, reply.output_tokens) == (1000, 200)
    assert reply.cost_usd == pytest.approx(0.003 + 0.2 * 0.015)
    assert reply.model_id == MODEL


def test_region_outside_the_eu_is_refused_and_recorded_without_a_call() -> None:
    direct, stub, validator = stubbed("us-east-1")
    with stub, pytest.raises(ResidencyRefusedError, match="us-east-1"):
        direct.converse("emergency", "hello")
    stub.assert_no_pending_responses()
    assert validator.counts()[ViolationRule.BEDROCK_REGION.value] == 1
    assert not direct.probe().healthy


def test_pii_at_the_boundary_is_blocked_without_a_call() -> None:
    direct, stub, validator = stubbed()
    with stub, pytest.raises(PiiBlockedError):
        direct.converse("routine", "mail me at jane@example.com")
    assert validator.counts()[ViolationRule.PII_IN_MODEL_PAYLOAD.value] == 1


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottlingException", 429, "throttled"),
        ("ServiceUnavailableException", 503, "unavailable"),
        ("ValidationException", 400, "validation"),
        ("ModelTimeoutException", 408, "timeout"),
        ("AccessDeniedException", 403, "access_denied"),
        ("SomethingNew", 500, "error"),
    ],
)
def test_modelled_errors_map_to_kinds(code: str, status: int, kind: str) -> None:
    direct, stub, _ = stubbed()
    stub.add_client_error("converse", service_error_code=code, http_status_code=status)
    with stub, pytest.raises(BedrockCallError) as info:
        direct.converse("critical", "help")
    assert info.value.kind == kind


class _Converse(BaseHTTPRequestHandler):
    """Answers /model/<id>/converse as told by the server's ``mode``."""

    def do_POST(self) -> None:
        server = self.server
        server.requests.append(self.path)  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("content-length", 0)))
        mode = server.mode  # type: ignore[attr-defined]
        if mode == "slow":
            time.sleep(1.0)
        if mode == "unavailable":
            body = json.dumps({"message": "try later"}).encode()
            self.send_response(503)
            self.send_header("x-amzn-ErrorType", "ServiceUnavailableException")
        else:
            body = json.dumps(CONVERSE_OK).encode()
            self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (read timeout)
            self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def local_bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Converse)
    server.daemon_threads = True
    server.requests = []  # type: ignore[attr-defined]
    server.mode = "ok"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # boto3's standard per-service endpoint variable: the code has no special case for it.
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f"http://127.0.0.1:{server.server_address[1]}")
    yield server
    server.shutdown()
    server.server_close()


def real_client(max_attempts: int, read_timeout_s: float = 2.0) -> DirectBedrockClient:
    return DirectBedrockClient(
        region="eu-central-1",
        model_id=MODEL,
        price=PRICE,
        compliance=compliance(),
        max_attempts=max_attempts,
        connect_timeout_s=1.0,
        read_timeout_s=read_timeout_s,
    )


def test_stock_client_reaches_the_endpoint_from_the_standard_variable(
    local_bedrock: ThreadingHTTPServer,
) -> None:
    reply = real_client(2).converse("generation", "explain the gap")
    assert reply.output_tokens == 200
    assert local_bedrock.requests == [f"/model/{MODEL.replace(':', '%3A')}/converse"]  # type: ignore[attr-defined]


def test_attempts_are_bounded(local_bedrock: ThreadingHTTPServer) -> None:
    local_bedrock.mode = "unavailable"  # type: ignore[attr-defined]
    with pytest.raises(BedrockCallError) as info:
        real_client(3).converse("emergency", "help")
    assert info.value.kind == "unavailable"
    assert len(local_bedrock.requests) == 3  # type: ignore[attr-defined]


def test_read_timeout_is_bounded(local_bedrock: ThreadingHTTPServer) -> None:
    local_bedrock.mode = "slow"  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(BedrockCallError) as info:
        real_client(2, read_timeout_s=0.2).converse("emergency", "help")
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 2.0
    assert len(local_bedrock.requests) == 2  # type: ignore[attr-defined]


def test_probe_reports_bounded_attempts() -> None:
    probe = real_client(2).probe()
    assert probe.healthy
    assert "at most 2 attempts" in probe.detail
