"""DirectBedrockClient: Amazon Bedrock Runtime ``converse`` through the stock boto3 client.

The endpoint is whatever boto3 resolves (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` in the sandbox, the AWS
endpoint elsewhere); nothing here knows about the emulator. Attempts are bounded by botocore's
``total_max_attempts`` (it retries throttling and 5xx by itself otherwise), each with connect and read
timeouts. The call is refused, and a violation recorded, when the region is not an allowed EU region.
An armed failure switch (``bedrock_failure``, an operator's) fails the call before anything is sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from support_service.bedrock_failure import BedrockFailureSwitch
from support_service.budget import ModelPrice
from support_service.compliance import ComplianceValidator, ViolationRule
from support_service.components import ProbeResult

__all__ = [
    "GAP_ANALYSIS_PROMPT",
    "SYSTEM_PROMPT",
    "BedrockCallError",
    "BedrockReply",
    "DirectBedrockClient",
    "ResidencyRefusedError",
]

SYSTEM_PROMPT = (
    "You are the support assistant of the Bedrock Support service. Answer the {operation} support request "
    "concisely. Placeholders such as [REDACTED_EMAIL] stand for personal data that was removed."
)
#: A generation request is an implementation-gap analysis: the answer leads with a machine-readable
#: diagnosis, as the MCP gap tool's answers do, so that detection accuracy can be measured.
GAP_ANALYSIS_PROMPT = (
    " This is an implementation-gap analysis: begin the answer with the line "
    "'Likely gap: <category> (confidence <0-1>).' naming the gap category in snake_case."
)


def system_prompt(operation: str) -> str:
    """The system prompt of one operation type."""
    extra = GAP_ANALYSIS_PROMPT if operation == "generation" else ""
    return SYSTEM_PROMPT.format(operation=operation) + extra


# Modelled Bedrock error codes -> the kind reported to callers (and in metrics and the audit trail).
_ERROR_KINDS = {
    "ThrottlingException": "throttled",
    "ServiceUnavailableException": "unavailable",
    "InternalServerException": "unavailable",
    "ModelTimeoutException": "timeout",
    "ModelNotReadyException": "unavailable",
    "ValidationException": "validation",
    "AccessDeniedException": "access_denied",
    "ResourceNotFoundException": "not_found",
    "ServiceQuotaExceededException": "throttled",
}


@dataclass(frozen=True)
class BedrockReply:
    """The answer of one converse call, its token usage and cost."""

    answer: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    model_id: str


class BedrockCallError(Exception):
    """The direct call failed after its bounded attempts (``kind``: throttled, timeout, unavailable, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(f"bedrock {kind}: {message}")


class ResidencyRefusedError(Exception):
    """The Bedrock region is outside the allowed EU regions; nothing was sent."""


class DirectBedrockClient:
    """Sends redacted support requests to Bedrock and prices the token usage."""

    def __init__(
        self,
        *,
        region: str,
        model_id: str,
        price: ModelPrice,
        compliance: ComplianceValidator,
        max_attempts: int = 2,
        connect_timeout_s: float = 2.0,
        read_timeout_s: float = 10.0,
        max_tokens: int = 512,
        client: Any = None,
        failure_switch: BedrockFailureSwitch | None = None,
    ) -> None:
        self.region = region
        self.model_id = model_id
        self.price = price
        self.max_tokens = max_tokens
        self._compliance = compliance
        self.failure_switch = failure_switch or BedrockFailureSwitch()
        self.config = Config(
            region_name=region,
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
        )
        # The client is built even for a refused region (no call is made), so health can say why.
        self._client = client if client is not None else boto3.client("bedrock-runtime", config=self.config)

    def converse(self, operation: str, redacted_text: str) -> BedrockReply:
        """One converse call with already-redacted text; blocking (run it in a worker thread)."""
        if not self._compliance.bedrock_region_allowed(self.region):
            self._compliance.record(
                ViolationRule.BEDROCK_REGION, {"region": self.region, "boundary": "bedrock"}
            )
            raise ResidencyRefusedError(f"Bedrock region {self.region} is not an allowed EU region")
        self._compliance.guard_outgoing(redacted_text, boundary="bedrock")
        failing = self.failure_switch.fire()
        if failing is not None:
            raise BedrockCallError(failing, "the failure switch is armed; nothing was sent to Bedrock")
        started = time.perf_counter()
        try:
            response = self._client.converse(
                modelId=self.model_id,
                system=[{"text": system_prompt(operation)}],
                messages=[{"role": "user", "content": [{"text": redacted_text}]}],
                inferenceConfig={"maxTokens": self.max_tokens},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            raise BedrockCallError(_ERROR_KINDS.get(code, "error"), code) from exc
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            raise BedrockCallError("timeout", type(exc).__name__) from exc
        except BotoCoreError as exc:
            raise BedrockCallError("unavailable", type(exc).__name__) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        usage = response.get("usage", {})
        input_tokens = int(usage.get("inputTokens", 0))
        output_tokens = int(usage.get("outputTokens", 0))
        content = response.get("output", {}).get("message", {}).get("content", [])
        answer = "".join(block.get("text", "") for block in content if isinstance(block, dict))
        return BedrockReply(
            answer=answer,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=self.price.cost(input_tokens, output_tokens),
            latency_ms=latency_ms,
            model_id=self.model_id,
        )

    def probe(self) -> ProbeResult:
        """Configuration check without a paid call: region allowed and a client with bounded attempts."""
        if not self._compliance.bedrock_region_allowed(self.region):
            return ProbeResult(
                False, f"region {self.region} is not an allowed EU region; direct calls refused"
            )
        attempts = self.config.retries["total_max_attempts"]
        detail = f"model {self.model_id} in {self.region}, at most {attempts} attempts per call"
        armed = self.failure_switch.state()
        if armed is not None:
            # Still healthy: the configuration is sound; an operator chose to fail calls (see /health).
            detail += f"; failure switch armed ({armed.mode}) by an operator"
        return ProbeResult(True, detail)
