"""Producers on a tiny release (scan, training, assessment, approvals) and their readers' refusals."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pd_fixtures import NOW, RELEASE, write_staging

from bedrock_release.plan import PLAN_DOCUMENT, plan_sha256
from bedrock_release.pre_deployment import (
    ApprovalRefused,
    EvidenceError,
    check_release_approvals,
    ensure_sandbox_keys,
    load_sandbox_trusted_keys,
    produce_business_impact,
    produce_security_scan,
    produce_training_record,
    read_business_impact,
    read_security_scan,
    read_training_record,
    sign_sandbox_approvals,
)
from bedrock_release.pre_deployment.errors import ProductionError
from bedrock_release.release.approvals import REQUIRED_ROLES


def test_security_scan_of_tiny_release(tiny) -> None:
    report = produce_security_scan(RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, now=NOW)
    assert report.critical == 0
    assert report.tools == ("bandit", "dependency-audit")
    assert report.database["name"] == "safety-db"
    assert any("days old" in w for w in report.warnings)  # a 2021 snapshot is never silently "fresh"
    audit = json.loads(tiny.paths.dependency_audit.read_text())
    assert "pyyaml" in {p["name"] for p in audit["packages"]}


def test_security_scan_tampering_is_named(tiny) -> None:
    produce_security_scan(RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, now=NOW)
    bandit = tiny.paths.bandit
    data = json.loads(bandit.read_text())
    data["results"] = []
    bandit.write_text(json.dumps(data))
    with pytest.raises(EvidenceError, match="changed after the scan") as info:
        read_security_scan(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)
    assert info.value.path == str(bandit)
    with pytest.raises(EvidenceError, match="wrong release"):
        read_security_scan(tiny.evidence, release="2.0.0", artifact_sha256=tiny.sha)


def test_security_report_cannot_understate_critical(tiny) -> None:
    produce_security_scan(RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, now=NOW)
    report = json.loads(tiny.paths.security_report.read_text())
    report["critical"] = 0
    report["tools"][0]["critical"] = 0
    bandit = json.loads(tiny.paths.bandit.read_text())
    bandit["results"].append({"issue_severity": "HIGH", "test_id": "B999"})
    text = json.dumps(bandit)
    tiny.paths.bandit.write_text(text)
    import hashlib  # noqa: PLC0415

    report["tools"][0]["sha256"] = hashlib.sha256(text.encode()).hexdigest()
    tiny.paths.security_report.write_text(json.dumps(report))
    with pytest.raises(EvidenceError, match="holds 1 HIGH"):
        read_security_scan(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)


def _training(tiny, **kwargs):
    ensure_sandbox_keys(tiny.keys)
    return produce_training_record(
        RELEASE, evidence_dir=tiny.evidence, roster_path=tiny.roster, keys_dir=tiny.keys, now=NOW, **kwargs
    )


def test_training_record_is_signed_and_current(tiny) -> None:
    record = _training(tiny)
    assert [p.name for p in record.participants] == ["Ana", "Ben"]
    assert record.origin == "sandbox-generated"
    trusted = load_sandbox_trusted_keys(tiny.keys)
    assert read_training_record(tiny.evidence, release=RELEASE, trusted_keys=trusted, now=NOW).key_id


def test_training_record_refusals(tiny, tmp_path) -> None:
    _training(tiny, valid_days=1)
    trusted = load_sandbox_trusted_keys(tiny.keys)
    read = lambda **kw: read_training_record(tiny.evidence, trusted_keys=trusted, **kw)  # noqa: E731
    with pytest.raises(EvidenceError, match="expired"):
        read(release=RELEASE, now=NOW + timedelta(days=2))
    with pytest.raises(EvidenceError, match="in the future"):
        read(release=RELEASE, now=NOW - timedelta(days=1))
    with pytest.raises(EvidenceError, match="wrong release"):
        read(release="1.2.0", now=NOW)
    other = load_sandbox_trusted_keys(ensure_sandbox_keys(tmp_path / "other").parent)
    with pytest.raises(EvidenceError, match="not a trusted Operations Team key"):
        read_training_record(tiny.evidence, release=RELEASE, trusted_keys=other, now=NOW)
    # Signed with the CTO's key: trusted, but not for operations.
    cto_only = {"operations": trusted["cto"]}
    with pytest.raises(EvidenceError, match="not a trusted Operations Team key"):
        read_training_record(tiny.evidence, release=RELEASE, trusted_keys=cto_only, now=NOW)
    data = json.loads(tiny.paths.training.read_text())
    data["participants"].append({"name": "Eve", "role": "x", "completed_at": "2026-11-26T15:00:00Z"})
    tiny.paths.training.write_text(json.dumps(data))
    with pytest.raises(EvidenceError, match="forged or edited"):
        read(release=RELEASE, now=NOW)
    del data["signature"]
    tiny.paths.training.write_text(json.dumps(data))
    with pytest.raises(EvidenceError, match="unsigned"):
        read(release=RELEASE, now=NOW)


@pytest.mark.parametrize(
    "roster",
    [
        "",
        "pre_deployment_operations_roster: []\n",
        "pre_deployment_operations_roster:\n  - {name: A}\n",
        "[: bad",
    ],
)
def test_bad_roster_is_refused(tiny, roster) -> None:
    tiny.roster.write_text(roster)
    with pytest.raises(ProductionError, match=str(tiny.roster)):
        _training(tiny)


def test_private_keys_are_0600_and_kept(tiny) -> None:
    trusted_dir = ensure_sandbox_keys(tiny.keys)
    first = (trusted_dir / "cto.pub").read_bytes()
    assert ensure_sandbox_keys(tiny.keys) == trusted_dir
    assert (trusted_dir / "cto.pub").read_bytes() == first
    for key in (tiny.keys / "private").iterdir():
        assert key.stat().st_mode & 0o777 == 0o600
    assert (tiny.keys / "private").stat().st_mode & 0o777 == 0o700
    assert not list(trusted_dir.glob("*.key"))


def test_business_impact(tiny) -> None:
    produce_business_impact(RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, now=NOW)
    assessment = read_business_impact(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)
    assert assessment.origin == "sandbox-generated"
    data = json.loads(tiny.paths.business_impact.read_text())
    data["business_metrics"] = data["business_metrics"][1:]
    tiny.paths.business_impact.write_text(json.dumps(data))
    with pytest.raises(EvidenceError, match="is not assessed"):
        read_business_impact(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)


def _all_evidence(tiny, *, failed: int = 0) -> None:
    write_staging(tiny.paths, tiny.sha, failed=failed)
    produce_security_scan(RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, now=NOW)
    _training(tiny)
    produce_business_impact(RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, now=NOW)


def test_approvals_rest_on_their_evidence(tiny) -> None:
    _all_evidence(tiny)
    written = sign_sandbox_approvals(
        RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, keys_dir=tiny.keys, now=NOW
    )
    assert len(written) == 4
    trusted = load_sandbox_trusted_keys(tiny.keys)
    result = check_release_approvals(RELEASE, evidence_dir=tiny.evidence, trusted_keys=trusted, now=NOW)
    assert result.ok, result.summary()
    # Evidence changed after approval: named, and a no-go.
    tiny.paths.business_impact.write_text(tiny.paths.business_impact.read_text() + " ")
    result = check_release_approvals(RELEASE, evidence_dir=tiny.evidence, trusted_keys=trusted, now=NOW)
    assert not result.ok
    assert "product_owner" in result.summary()
    assert "changed" in result.summary()
    # Expired and for another release are the approvals module's verdicts, passed through.
    later = check_release_approvals(
        RELEASE, evidence_dir=tiny.evidence, trusted_keys=trusted, now=NOW + timedelta(days=2)
    )
    assert "expired" in later.summary()
    other = check_release_approvals("1.2.0", evidence_dir=tiny.evidence, trusted_keys=trusted, now=NOW)
    assert "wrong_release" in other.summary()


def test_approvals_bind_the_plan_text_they_were_signed_against(tiny, tmp_path) -> None:
    _all_evidence(tiny)
    sign_sandbox_approvals(
        RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, keys_dir=tiny.keys, now=NOW
    )
    trusted = load_sandbox_trusted_keys(tiny.keys)
    edited = tmp_path / "deployment-plan.md"
    edited.write_bytes(PLAN_DOCUMENT.read_bytes().replace(b"> 95%", b"> 90%"))
    result = check_release_approvals(
        RELEASE, evidence_dir=tiny.evidence, trusted_keys=trusted, now=NOW, plan=edited
    )
    assert not result.ok
    assert sorted(p.role for p in result.verdict.problems) == sorted(REQUIRED_ROLES)
    assert {p.kind.value for p in result.verdict.problems} == {"wrong_plan"}
    detail = result.verdict.problems[0].detail
    assert f"sha256:{plan_sha256(PLAN_DOCUMENT)}" in detail  # what was approved
    assert f"sha256:{plan_sha256(edited)}" in detail  # what this deploy runs against


def test_approvers_refuse_a_failing_release(tiny) -> None:
    _all_evidence(tiny, failed=3)  # 40 / 43 = 93% is not above 95%
    with pytest.raises(ApprovalRefused, match=r"pass rate 93\.02% is not above 95%"):
        sign_sandbox_approvals(
            RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, keys_dir=tiny.keys, now=NOW
        )
    assert not tiny.paths.approvals.exists()


def test_approvers_refuse_missing_evidence(tiny) -> None:
    write_staging(tiny.paths, tiny.sha)
    with pytest.raises(ApprovalRefused) as info:
        sign_sandbox_approvals(
            RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, keys_dir=tiny.keys, now=NOW
        )
    text = str(info.value)
    assert "Security Team will not sign" in text
    assert "report.json: missing" in text
    assert "CTO Approval" not in text
