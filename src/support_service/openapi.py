"""The service's contract as its OpenAPI document: request bodies, every answer, the bearer scheme.

Clients and the verification suite rely on ``/openapi.json``, and schemathesis holds the live service
to it (tests/integration/sandbox/test_sbx_openapi_contract.py). The operation endpoint reads its body
itself (bounded read, 400 for bad JSON, 413), so its body is declared here rather than inferred.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ADMIN_RESPONSES",
    "BEARER",
    "ERROR",
    "OPERATION_RESPONSES",
    "PROBLEMS",
    "declared",
    "operation_request_body",
]

#: The error body of every refusal: ``error`` always, ``detail`` or ``problems`` naming what is wrong.
ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "detail": {"type": "string"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "problem"],
                "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
            },
        },
    },
}
PROBLEMS = ERROR
BEARER = {"bearer": {"type": "http", "scheme": "bearer"}}

#: What Python's str.isspace() calls white space (a query of these alone is empty), as a class.
_BLANK = "\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = f"[^{_BLANK}]"
#: An AWS region code (also the service's own check of customer_region).
REGION = "^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def declared(**answers: str) -> dict[int | str, dict[str, Any]]:
    """Responses with the error body, by status: ``declared(_404="no such component")``."""
    return {code.lstrip("_"): _error(text) for code, text in answers.items()}


_OPERATION_ANSWER: dict[str, Any] = {
    "type": "object",
    "required": ["operation_id", "type", "route", "reason", "redactions", "cache", "latency_ms"],
    "properties": {
        "operation_id": {"type": "string"},
        "type": {"enum": ["emergency", "critical", "generation", "routine"]},
        "route": {"enum": ["mcp", "direct", "cache"]},
        "reason": {"type": "string"},
        "answer": {"type": "string"},
        "redactions": {"type": "array", "items": {"type": "string"}},
        "cache": {"enum": ["hit", "miss", "bypass"]},
        "latency_ms": {"type": "number"},
        "tokens": {
            "type": "object",
            "properties": {"input": {"type": "integer"}, "output": {"type": "integer"}},
        },
        "cost_usd": {"type": "number"},
        "release": {"type": "string"},
        "slot": {"type": "string"},
        "verification": {"type": "boolean"},
        "fallback": {
            "type": "object",
            "properties": {"from": {"type": "string"}, "error": {"type": "string"}},
        },
    },
}

OPERATION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "answered", "content": {"application/json": {"schema": _OPERATION_ANSWER}}},
    **declared(
        _400="the body is not valid JSON",
        _403="X-Verification-Token is not valid",
        _413="the body is larger than the limit",
        _422="the body is not a valid operation (problems name each field), or PII was blocked",
        _500="an unexpected error; the operation is audited",
        _502="Bedrock or MCP failed and nothing could answer",
        _503="components not active yet, the MCP circuit is open, or the audit trail is unavailable",
    ),
}

#: Every admin endpoint may answer these besides its own.
ADMIN_RESPONSES = declared(
    _401="no bearer token",
    _403="the bearer token is not valid",
    _422="a parameter or the body is not valid (problems name each field)",
    _503="the audit trail could not record the admin action",
)


def operation_request_body(max_query_chars: int) -> dict[str, Any]:
    """The operation request as the service validates it (docs/contracts.md)."""
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["type", "query", "customer_region"],
                    "properties": {
                        "type": {"enum": ["emergency", "critical", "generation", "routine"]},
                        "query": {"type": "string", "pattern": NOT_BLANK, "maxLength": max_query_chars},
                        "customer_region": {"type": "string", "pattern": REGION},
                        "customer_id": {"type": ["string", "null"], "maxLength": 256},
                    },
                }
            }
        },
    }
