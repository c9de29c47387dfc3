"""Tamper-evident audit trail: a SHA-256 hash chain in a JSON-lines file (docs/contracts.md)."""

from audit_trail.chain import ChainProblem, ChainVerdict, ProblemKind, read, verify
from audit_trail.errors import AuditTrailError
from audit_trail.log import AuditLog, quarantine_partial_tail, utc_timestamp
from audit_trail.record import GENESIS_HASH, AuditRecord, canonical, record_hash

__all__ = [
    "GENESIS_HASH",
    "AuditLog",
    "AuditRecord",
    "AuditTrailError",
    "ChainProblem",
    "ChainVerdict",
    "ProblemKind",
    "canonical",
    "quarantine_partial_tail",
    "read",
    "record_hash",
    "utc_timestamp",
    "verify",
]
