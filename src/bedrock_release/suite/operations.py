"""Support operations as the checks send them, and their answers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = ["OPERATION_TYPES", "OperationReply", "Sender", "SentOperations", "send_operation"]

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


@dataclass
class SentOperations:
    """Every operation the checks sent in this session, with the phase that sent it (the audit check)."""

    entries: list[tuple[int | None, OperationReply]] = field(default_factory=list)

    def add(self, phase: int | None, reply: OperationReply) -> OperationReply:
        """Record one sent operation."""
        self.entries.append((phase, reply))
        return reply

    def of_phase(self, phase: int | None) -> list[OperationReply]:
        """Return the operations a phase sent, oldest first."""
        return [reply for p, reply in self.entries if p == phase]


@dataclass(frozen=True)
class Sender:
    """Sends operations for one scenario: verification ones to a slot, customer ones through the LB."""

    session: requests.Session
    traffic_url: str | None
    slot_urls: dict[str, str | None]
    token: str | None
    phase: int | None
    log: SentOperations

    def verification(
        self, op_type: str, query: str, *, slot: str, customer_region: str = "eu-central-1"
    ) -> OperationReply:
        """One operation in the verification context (all flags on), sent straight to a slot."""
        url = self.slot_urls.get(slot)
        if not url:
            raise ValueError(f"no reachable URL for slot {slot}")
        if not self.token:
            raise ValueError("verification operations need SUPPORT_ADMIN_TOKEN")
        reply = send_operation(
            self.session, url, op_type, query, customer_region=customer_region, verification_token=self.token
        )
        return self.log.add(self.phase, reply)

    def customer(self, op_type: str, query: str, *, customer_region: str = "eu-central-1") -> OperationReply:
        """One customer operation (no verification header) through the load balancer."""
        if not self.traffic_url:
            raise ValueError("the target has no load balancer endpoint")
        reply = send_operation(
            self.session, self.traffic_url, op_type, query, customer_region=customer_region
        )
        return self.log.add(self.phase, reply)
