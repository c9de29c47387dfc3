"""The audit trail cannot be rewritten without the verifier noticing, whatever the rewrite (properties).

The named cases (edited, re-hashed, removed, reordered, duplicated, truncated) are in
tests/unit/audit_trail/test_audit_trail.py. Here hypothesis picks the record, the field, the value,
the range and the order: an edit is caught at its line; an attacker who re-hashes the record, or even
re-links every record after it, is caught by the anchor (head hash and count) the run report keeps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit_trail import AuditLog, canonical, record_hash, verify

_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _chain(folder: Path, n: int) -> tuple[Path, list[dict[str, Any]]]:
    path = folder / "audit.jsonl"
    log = AuditLog(path)
    records = [log.append(actor="deploy", action="op", data={"i": i}).to_dict() for i in range(n)]
    return path, records


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(canonical(r) + "\n" for r in records), encoding="utf-8")


def _rehash(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "hash": record_hash(record)}


_VALUES = st.one_of(
    st.text(max_size=10), st.integers(-3, 50), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)
)


@_SETTINGS
@given(
    n=st.integers(1, 8),
    data=st.data(),
    field=st.sampled_from(["actor", "action", "data", "ts", "seq", "prev", "hash"]),
    value=_VALUES,
)
def test_sec_any_edit_is_named_at_its_line(
    tmp_path_factory: pytest.TempPathFactory, n: int, data: st.DataObject, field: str, value: Any
) -> None:
    path, records = _chain(tmp_path_factory.mktemp("edit"), n)
    index = data.draw(st.integers(0, n - 1))
    if records[index][field] == value:
        return
    records[index] = {**records[index], field: value}
    _write(path, records)
    verdict = verify(path)
    assert not verdict.ok
    assert verdict.first_problem.line == index + 1


@_SETTINGS
@given(n=st.integers(2, 8), data=st.data(), value=st.text(min_size=1, max_size=10))
def test_sec_a_rehashed_edit_is_caught_by_the_next_link_or_the_anchor(
    tmp_path_factory: pytest.TempPathFactory, n: int, data: st.DataObject, value: str
) -> None:
    path, records = _chain(tmp_path_factory.mktemp("rehash"), n)
    head, count = records[-1]["hash"], n
    index = data.draw(st.integers(0, n - 1))
    records[index] = _rehash({**records[index], "actor": "mallory" + value})
    _write(path, records)
    plain = verify(path)
    assert plain.ok == (index == n - 1)  # only the last record's rewrite hides from the chain itself
    assert not verify(path, expected_head=head, expected_count=count).ok


@_SETTINGS
@given(n=st.integers(2, 8), data=st.data())
def test_sec_a_fully_relinked_rewrite_is_caught_by_the_anchor(
    tmp_path_factory: pytest.TempPathFactory, n: int, data: st.DataObject
) -> None:
    """The strongest rewrite: edit a record, then re-hash and re-link every record after it."""
    path, records = _chain(tmp_path_factory.mktemp("relink"), n)
    head, count = records[-1]["hash"], n
    index = data.draw(st.integers(0, n - 1))
    records[index] = {**records[index], "data": {"forged": True}}
    for i in range(index, n):
        if i > index:
            records[i] = {**records[i], "prev": records[i - 1]["hash"]}
        records[i] = _rehash(records[i])
    _write(path, records)
    assert verify(path).ok, "a consistent forgery is, by construction, a valid chain"
    anchored = verify(path, expected_head=head, expected_count=count)
    assert not anchored.ok
    assert anchored.first_problem.kind.value == "anchor_mismatch"


@_SETTINGS
@given(n=st.integers(2, 8), data=st.data())
def test_sec_any_removed_range_is_caught(
    tmp_path_factory: pytest.TempPathFactory, n: int, data: st.DataObject
) -> None:
    path, records = _chain(tmp_path_factory.mktemp("cut"), n)
    head, count = records[-1]["hash"], n
    start = data.draw(st.integers(0, n - 1))
    stop = data.draw(st.integers(start + 1, n))
    if start == 0 and stop == n:
        return  # nothing left: a missing file, covered below
    _write(path, records[:start] + records[stop:])
    if stop < n:
        assert not verify(path).ok  # a gap in the middle or at the start breaks a link
    assert not verify(path, expected_head=head, expected_count=count).ok


@_SETTINGS
@given(n=st.integers(2, 7), data=st.data())
def test_sec_any_reordering_is_caught(
    tmp_path_factory: pytest.TempPathFactory, n: int, data: st.DataObject
) -> None:
    path, records = _chain(tmp_path_factory.mktemp("order"), n)
    order = data.draw(st.permutations(range(n)))
    if list(order) == list(range(n)):
        return
    _write(path, [records[i] for i in order])
    assert not verify(path).ok


def test_sec_a_deleted_trail_is_caught(tmp_path: Path) -> None:
    path, _ = _chain(tmp_path, 3)
    path.unlink()
    assert not verify(path).ok
    path.write_text("")
    assert not verify(path, expected_count=3).ok


def test_sec_records_are_canonical_json(tmp_path: Path) -> None:
    path, records = _chain(tmp_path, 2)
    assert [json.loads(line) for line in path.read_text().splitlines()] == records
