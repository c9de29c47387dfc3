"""Appending to an audit chain file, safely across threads and processes."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit_trail._parse import LineError, parse_line
from audit_trail.errors import AuditTrailError
from audit_trail.record import GENESIS_HASH, AuditRecord, record_hash

__all__ = ["AuditLog", "quarantine_partial_tail", "utc_timestamp"]

_CHUNK = 64 * 1024


def utc_timestamp(now: datetime | None = None) -> str:
    """Return an RFC 3339 UTC timestamp with microseconds and a ``Z`` suffix."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _last_line(fd: int, size: int) -> tuple[bytes, bool]:
    """Return the last line of the file (without newline) and whether it was newline-terminated."""
    if size == 0:
        return b"", True
    tail = b""
    pos = size
    while pos > 0:
        step = min(_CHUNK, pos)
        pos -= step
        tail = os.pread(fd, step, pos) + tail
        body = tail[:-1] if tail.endswith(b"\n") else tail
        cut = body.rfind(b"\n")
        if cut >= 0:
            return body[cut + 1 :], tail.endswith(b"\n")
    return (tail[:-1] if tail.endswith(b"\n") else tail), tail.endswith(b"\n")


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class AuditLog:
    """An append-only hash chain in one JSON-lines file; many writers may share the file."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], datetime] | None = None) -> None:
        self.path = Path(path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._thread_lock = threading.Lock()
        # (file size, next seq, prev hash) as of our last append: skips re-reading the tail
        # when no other writer has appended since.
        self._cache: tuple[int, int, str] | None = None

    def _head(self, fd: int) -> tuple[int, str]:
        size = os.fstat(fd).st_size
        if self._cache is not None and self._cache[0] == size:
            return self._cache[1], self._cache[2]
        raw, terminated = _last_line(fd, size)
        if size == 0:
            return 0, GENESIS_HASH
        if not terminated:
            raise AuditTrailError(
                f"{self.path}: last line has no newline (partial write); refusing to extend a broken "
                "chain: see audit_trail.quarantine_partial_tail"
            )
        try:
            last = parse_line(raw)
        except LineError as exc:
            raise AuditTrailError(
                f"{self.path}: last record unreadable ({exc.detail}); refusing to append"
            ) from None
        if last.computed_hash() != last.hash:
            raise AuditTrailError(
                f"{self.path}: last record (seq {last.seq}) does not match its hash; refusing to append"
            )
        return last.seq + 1, last.hash

    def append(self, *, actor: str, action: str, data: Mapping[str, Any]) -> AuditRecord:
        """Append one record, flushed and fsynced, continuing the chain on disk; return it."""
        if not isinstance(actor, str) or not actor:
            raise ValueError(f"actor must be a non-empty string, got {actor!r}")
        if not isinstance(action, str) or not action:
            raise ValueError(f"action must be a non-empty string, got {action!r}")
        if not isinstance(data, Mapping):
            raise TypeError(f"data must be a mapping, got {type(data).__name__}")
        # Normalise through JSON first so the hash covers exactly what a reader will parse back
        # (tuples become lists, keys become strings); NaN is not JSON and is refused.
        body = json.loads(json.dumps(dict(data), allow_nan=False, ensure_ascii=False))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                seq, prev = self._head(fd)
                fields = {
                    "seq": seq,
                    "ts": utc_timestamp(self._clock()),
                    "actor": actor,
                    "action": action,
                    "data": body,
                    "prev": prev,
                }
                record = AuditRecord(**fields, hash=record_hash(fields))
                _write_all(fd, record.to_line().encode("utf-8"))
                os.fsync(fd)
                self._cache = (os.fstat(fd).st_size, seq + 1, record.hash)
                return record
            finally:
                os.close(fd)  # closing drops the flock


def quarantine_partial_tail(path: str | os.PathLike[str], *, actor: str) -> Path | None:
    """Move an unterminated last line (a write cut by a crash) aside, then audit that; None if none."""
    path = Path(path)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        raw, terminated = _last_line(fd, size)
        if terminated:
            return None
        saved = path.with_name(f"{path.name}.partial-{utc_timestamp().replace(':', '')}")
        saved.write_bytes(raw)
        # The cut write never returned to its caller, so that record was never committed.
        os.ftruncate(fd, size - len(raw))
        os.fsync(fd)
    finally:
        os.close(fd)
    AuditLog(path).append(
        actor=actor,
        action="audit.partial_tail_quarantined",
        data={"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest(), "saved_to": str(saved)},
    )
    return saved
