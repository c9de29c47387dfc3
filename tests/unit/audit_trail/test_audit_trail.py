"""Audit chain: append, verify, concurrency, and every kind of tampering named."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from audit_trail import (
    GENESIS_HASH,
    AuditLog,
    AuditTrailError,
    ProblemKind,
    canonical,
    quarantine_partial_tail,
    read,
    record_hash,
    verify,
)


def _fill(path: Path, n: int) -> list[dict]:
    log = AuditLog(path)
    return [log.append(actor="tester", action="op", data={"i": i}).to_dict() for i in range(n)]


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _rehash(record: dict) -> dict:
    record = dict(record)
    record["hash"] = record_hash(record)
    return record


def test_records_follow_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    clock = lambda: datetime(2026, 11, 26, 15, 0, 0, tzinfo=UTC)  # noqa: E731
    log = AuditLog(path, clock=clock)
    first = log.append(actor="deploy", action="phase.start", data={"phase": 1, "name": "Pre-Deployment"})
    second = log.append(actor="deploy", action="phase.end", data={"phase": 1})
    assert first.seq == 0
    assert first.prev == GENESIS_HASH
    assert second.seq == 1
    assert second.prev == first.hash
    assert first.ts == "2026-11-26T15:00:00.000000Z"
    stored = [json.loads(line) for line in _lines(path)]
    assert stored[0] == first.to_dict()
    # The stored line is exactly the canonical form, and the hash covers it without the hash field.
    assert _lines(path)[0] == canonical(stored[0]) + "\n"
    body = {k: v for k, v in stored[0].items() if k != "hash"}
    assert stored[0]["hash"] == hashlib.sha256(canonical(body).encode()).hexdigest()


def test_append_continues_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    rec = AuditLog(path).append(actor="other", action="op", data={})
    assert rec.seq == 3
    verdict = verify(path)
    assert verdict.ok
    assert verdict.records == 4
    assert verdict.head_hash == rec.hash


def test_append_rejects_bad_input_and_normalises_data(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    with pytest.raises(ValueError, match="actor"):
        log.append(actor="", action="x", data={})
    with pytest.raises(ValueError, match="action"):
        log.append(actor="a", action="", data={})
    with pytest.raises(ValueError, match="Out of range float"):
        log.append(actor="a", action="x", data={"v": float("nan")})
    rec = log.append(actor="a", action="x", data={"t": (1, 2), 3: "k", "ü": "ß"})
    assert rec.to_dict()["data"] == {"t": [1, 2], "3": "k", "ü": "ß"}
    assert verify(log.path).ok
    assert "ü" in log.path.read_text(encoding="utf-8")  # ensure_ascii=False


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    verdict = verify(empty)
    assert verdict.ok
    assert verdict.records == 0
    assert verdict.head_hash is None
    missing = verify(tmp_path / "nope.jsonl")
    assert not missing.ok
    assert missing.problems[0].kind is ProblemKind.MISSING_FILE
    assert read(tmp_path / "nope.jsonl") == ()


def test_read_after_seq(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 5)
    assert [r.seq for r in read(path)] == [0, 1, 2, 3, 4]
    assert [r.seq for r in read(path, after_seq=2)] == [3, 4]
    assert read(path, after_seq=4) == ()


def test_edited_record_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    records = _fill(path, 5)
    lines = _lines(path)
    edited = dict(records[2], data={"i": 99})
    lines[2] = canonical(edited) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    verdict = verify(path)
    assert not verdict.ok
    first = verdict.first_problem
    assert (first.kind, first.seq, first.line) == (ProblemKind.EDITED, 2, 3)
    assert "line 3, seq 2: edited" in str(first)


def test_edited_and_rehashed_record_breaks_the_next_link(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    records = _fill(path, 5)
    lines = _lines(path)
    lines[2] = canonical(_rehash(dict(records[2], data={"i": 99}))) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    first = verify(path).first_problem
    assert (first.kind, first.seq, first.line) == (ProblemKind.REMOVED, 3, 4)
    assert "seq 2 at line 3" in first.detail
    assert "rewritten" in first.detail


def test_removed_record_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 5)
    lines = _lines(path)
    del lines[2]
    path.write_text("".join(lines), encoding="utf-8")
    verdict = verify(path)
    assert not verdict.ok
    assert len(verdict.problems) == 1
    first = verdict.first_problem
    assert (first.kind, first.seq, first.line) == (ProblemKind.REMOVED, 3, 3)
    assert "expected seq 2, found 3" in first.detail


def test_removed_first_record(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    path.write_text("".join(_lines(path)[1:]), encoding="utf-8")
    first = verify(path).first_problem
    assert (first.kind, first.seq, first.line) == (ProblemKind.REMOVED, 1, 1)


def test_reordered_records_are_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 5)
    lines = _lines(path)
    lines[1], lines[3] = lines[3], lines[1]
    path.write_text("".join(lines), encoding="utf-8")
    first = verify(path).first_problem
    assert (first.kind, first.seq, first.line) == (ProblemKind.REORDERED, 3, 2)
    assert "seq 1 is later, at line 4" in first.detail


def test_duplicated_record_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    lines = _lines(path)
    path.write_text("".join([*lines, lines[1]]), encoding="utf-8")
    first = verify(path).first_problem
    assert (first.kind, first.seq, first.line) == (ProblemKind.REORDERED, 1, 4)


def test_truncated_last_line_is_named_and_blocks_append(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    verdict = verify(path)
    assert not verdict.ok
    assert verdict.records == 2
    first = verdict.first_problem
    assert (first.kind, first.line) == (ProblemKind.TRUNCATED, 3)
    with pytest.raises(AuditTrailError, match="partial write"):
        AuditLog(path).append(actor="a", action="x", data={})
    with pytest.raises(AuditTrailError, match="line 3"):
        read(path)


def test_quarantine_partial_tail_restores_a_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    saved = quarantine_partial_tail(path, actor="operator")
    third_line = data.split(b"\n")[2] + b"\n"
    assert saved is not None
    assert saved.read_bytes() == third_line[:-20]
    verdict = verify(path)
    assert verdict.ok
    assert verdict.records == 3
    last = read(path)[-1]
    assert last.action == "audit.partial_tail_quarantined"
    assert last.seq == 2
    assert last.data["saved_to"] == str(saved)
    assert quarantine_partial_tail(path, actor="operator") is None  # nothing left to move


def test_not_json_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    lines = _lines(path)
    lines[1] = "this is not json\n"
    path.write_text("".join(lines), encoding="utf-8")
    kinds = [(p.kind, p.line) for p in verify(path).problems]
    assert kinds[0] == (ProblemKind.NOT_JSON, 2)
    # The record after the garbage no longer links: reported as the removal of seq 1.
    assert (ProblemKind.REMOVED, 3) in kinds


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda r: r.pop("prev"), "missing field(s) prev"),
        (lambda r: r.update(extra=1), "unexpected field(s) extra"),
        (lambda r: r.update(seq=True), "field seq"),
        (lambda r: r.update(seq=-1), "field seq"),
        (lambda r: r.update(actor=""), "field actor"),
        (lambda r: r.update(data=[1]), "field data"),
        (lambda r: r.update(hash="XYZ"), "field hash"),
    ],
)
def test_malformed_record_names_the_field(tmp_path: Path, mutate, needle: str) -> None:
    path = tmp_path / "a.jsonl"
    records = _fill(path, 2)
    bad = dict(records[1])
    mutate(bad)
    path.write_text(_lines(path)[0] + json.dumps(bad) + "\n", encoding="utf-8")
    first = verify(path).first_problem
    assert (first.kind, first.line) == (ProblemKind.MALFORMED, 2)
    assert needle in first.detail


def test_blank_line_and_non_object(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("\n[1,2]\n", encoding="utf-8")
    problems = verify(path).problems
    assert [(p.kind, p.line) for p in problems] == [(ProblemKind.MALFORMED, 1), (ProblemKind.MALFORMED, 2)]
    assert "blank line" in problems[0].detail
    assert "JSON object" in problems[1].detail


def test_tail_truncation_needs_an_anchor(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    records = _fill(path, 5)
    anchor_head, anchor_count = records[-1]["hash"], 5
    path.write_text("".join(_lines(path)[:3]), encoding="utf-8")
    assert verify(path).ok  # a clean cut is invisible without an anchor
    cut = verify(path, expected_head=anchor_head, expected_count=anchor_count)
    assert not cut.ok
    assert {p.kind for p in cut.problems} == {ProblemKind.TRUNCATED}
    assert "anchor says 5" in str(cut.first_problem)
    head_only = verify(path, expected_head=anchor_head)
    assert head_only.first_problem.kind is ProblemKind.ANCHOR_MISMATCH


def test_anchor_accepts_a_grown_chain_and_catches_a_rewritten_tail(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    records = _fill(path, 3)
    anchor = records[-1]["hash"]
    AuditLog(path).append(actor="a", action="later", data={})
    assert verify(path, expected_head=anchor, expected_count=3).ok
    assert verify(path, expected_head=anchor).ok
    lines = _lines(path)[:2]
    lines.append(canonical(_rehash(dict(records[2], data={"forged": True}))) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    assert verify(path).ok  # a re-hashed last record is only caught by the anchor
    verdict = verify(path, expected_head=anchor, expected_count=3)
    assert verdict.first_problem.kind is ProblemKind.ANCHOR_MISMATCH
    assert verdict.first_problem.seq == 2


def test_append_refuses_an_edited_tail(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    records = _fill(path, 2)
    lines = _lines(path)
    lines[-1] = canonical(dict(records[1], actor="mallory")) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(AuditTrailError, match="seq 1"):
        AuditLog(path).append(actor="a", action="x", data={})


def test_concurrent_threads_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    logs = [AuditLog(path), AuditLog(path)]  # two handles, as two components of one service

    def worker(n: int) -> None:
        for i in range(50):
            logs[n % 2].append(actor=f"t{n}", action="op", data={"i": i})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    verdict = verify(path)
    assert verdict.ok, verdict.summary()
    assert verdict.records == 400


def _process_worker(path: str, name: str, count: int) -> None:
    log = AuditLog(path)
    for i in range(count):
        log.append(actor=name, action="op", data={"i": i})


def test_concurrent_processes_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_worker, args=(str(path), f"p{n}", 150)) for n in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    verdict = verify(path)
    assert verdict.ok, verdict.summary()
    assert verdict.records == 300
    actors = [r.actor for r in read(path)]
    assert actors.count("p0") == actors.count("p1") == 150
