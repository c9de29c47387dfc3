"""The deploy journal (``runs/<run-id>/audit.jsonl``) as the suite reads and extends it.

The journal is an ``audit_trail`` chain (docs/contracts.md, "The deploy journal"). The suite appends
``gate_evaluated`` records (actor ``verification-suite``) and reads what the pipeline recorded
(component rollout, canary steps, flags, rollbacks). Reading never trusts a broken chain silently:
``verified()`` says whether the chain holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from audit_trail import AuditLog, AuditRecord, AuditTrailError, ChainVerdict, read, verify
from bedrock_release.gates.verdict import GateResult

__all__ = ["ACTOR", "Journal", "JournalError", "parse_ts"]

#: The actor the suite writes as (docs/contracts.md).
ACTOR = "verification-suite"


class JournalError(RuntimeError):
    """The journal is missing or unreadable; names the file."""


def parse_ts(ts: str) -> datetime:
    """Return an RFC 3339 UTC timestamp of a record as an aware datetime."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Journal:
    """One run's journal file."""

    path: Path

    @classmethod
    def at(cls, path: str | os.PathLike[str] | None) -> Journal | None:
        """Return the journal at path, or None when the target names none."""
        return None if path is None else cls(Path(path))

    def records(self) -> tuple[AuditRecord, ...]:
        """Return every record, oldest first; JournalError when the file is missing or damaged."""
        if not self.path.is_file():
            raise JournalError(f"{self.path}: no deploy journal at this path")
        try:
            return read(self.path)
        except AuditTrailError as exc:
            raise JournalError(str(exc)) from None

    def of(self, *actions: str) -> tuple[AuditRecord, ...]:
        """Return the records with one of the given actions, oldest first."""
        wanted = set(actions)
        return tuple(r for r in self.records() if r.action in wanted)

    def last(self, action: str) -> AuditRecord | None:
        """Return the newest record of an action, None when there is none."""
        found = self.of(action)
        return found[-1] if found else None

    def verified(self) -> ChainVerdict:
        """Return the hash-chain verdict of the journal."""
        return verify(self.path)

    def append(self, action: str, data: dict[str, Any]) -> AuditRecord:
        """Append one record as the verification suite, then mirror the journal as the pipeline does."""
        stored = AuditLog(self.path).append(actor=ACTOR, action=action, data=data)
        from bedrock_release.pipeline.heartbeat import after_append  # noqa: PLC0415 - boto3 only when needed

        after_append(self.path)
        return stored

    def append_gate(self, *, phase: int | None, marker: str, result: GateResult) -> AuditRecord:
        """Append a ``gate_evaluated`` record (the gate's ``to_dict()``; raw evidence stays in Allure)."""
        return self.append("gate_evaluated", {"phase": phase, "marker": marker, "gate": result.to_dict()})

    def gates(self, phase: int | None = None) -> tuple[dict[str, Any], ...]:
        """Return the gate dicts recorded by ``gate_evaluated`` (optionally of one phase), oldest first."""
        return tuple(
            dict(r.data["gate"])
            for r in self.of("gate_evaluated")
            if isinstance(r.data.get("gate"), dict) and (phase is None or r.data.get("phase") == phase)
        )


def records_between(
    records: Iterable[AuditRecord], start: AuditRecord, end: AuditRecord | None
) -> tuple[AuditRecord, ...]:
    """Return the records after start and before end (by sequence number)."""
    upper = end.seq if end is not None else None
    return tuple(r for r in records if r.seq > start.seq and (upper is None or r.seq < upper))
