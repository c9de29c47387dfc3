"""A slot's audit trail: where it is, whether its hash chain verifies, and which operations it holds.

On the runner's machine (the sandbox) the slot's file is verified in place with
``audit_trail.verify``; elsewhere the records are fetched through ``/admin/audit`` and the chain is
verified from them (the same canonical form and hashes).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from audit_trail import AuditRecord, ChainVerdict, read, verify
from bedrock_release.suite.admin_apis import ServiceAdmin

__all__ = ["SlotAudit", "operation_ids", "slot_audit"]


@dataclass(frozen=True)
class SlotAudit:
    """The audit trail of one slot: its verdict and its records."""

    slot: str
    where: str
    verdict: ChainVerdict
    records: tuple[AuditRecord, ...]

    def operations(self) -> dict[str, AuditRecord]:
        """Return the ``support.operation`` records by operation id."""
        return {
            str(r.data.get("operation_id")): r
            for r in self.records
            if r.action == "support.operation" and r.data.get("operation_id")
        }

    def summary(self) -> dict[str, Any]:
        """Return what an auditor needs to see of the verdict."""
        return {
            "slot": self.slot,
            "where": self.where,
            "ok": self.verdict.ok,
            "records": self.verdict.records,
            "head": self.verdict.head_hash,
            "problems": [str(p) for p in self.verdict.problems],
        }


def _fetch_all(admin: ServiceAdmin) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = -1
    while True:
        page = admin.audit_page(after)
        out.extend(page)
        if len(page) < 1000:
            return out
        after = int(page[-1]["seq"])


def slot_audit(session: requests.Session, slot: str, slot_url: str, token: str) -> SlotAudit:
    """Verify one slot's audit trail (in place when its file is local, else through the admin API)."""
    health = session.get(f"{slot_url}/health", timeout=15).json()
    path = Path(str(health.get("audit", {}).get("path", "")))
    if path.is_absolute() and path.is_file():
        return SlotAudit(slot, str(path), verify(path), read(path))
    admin = ServiceAdmin(session, slot_url, token)
    lines = _fetch_all(admin)
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / f"{slot}.jsonl"
        copy.write_text(
            "".join(
                json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" for r in lines
            ),
            encoding="utf-8",
        )
        return SlotAudit(slot, f"{slot_url}/admin/audit", verify(copy), read(copy))


def operation_ids(replies: Iterable[Any]) -> set[str]:
    """Return the operation ids of answered replies (objects with ``operation_id``)."""
    return {r.operation_id for r in replies if getattr(r, "operation_id", None)}
