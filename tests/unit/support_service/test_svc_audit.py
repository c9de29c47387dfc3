"""The service's audit adapter: appends through audit_trail (the chain verifies) and reads records."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from audit_trail import verify
from support_service.audit import Auditor, open_audit_log, read_records


def test_appends_form_a_verifiable_chain(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "audit.jsonl"
    auditor = Auditor(open_audit_log(path), path)
    auditor.append("system", "component.activate", {"component": "ComplianceValidator"})
    asyncio.run(auditor.record("anonymous", "support.operation", {"route": "mcp"}))
    assert verify(path).ok
    records = read_records(path, after_seq=-1, limit=10)
    assert [(r["seq"], r["action"]) for r in records] == [(0, "component.activate"), (1, "support.operation")]


def test_reading_skips_a_partial_last_line_and_honours_limits(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    auditor = Auditor(open_audit_log(path), path)
    for i in range(5):
        auditor.append("system", "x", {"i": i})
    with path.open("a") as handle:
        handle.write('{"seq": 5, "act')
    assert [r["seq"] for r in read_records(path, after_seq=1, limit=2)] == [2, 3]
    assert [r["seq"] for r in read_records(path, after_seq=2, limit=100)] == [3, 4]
    assert read_records(tmp_path / "missing.jsonl", after_seq=-1, limit=5) == []


def test_failures_are_counted_and_raised(tmp_path: Path) -> None:
    class Broken:
        def append(self, **_kw: object) -> None:
            raise OSError("disk full")

    auditor = Auditor(Broken())
    with pytest.raises(OSError, match="disk full"):
        auditor.append("system", "x", {})
    assert auditor.failures == 1
