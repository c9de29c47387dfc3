"""The audit record and its canonical form (docs/contracts.md "Audit record")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["FIELDS", "GENESIS_HASH", "AuditRecord", "canonical", "record_hash"]

#: ``prev`` of the first record of a chain.
GENESIS_HASH = "0" * 64

#: Every field of a record, in no particular order (the canonical form sorts keys).
FIELDS = ("seq", "ts", "actor", "action", "data", "prev", "hash")


def canonical(record: Mapping[str, Any]) -> str:
    """Return the canonical JSON form of a record mapping (keys sorted, no spaces)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def record_hash(record: Mapping[str, Any]) -> str:
    """Return the SHA-256 hex of a record's canonical form without its ``hash`` field."""
    body = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """One record of an audit chain; ``prev`` is the ``hash`` of the record before it."""

    seq: int
    ts: str
    actor: str
    action: str
    data: Mapping[str, Any]
    prev: str
    hash: str

    def __post_init__(self) -> None:
        # A read-only view, so a record handed out cannot drift from its hash.
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a plain JSON-ready dict."""
        return {
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "data": json.loads(json.dumps(dict(self.data))),
            "prev": self.prev,
            "hash": self.hash,
        }

    def to_line(self) -> str:
        """Return the record as it is stored: its canonical form plus a newline."""
        return canonical(self.to_dict()) + "\n"

    def computed_hash(self) -> str:
        """Return the hash this record's content implies (equals ``hash`` unless edited)."""
        return record_hash(self.to_dict())
