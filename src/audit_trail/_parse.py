"""Parsing one stored line into an AuditRecord, naming what is wrong with it."""

from __future__ import annotations

import json
import re
from typing import Any

from audit_trail.record import FIELDS, AuditRecord

__all__ = ["LineError", "parse_line"]

_HEX64 = re.compile(r"[0-9a-f]{64}")


class LineError(ValueError):
    """A stored line is not a well-formed record; ``kind`` is ``not_json`` or ``malformed``."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def _check_fields(obj: dict[str, Any]) -> None:
    missing = [name for name in FIELDS if name not in obj]
    if missing:
        raise LineError("malformed", f"missing field(s) {', '.join(missing)}")
    extra = sorted(set(obj) - set(FIELDS))
    if extra:
        raise LineError("malformed", f"unexpected field(s) {', '.join(extra)}")
    seq = obj["seq"]
    # bool is an int subclass; a seq of true would otherwise pass as 1.
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise LineError("malformed", f"field seq must be a non-negative integer, got {seq!r}")
    for name in ("ts", "actor", "action"):
        if not isinstance(obj[name], str) or not obj[name]:
            raise LineError("malformed", f"field {name} must be a non-empty string, got {obj[name]!r}")
    if not isinstance(obj["data"], dict):
        raise LineError("malformed", f"field data must be an object, got {type(obj['data']).__name__}")
    for name in ("prev", "hash"):
        if not isinstance(obj[name], str) or not _HEX64.fullmatch(obj[name]):
            raise LineError("malformed", f"field {name} must be 64 lowercase hex digits, got {obj[name]!r}")


def parse_line(raw: bytes) -> AuditRecord:
    """Parse one stored line (without its newline); raise LineError naming the defect."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LineError("not_json", f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise LineError("malformed", "blank line")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineError("not_json", f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise LineError("malformed", f"a record must be a JSON object, got {type(obj).__name__}")
    _check_fields(obj)
    return AuditRecord(**obj)
