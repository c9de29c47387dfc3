"""Exceptions raised by the audit trail."""

from __future__ import annotations

__all__ = ["AuditTrailError"]


class AuditTrailError(Exception):
    """An audit file cannot be appended to or read; the message names the file and line."""
