"""The service's side of the audit trail: append through ``audit_trail.AuditLog``, read for /admin/audit.

The hash chain itself (format in docs/contracts.md) belongs to the ``audit_trail`` package; this module
only hands it records (redacted data only) and reads the JSON lines back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread

from audit_trail import AuditLog

__all__ = ["AuditSink", "Auditor", "open_audit_log", "read_records"]


class AuditSink(Protocol):
    """What the service needs of an audit log: a thread-safe, durable append."""

    def append(self, *, actor: str, action: str, data: Mapping[str, Any]) -> Any:
        """Append one record; raises if it could not be written."""
        ...


def open_audit_log(path: Path) -> AuditSink:
    """The hash-chained audit log at ``path`` (its folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return AuditLog(path)


class Auditor:
    """Appends audit records from request handlers (off the event loop) and from worker threads."""

    def __init__(self, sink: AuditSink, path: Path | None = None) -> None:
        self.sink = sink
        self.path = path
        self.failures = 0

    def append(self, actor: str, action: str, data: Mapping[str, Any]) -> None:
        """Append now (blocking: the log fsyncs)."""
        try:
            self.sink.append(actor=actor, action=action, data=dict(data))
        except Exception:
            self.failures += 1
            raise

    async def record(self, actor: str, action: str, data: Mapping[str, Any]) -> None:
        """Append from async code without blocking the event loop."""
        await anyio.to_thread.run_sync(lambda: self.append(actor, action, data))


def read_records(path: Path, *, after_seq: int, limit: int) -> list[dict[str, Any]]:
    """Records with ``seq`` greater than ``after_seq``, oldest first, at most ``limit``."""
    if not path.exists():
        return []
    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                # A line being written now is incomplete; judging the file is the verifier's job.
                continue
            if isinstance(record, dict) and isinstance(record.get("seq"), int) and record["seq"] > after_seq:
                records.append(record)
                if len(records) >= limit:
                    break
    return records
