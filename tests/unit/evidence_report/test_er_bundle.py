"""The evidence bundle of a run: contents, manifest, and verify naming each file or record that differs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from er_run_factory import make_run

from bedrock_release.cli import main
from bedrock_release.report import bundle
from bedrock_release.report.evidence import MANIFEST_NAME, ProblemKind

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rolled-back run with report, renderings and bundle (no Allure rendering: unit tests stay offline)."""
    run_dir = make_run(tmp_path_factory.mktemp("er-bundle"))
    evidence = run_dir.parent.parent / "evidence" / "approvals"
    evidence.mkdir(parents=True)
    (evidence / "cto.json").write_text('{"role": "cto"}', encoding="utf-8")
    target = json.loads((run_dir / "target.json").read_text())
    target["evidence_dir"] = str(evidence.parent)
    (run_dir / "target.json").write_text(json.dumps(target), encoding="utf-8")
    result = bundle.finalize_run(run_dir, allure=False)
    assert result.verdict.ok, result.verdict.summary()
    return run_dir


@pytest.fixture
def copy(finished: Path, tmp_path: Path) -> Path:
    """A private copy of the bundle to tamper with."""
    import shutil  # noqa: PLC0415

    out = tmp_path / "bundle"
    shutil.copytree(finished / "bundle", out)
    return out


def test_bundle_holds_every_kind_of_evidence(finished: Path) -> None:
    manifest = json.loads((finished / "bundle" / MANIFEST_NAME).read_text())
    paths = {f["path"] for f in manifest["files"]}
    for expected in (
        "audit/audit.jsonl",
        "report.json",
        "report.md",
        "report.html",
        "target.json",
        "features/slo_gates.feature",
        "allure-results/abc-result.json",
        "cucumber/phase3.json",
        "junit/phase3.xml",
        "results/load/slo-20261126T150100Z-abc123.json",
        "approvals/cto.json",
        "bundle.json",
    ):
        assert expected in paths, expected
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    assert manifest["audit"][0]["path"] == "audit/audit.jsonl"
    assert manifest["audit"][0]["records"] > 20
    info = json.loads((finished / "bundle" / "bundle.json").read_text())
    assert "allure-report/" in info["absent"]  # said, not hidden


def test_verify_passes_on_the_run_folder_and_on_the_bundle(
    finished: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["verify", str(finished)]) == 0
    assert main(["verify", str(finished / "bundle")]) == 0
    assert "intact" in capsys.readouterr().out


def test_one_changed_byte_names_the_file(copy: Path, capsys: pytest.CaptureFixture) -> None:
    junit = copy / "junit" / "phase3.xml"
    data = bytearray(junit.read_bytes())
    data[5] ^= 0x01
    junit.write_bytes(bytes(data))
    verdict = bundle.verify(copy)
    assert [(p.kind, p.path) for p in verdict.problems] == [(ProblemKind.CHANGED, "junit/phase3.xml")]
    assert main(["verify", str(copy)]) == 1
    assert "junit/phase3.xml: changed" in capsys.readouterr().out


def _records(copy: Path) -> list[dict]:
    return [json.loads(line) for line in (copy / "audit" / "audit.jsonl").read_text().splitlines()]


def _write(copy: Path, records: list[dict]) -> None:
    text = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records)
    (copy / "audit" / "audit.jsonl").write_text(text, encoding="utf-8")


def test_an_edited_audit_record_is_named(copy: Path, capsys: pytest.CaptureFixture) -> None:
    records = _records(copy)
    victim = next(r for r in records if r["action"] == "decision")
    victim["data"]["verdict"] = "go" if victim["data"]["verdict"] == "no-go" else "no-go"
    _write(copy, records)
    verdict = bundle.verify(copy)
    audit = [p for p in verdict.problems if p.kind is ProblemKind.AUDIT]
    assert audit, verdict.summary()
    assert f"seq {victim['seq']}" in str(audit[0])
    assert any(p.kind is ProblemKind.CHANGED and p.path == "audit/audit.jsonl" for p in verdict.problems)
    assert main(["verify", str(copy)]) == 1
    assert f"seq {victim['seq']}" in capsys.readouterr().out


def test_a_removed_audit_record_is_named(copy: Path) -> None:
    records = _records(copy)
    removed = records.pop(7)
    _write(copy, records)
    audit = [p for p in bundle.verify(copy).problems if p.kind is ProblemKind.AUDIT]
    assert audit
    assert f"seq {removed['seq']}" in str(audit[0]) or f"seq {removed['seq'] + 1}" in str(audit[0])


def test_a_cut_tail_is_caught_by_the_anchor(copy: Path) -> None:
    records = _records(copy)
    _write(copy, records[:-2])  # a clean chain, just shorter: only the manifest's anchor knows
    audit = [p for p in bundle.verify(copy).problems if p.kind is ProblemKind.AUDIT]
    assert audit, "a truncated journal must not verify"


def test_added_and_missing_files_are_named(copy: Path) -> None:
    (copy / "results" / "extra.json").write_text("{}", encoding="utf-8")
    (copy / "report.md").unlink()
    kinds = {(p.kind, p.path) for p in bundle.verify(copy).problems}
    assert (ProblemKind.ADDED, "results/extra.json") in kinds
    assert (ProblemKind.MISSING, "report.md") in kinds


def test_bad_inputs_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["verify", str(tmp_path / "nope")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["verify", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "nope: no such run or bundle" in err
    assert "neither a bundle" in err
    with pytest.raises(bundle.BundleError, match="no deploy journal"):
        bundle.build_bundle(tmp_path / "empty")
