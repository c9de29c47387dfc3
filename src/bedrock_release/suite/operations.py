"""Support operations as the checks send them, and their answers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

__all__ = ["OPERATION_TYPES", "OperationReply", "send_operation"]

OPERATION_TYPES = ("emergency", "critical", "generation", "routine")
_PATH = "/v1/support/operations"


@dataclass(frozen=True)
class OperationReply:
    """One answered (or refused) operation: HTTP status, body and the slot that served it."""

    status: int
    body: dict[str, Any]
    slot: str | None
    elapsed_ms: float
    request: dict[str, Any]

    @property
    def ok(self) -> bool:
        """Return True for an answered operation (HTTP 200)."""
        return self.status == 200

    @property
    def route(self) -> str | None:
        """Return the route the service answered through."""
        return self.body.get("route")

    @property
    def reason(self) -> str | None:
        """Return the router's reason."""
        return self.body.get("reason")

    @property
    def operation_id(self) -> str | None:
        """Return the id the service gave the operation (its audit record carries it)."""
        return self.body.get("operation_id")

    def to_dict(self) -> dict[str, Any]:
        """Return the exchange for evidence attachments."""
        return {
            "request": self.request,
            "status": self.status,
            "slot": self.slot,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "body": self.body,
        }


def send_operation(
    session: requests.Session,
    base_url: str,
    op_type: str,
    query: str,
    *,
    customer_region: str = "eu-central-1",
    customer_id: str | None = None,
    verification_token: str | None = None,
    timeout_s: float = 30.0,
) -> OperationReply:
    """POST one operation; a transport error propagates (the check is then broken, not failed)."""
    payload: dict[str, Any] = {"type": op_type, "query": query, "customer_region": customer_region}
    if customer_id is not None:
        payload["customer_id"] = customer_id
    headers = {"X-Verification-Token": verification_token} if verification_token else {}
    started = time.perf_counter()
    response = session.post(f"{base_url}{_PATH}", json=payload, headers=headers, timeout=timeout_s)
    elapsed = (time.perf_counter() - started) * 1000
    try:
        body = response.json()
    except ValueError:
        body = {"unparsed": response.text[:500]}
    if not isinstance(body, dict):
        body = {"unparsed": body}
    return OperationReply(response.status_code, body, response.headers.get("X-Slot"), elapsed, payload)
