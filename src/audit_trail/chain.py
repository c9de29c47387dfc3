"""Reading and verifying an audit chain file."""

from __future__ import annotations

import enum
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from audit_trail._parse import LineError, parse_line
from audit_trail.errors import AuditTrailError
from audit_trail.record import GENESIS_HASH, AuditRecord

__all__ = ["ChainProblem", "ChainVerdict", "ProblemKind", "read", "verify"]


class ProblemKind(enum.StrEnum):
    """What is wrong with a record or with the chain."""

    EDITED = "edited"
    REMOVED = "removed"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    NOT_JSON = "not_json"
    MALFORMED = "malformed"
    MISSING_FILE = "missing_file"
    ANCHOR_MISMATCH = "anchor_mismatch"


@dataclass(frozen=True)
class ChainProblem:
    """One defect, located by 1-based line number and (when readable) record seq."""

    kind: ProblemKind
    line: int | None
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.kind.value}: {self.detail}"


@dataclass(frozen=True)
class ChainVerdict:
    """The result of verifying one audit file."""

    path: str
    ok: bool
    records: int
    head_hash: str | None
    problems: tuple[ChainProblem, ...]

    @property
    def first_problem(self) -> ChainProblem | None:
        """Return the first problem in file order, or None when the chain is intact."""
        return self.problems[0] if self.problems else None

    def summary(self) -> str:
        """Return one line: intact with count and head, or the first problem."""
        if self.ok:
            return f"{self.path}: intact, {self.records} records, head {self.head_hash}"
        return f"{self.path}: {self.first_problem} ({len(self.problems)} problem(s))"


def _read_locked(path: Path) -> bytes:
    # A shared lock waits out any appender holding the exclusive lock, so a
    # half-written line seen here is a real defect, not a write in progress.
    with path.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            return handle.read()
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _split(data: bytes) -> tuple[list[bytes], bool]:
    """Split into lines; the flag says the last line has no terminating newline."""
    if not data:
        return [], False
    lines = data.split(b"\n")
    if lines[-1] == b"":
        return lines[:-1], False
    return lines, True


def _link_problem(
    rec: AuditRecord, line: int, *, exp_seq: int, exp_prev: str, prev_line: int | None, later: dict[int, int]
) -> ChainProblem | None:
    if rec.seq > exp_seq:
        if exp_seq in later:
            return ChainProblem(
                ProblemKind.REORDERED,
                line,
                rec.seq,
                f"expected seq {exp_seq} here, found {rec.seq}; "
                f"seq {exp_seq} is later, at line {later[exp_seq]}",
            )
        missing = rec.seq - exp_seq
        return ChainProblem(
            ProblemKind.REMOVED,
            line,
            rec.seq,
            f"expected seq {exp_seq}, found {rec.seq}: {missing} record(s) missing before this one",
        )
    if rec.seq < exp_seq:
        return ChainProblem(
            ProblemKind.REORDERED,
            line,
            rec.seq,
            f"seq {rec.seq} after seq {exp_seq - 1}: out of order or duplicated",
        )
    if rec.prev != exp_prev:
        before = f"seq {rec.seq - 1} at line {prev_line}" if prev_line is not None else "the chain start"
        return ChainProblem(
            ProblemKind.REMOVED,
            line,
            rec.seq,
            f"prev does not match the hash of {before}: records were removed and renumbered, "
            "or the record before was rewritten and re-hashed",
        )
    return None


def _anchor_problems(
    records: list[AuditRecord], expected_head: str | None, expected_count: int | None
) -> list[ChainProblem]:
    problems = []
    if expected_count is not None and len(records) < expected_count:
        problems.append(
            ChainProblem(
                ProblemKind.TRUNCATED,
                None,
                None,
                f"chain has {len(records)} records, anchor says {expected_count}: tail removed",
            )
        )
    if expected_head is None:
        return problems
    if expected_count is not None:
        if 0 < expected_count <= len(records) and records[expected_count - 1].hash != expected_head:
            rec = records[expected_count - 1]
            problems.append(
                ChainProblem(
                    ProblemKind.ANCHOR_MISMATCH,
                    None,
                    rec.seq,
                    f"hash {rec.hash} differs from anchored head {expected_head}",
                )
            )
    elif all(rec.hash != expected_head for rec in records):
        problems.append(
            ChainProblem(
                ProblemKind.ANCHOR_MISMATCH,
                None,
                None,
                f"anchored head {expected_head} is not in the chain: tail truncated or rewritten",
            )
        )
    return problems


def verify(
    path: str | os.PathLike[str], *, expected_head: str | None = None, expected_count: int | None = None
) -> ChainVerdict:
    """Verify an audit file; an anchor (head hash and/or count) also catches a cut or rewritten tail."""
    path = Path(path)
    if not path.is_file():
        problem = ChainProblem(ProblemKind.MISSING_FILE, None, None, f"no audit file at {path}")
        return ChainVerdict(str(path), False, 0, None, (problem,))
    lines, partial = _split(_read_locked(path))
    parsed: list[tuple[int, AuditRecord]] = []
    problems: list[ChainProblem] = []
    for number, raw in enumerate(lines, start=1):
        if partial and number == len(lines):
            problems.append(
                ChainProblem(ProblemKind.TRUNCATED, number, None, "last line has no newline: partial write")
            )
            continue
        try:
            parsed.append((number, parse_line(raw)))
        except LineError as exc:
            problems.append(ChainProblem(ProblemKind(exc.kind), number, None, exc.detail))
    later = {}
    for number, rec in reversed(parsed):
        later[rec.seq] = number
    exp_seq, exp_prev, prev_line, linked = 0, GENESIS_HASH, None, True
    for number, rec in parsed:
        if rec.computed_hash() != rec.hash:
            problems.append(
                ChainProblem(ProblemKind.EDITED, number, rec.seq, "content does not match its hash")
            )
        if linked:
            # After the first broken link every later link is suspect; one precise report beats a cascade.
            link = _link_problem(
                rec, number, exp_seq=exp_seq, exp_prev=exp_prev, prev_line=prev_line, later=later
            )
            if link is not None:
                problems.append(link)
                linked = False
        exp_seq, exp_prev, prev_line = rec.seq + 1, rec.hash, number
    records = [rec for _, rec in parsed]
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    problems.extend(_anchor_problems(records, expected_head, expected_count))
    head = records[-1].hash if records else None
    return ChainVerdict(str(path), not problems, len(records), head, tuple(problems))


def read(path: str | os.PathLike[str], after_seq: int | None = None) -> tuple[AuditRecord, ...]:
    """Return the records with seq > after_seq; parses strictly but does not check hashes (use verify)."""
    path = Path(path)
    if not path.exists():
        return ()
    lines, partial = _split(_read_locked(path))
    if partial:
        raise AuditTrailError(f"{path}: line {len(lines)}: last line has no newline: partial write")
    out = []
    for number, raw in enumerate(lines, start=1):
        try:
            rec = parse_line(raw)
        except LineError as exc:
            raise AuditTrailError(f"{path}: line {number}: {exc.detail}") from None
        if after_seq is None or rec.seq > after_seq:
            out.append(rec)
    return tuple(out)
