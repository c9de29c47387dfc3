"""The audit checks: every serving slot's chain verifies; every operation a check sent is recorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from bedrock_release.suite.audit_check import SlotAudit, slot_audit
from bedrock_release.suite.operations import OperationReply
from bedrock_release.suite.target import Target

__all__ = ["audits_of", "operations_missing"]


def audits_of(
    session: requests.Session, target: Target, token: str, slots: Sequence[str]
) -> dict[str, SlotAudit]:
    """Return each slot's audit verdict and records."""
    out = {}
    for slot in slots:
        url = target.endpoints.slot(slot)
        if url is None:
            raise ValueError(f"slot {slot} is not reachable from the runner")
        out[slot] = slot_audit(session, slot, url, token)
    return out


def operations_missing(
    session: requests.Session, target: Target, token: str, replies: Sequence[OperationReply]
) -> tuple[list[str], dict[str, Any]]:
    """Return the operation ids not found in the audit trail of the slot that answered them."""
    by_slot: dict[str, list[OperationReply]] = {}
    missing: list[str] = []
    for reply in replies:
        if reply.slot is None or reply.operation_id is None:
            missing.append(f"an operation without slot or id (HTTP {reply.status})")
            continue
        by_slot.setdefault(reply.slot, []).append(reply)
    audits = audits_of(session, target, token, sorted(by_slot))
    for slot, slot_replies in by_slot.items():
        recorded = audits[slot].operations()
        for reply in slot_replies:
            record = recorded.get(str(reply.operation_id))
            if record is None:
                missing.append(f"{reply.operation_id} ({slot})")
            elif record.data.get("route") != reply.route or record.data.get("status") != reply.status:
                recorded_as = f"{record.data.get('route')}/{record.data.get('status')}"
                missing.append(f"{reply.operation_id} ({slot}) recorded as {recorded_as}")
    summary = {
        "operations": len(replies),
        "by_slot": {slot: len(r) for slot, r in by_slot.items()},
        "audits": {slot: a.summary() for slot, a in audits.items()},
        "missing": missing,
    }
    return missing, summary
