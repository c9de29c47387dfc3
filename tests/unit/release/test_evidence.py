"""Evidence bundle: tampering is detected and names the file (and the audit record)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit_trail import AuditLog, canonical
from bedrock_release.report.evidence import (
    MANIFEST_NAME,
    ProblemKind,
    sha256_file,
    verify_bundle,
    write_manifest,
)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "evidence"
    (root / "results").mkdir(parents=True)
    (root / "report.json").write_text('{"outcome": "deployed"}\n')
    (root / "results" / "junit.xml").write_text("<testsuite/>\n")
    log = AuditLog(root / "audit.jsonl")
    for i in range(4):
        log.append(actor="deploy", action="phase.end", data={"phase": i + 1})
    write_manifest(root, audit_files=["audit.jsonl"])
    return root


def _kinds(verdict) -> list[tuple[ProblemKind, str]]:
    return [(p.kind, p.path) for p in verdict.problems]


def test_intact_bundle_verifies(bundle: Path) -> None:
    verdict = verify_bundle(bundle)
    assert verdict.ok, verdict.summary()
    assert verdict.files_checked == 3
    manifest = json.loads((bundle / MANIFEST_NAME).read_text())
    assert [f["path"] for f in manifest["files"]] == ["audit.jsonl", "report.json", "results/junit.xml"]
    assert manifest["audit"][0]["records"] == 4
    assert manifest["audit"][0]["verified_at_bundle"] is True


def test_changed_file_is_named(bundle: Path) -> None:
    (bundle / "report.json").write_text('{"outcome": "rolled_back"}\n')
    verdict = verify_bundle(bundle)
    assert _kinds(verdict) == [(ProblemKind.CHANGED, "report.json")]
    assert "report.json: changed" in verdict.summary()


def test_same_size_change_is_caught_by_hash(bundle: Path) -> None:
    path = bundle / "results" / "junit.xml"
    path.write_text("<testsuitX/>\n")
    assert _kinds(verify_bundle(bundle)) == [(ProblemKind.CHANGED, "results/junit.xml")]


def test_missing_and_added_files_are_named(bundle: Path) -> None:
    (bundle / "results" / "junit.xml").unlink()
    (bundle / "results" / "extra.txt").write_text("x")
    verdict = verify_bundle(bundle)
    assert _kinds(verdict) == [
        (ProblemKind.ADDED, "results/extra.txt"),
        (ProblemKind.MISSING, "results/junit.xml"),
    ]


def test_edited_audit_record_names_file_and_record(bundle: Path) -> None:
    path = bundle / "audit.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    record = json.loads(lines[1])
    record["data"] = {"phase": 99}
    lines[1] = canonical(record) + "\n"
    path.write_text("".join(lines))
    verdict = verify_bundle(bundle)
    kinds = _kinds(verdict)
    assert (ProblemKind.CHANGED, "audit.jsonl") in kinds
    audit = [p for p in verdict.problems if p.kind is ProblemKind.AUDIT]
    assert "line 2, seq 1: edited" in audit[0].detail


def test_truncated_audit_tail_is_caught_by_the_anchor(bundle: Path) -> None:
    path = bundle / "audit.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]))
    # Re-manifesting the files only (an attacker fixing sizes) still leaves the anchor behind.
    manifest = json.loads((bundle / MANIFEST_NAME).read_text())
    for entry in manifest["files"]:
        if entry["path"] == "audit.jsonl":
            entry["size"], entry["sha256"] = path.stat().st_size, sha256_file(path)
    (bundle / MANIFEST_NAME).write_text(json.dumps(manifest))
    verdict = verify_bundle(bundle)
    assert [(p.kind, p.path) for p in verdict.problems] == [(ProblemKind.AUDIT, "audit.jsonl")]
    assert "anchor says 4" in verdict.problems[0].detail


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "missing"),
        ("{", "unreadable"),
        ('{"schema": 2}', "schema 1"),
        ('{"schema": 1, "files": [{"path": "a"}]}', "files[0]"),
        ('{"schema": 1, "files": [{"path": "../etc/passwd", "size": 1, "sha256": "x"}]}', "escapes"),
        ('{"schema": 1, "files": [], "audit": [{"path": "/abs"}]}', "audit"),
    ],
)
def test_bad_manifest_is_named(bundle: Path, content: str | None, needle: str) -> None:
    manifest = bundle / MANIFEST_NAME
    if content is None:
        manifest.unlink()
    else:
        manifest.write_text(content)
    verdict = verify_bundle(bundle)
    assert not verdict.ok
    assert verdict.problems[0].kind is ProblemKind.MANIFEST
    assert needle in verdict.problems[0].detail


def test_symlinks_are_refused(bundle: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    (bundle / "link.txt").symlink_to(outside)
    assert _kinds(verify_bundle(bundle)) == [(ProblemKind.NOT_REGULAR, "link.txt")]
    with pytest.raises(ValueError, match=r"link\.txt"):
        write_manifest(bundle)


def test_audit_file_must_be_in_the_bundle(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not in the bundle"):
        write_manifest(tmp_path, audit_files=["audit.jsonl"])
