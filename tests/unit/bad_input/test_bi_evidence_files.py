"""Every phase 1 evidence reader refuses a missing, empty, truncated or wrong-format file, naming it.

One table over the five readers (staging summary, security scan, training record, rollback drill,
business impact) and every kind of damage, plus a property: *any* cut of a valid-looking file and
*any* bytes are an EvidenceError naming the file, never another exception. ``check_evidence`` turns
each into an inconclusive piece, which blocks phase 1 like a failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_release.pre_deployment import (
    EvidenceError,
    check_evidence,
    read_business_impact,
    read_drill_record,
    read_pip_audit,
    read_risk_acceptance,
    read_security_scan,
    read_staging_results,
    read_training_record,
)
from bedrock_release.pre_deployment.layout import EvidencePaths

RELEASE = "1.1.0"
SHA = "a" * 64
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)

Reader = Callable[[Path], Any]
READERS: dict[str, tuple[str, str, Reader]] = {
    # piece: (kind, path attribute of EvidencePaths, reader)
    "staging": (
        "staging-test-results",
        "staging_summary",
        lambda d: read_staging_results(d, release=RELEASE, artifact_sha256=SHA),
    ),
    "security": (
        "security-scan",
        "security_report",
        lambda d: read_security_scan(d, release=RELEASE, artifact_sha256=SHA, trusted_keys={}, now=NOW),
    ),
    "training": (
        "operations-training",
        "training",
        lambda d: read_training_record(d, release=RELEASE, trusted_keys={}, now=NOW),
    ),
    "drill": (
        "rollback-drill",
        "drill",
        lambda d: read_drill_record(d, release=RELEASE, trusted_keys={}, artifact_sha256=SHA),
    ),
    "risk-acceptance": (
        "risk-acceptance",
        "risk_acceptance",
        lambda d: read_risk_acceptance(
            d, release=RELEASE, database={"name": "n", "version": "v", "date": "d"}, trusted_keys={}, now=NOW
        ),
    ),
    "business-impact": (
        "business-impact-assessment",
        "business_impact",
        lambda d: read_business_impact(d, release=RELEASE, artifact_sha256=SHA),
    ),
}


def _head(kind: str) -> str:
    """The start of a plausible evidence file of this kind (what a truncated write leaves)."""
    return json.dumps(
        {
            "schema": 1,
            "kind": kind,
            "release": RELEASE,
            "artifact_sha256": SHA,
            "produced_at": "2026-11-26T14:00:00Z",
        },
        indent=2,
    )


def _damage(kind: str) -> dict[str, tuple[bytes | None, str]]:
    """Damage name -> (file content, or None for no file, and the words the error must contain)."""
    head = _head(kind)
    return {
        "missing": (None, "missing"),
        "empty": (b"", "empty file"),
        "blank": (b"  \n\t\n", "empty file"),
        "truncated": (head[: len(head) // 2].encode(), "not valid JSON (truncated or corrupt)"),
        "cut-before-the-last-brace": (head[:-1].encode(), "not valid JSON (truncated or corrupt)"),
        "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not UTF-8 text (wrong format?)"),
        "xml": (b'<?xml version="1.0"?><testsuites tests="3"/>', "not valid JSON"),
        "yaml": (f"schema: 1\nkind: {kind}\n".encode(), "not valid JSON"),
        "json-array": (b"[1, 2, 3]", "expected a JSON object, got list (wrong format)"),
        "nan": (b'{"schema": NaN}', "not valid JSON"),
        "another-kind": (
            json.dumps({"schema": 1, "kind": "locust-results"}).encode(),
            "field kind: expected",
        ),
        "future-schema": (json.dumps({"schema": 2, "kind": kind}).encode(), "field schema: expected 1"),
    }


CASES = [(piece, damage) for piece, (kind, _, _) in READERS.items() for damage in _damage(kind)]


def _place(evidence: Path, piece: str, content: bytes | None) -> Path:
    _, attr, _ = READERS[piece]
    path = getattr(EvidencePaths.of(evidence), attr)
    if content is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return path


@pytest.mark.parametrize(("piece", "damage"), CASES, ids=[f"{p}-{d}" for p, d in CASES])
def test_bi_damaged_evidence_is_refused_naming_the_file(tmp_path: Path, piece: str, damage: str) -> None:
    kind, _, reader = READERS[piece]
    content, words = _damage(kind)[damage]
    path = _place(tmp_path, piece, content)
    with pytest.raises(EvidenceError) as caught:
        reader(tmp_path)
    assert caught.value.path == str(path)
    assert words in caught.value.problem
    assert str(caught.value).startswith(str(path))


def test_bi_a_symlinked_evidence_file_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.json"
    real.write_text(_head("security-scan") + "}")
    path = EvidencePaths.of(tmp_path / "ev").security_report
    path.parent.mkdir(parents=True)
    path.symlink_to(real)
    with pytest.raises(EvidenceError, match="symbolic link"):
        read_security_scan(tmp_path / "ev", release=RELEASE, artifact_sha256=SHA, trusted_keys={}, now=NOW)


def test_bi_check_evidence_makes_every_unreadable_piece_inconclusive(tmp_path: Path) -> None:
    for piece, (kind, _, _) in READERS.items():
        content, _ = _damage(kind)["truncated"]
        _place(tmp_path, piece, content)
    pieces = check_evidence(tmp_path, release=RELEASE, artifact_sha256=SHA, trusted_keys={}, now=NOW)
    # The risk acceptance is read as part of the security piece, only when its database is stale.
    assert {p.piece: p.status for p in pieces} == dict.fromkeys(
        set(READERS) - {"risk-acceptance"}, "inconclusive"
    )
    assert not any(p.ok for p in pieces)
    for result in pieces:
        assert "truncated or corrupt" in result.detail


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(piece=st.sampled_from(sorted(READERS)), cut=st.integers(0, 400))
def test_bi_any_cut_of_an_evidence_file_is_an_evidence_error(
    tmp_path_factory: pytest.TempPathFactory, piece: str, cut: int
) -> None:
    kind, _, reader = READERS[piece]
    head = _head(kind)
    evidence = tmp_path_factory.mktemp("cut")
    path = _place(evidence, piece, head[: min(cut, len(head) - 1)].encode())
    with pytest.raises(EvidenceError) as caught:
        reader(evidence)
    assert caught.value.path == str(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(piece=st.sampled_from(sorted(READERS)), data=st.binary(max_size=200))
def test_bi_arbitrary_bytes_are_an_evidence_error_never_a_crash(
    tmp_path_factory: pytest.TempPathFactory, piece: str, data: bytes
) -> None:
    _, _, reader = READERS[piece]
    evidence = tmp_path_factory.mktemp("bytes")
    _place(evidence, piece, data)
    with pytest.raises(EvidenceError):
        reader(evidence)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    piece=st.sampled_from(sorted(READERS)),
    obj=st.dictionaries(
        st.sampled_from(
            ["schema", "kind", "release", "artifact_sha256", "produced_at", "suites", "tiers", "x"]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=6,
        ),
        max_size=8,
    ),
)
def test_bi_arbitrary_json_objects_are_an_evidence_error_never_a_crash(
    tmp_path_factory: pytest.TempPathFactory, piece: str, obj: dict[str, Any]
) -> None:
    kind, _, reader = READERS[piece]
    obj.setdefault("kind", kind)
    obj.setdefault("schema", 1)
    evidence = tmp_path_factory.mktemp("obj")
    _place(evidence, piece, json.dumps(obj).encode())
    with pytest.raises(EvidenceError):
        reader(evidence)


# --- the scanners' and test runners' own files --------------------------------------------------

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.builds(
            lambda deps: json.dumps({"dependencies": deps, "fixes": []}).encode(),
            st.lists(
                st.dictionaries(
                    st.sampled_from(["name", "version", "vulns", "skip_reason", "id", "fix_versions"]),
                    _JSON_VALUES,
                    max_size=4,
                ),
                max_size=3,
            ),
        ),
    )
)
def test_bi_any_pip_audit_json_is_read_or_refused_naming_the_file(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("pip-audit") / "pip-audit.json"
    path.write_bytes(data)
    outcome: Any
    try:
        outcome = read_pip_audit(path)
    except EvidenceError as exc:
        outcome = exc
    if isinstance(outcome, EvidenceError):
        assert outcome.path == str(path)
    else:  # only a well-formed audit of at least one dependency is read
        assert outcome.dependencies
        assert outcome.critical == len(outcome.findings)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"dependencies": []}, "audited no dependency at all"),
        (
            {
                "dependencies": [{"name": "requests", "skip_reason": "Dependency not found on PyPI"}],
                "fixes": [],
            },
            r"1 dependencies were not audited \(pip-audit skipped them\): requests \(Dependency not found",
        ),
        ({"dependencies": [{"name": "a", "version": "1", "vulns": [{"id": ""}]}]}, r"vulns\[0\]\.id"),
        ({"dependencies": [{"name": "a", "version": "1", "vulns": [{"id": "X"}]}]}, "fix_versions"),
        ({"dependencies": [{"name": "a", "vulns": []}]}, r"dependencies\[0\]\.version"),
        ([{"name": "a"}], "not pip-audit's JSON"),
    ],
)
def test_bi_a_pip_audit_that_proves_nothing_is_refused(tmp_path: Path, document: Any, problem: str) -> None:
    path = tmp_path / "pip-audit.json"
    path.write_text(json.dumps(document))
    with pytest.raises(EvidenceError, match=problem) as caught:
        read_pip_audit(path)
    assert caught.value.path == str(path)
