"""Producers on a tiny release (scan, training, assessment, approvals) and their readers' refusals."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from importlib import metadata

import pytest
from pd_fixtures import NOW, RELEASE, write_staging

from bedrock_release.plan import PLAN_DOCUMENT, plan_sha256
from bedrock_release.pre_deployment import (
    ApprovalRefused,
    EvidenceError,
    accept_sandbox_stale_database,
    check_release_approvals,
    ensure_sandbox_keys,
    load_sandbox_trusted_keys,
    produce_business_impact,
    produce_security_scan,
    produce_training_record,
    read_business_impact,
    read_pip_audit,
    read_security_scan,
    read_training_record,
    sign_sandbox_approvals,
)
from bedrock_release.pre_deployment._signing import sign_document
from bedrock_release.pre_deployment.errors import ProductionError
from bedrock_release.release.approvals import REQUIRED_ROLES, load_private_key


def _scan(tiny):
    return produce_security_scan(RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, now=NOW)


def _read_scan(tiny, *, release=RELEASE, now=NOW, keys=None):
    trusted = load_sandbox_trusted_keys(tiny.keys) if keys is None else keys
    return read_security_scan(
        tiny.evidence, release=release, artifact_sha256=tiny.sha, trusted_keys=trusted, now=now
    )


def _accept(tiny, *, now=NOW):
    return accept_sandbox_stale_database(
        RELEASE, releases_dir=tiny.releases, evidence_dir=tiny.evidence, keys_dir=tiny.keys, now=now
    )


def test_security_scan_of_tiny_release(tiny) -> None:
    report = _scan(tiny)
    assert report.critical == 0
    assert report.tools == ("bandit", "pip-audit")
    assert report.database["name"] == "safety-db"
    assert any("days old" in w for w in report.warnings)  # a 2021 snapshot is never silently "fresh"
    audit = json.loads(tiny.paths.pip_audit.read_text())  # pip-audit's own --format json shape
    assert set(audit) == {"dependencies", "fixes"}
    assert {"name": "pyyaml", "version": metadata.version("pyyaml"), "vulns": []} in audit["dependencies"]
    assert read_pip_audit(tiny.paths.pip_audit).dependencies


def test_a_stale_advisory_database_is_inconclusive_without_a_signed_risk_acceptance(tiny) -> None:
    _scan(tiny)
    ensure_sandbox_keys(tiny.keys)
    with pytest.raises(EvidenceError) as info:
        _read_scan(tiny)
    assert info.value.path == str(tiny.paths.risk_acceptance)
    assert info.value.problem.startswith("missing; the advisory database safety-db")
    assert "days old (limit 30)" in info.value.problem
    assert "inconclusive" in info.value.problem


def test_the_sandbox_security_team_accepts_the_stale_database_and_the_report_says_so(tiny) -> None:
    _scan(tiny)
    path = _accept(tiny)
    assert path == tiny.paths.risk_acceptance
    report = _read_scan(tiny)
    assert report.risk_acceptance is not None
    assert report.database["age_days"] > 30
    text = report.risk_acceptance.describe()
    assert text.startswith("stale advisory database safety-db")
    assert "accepted by sandbox approver (Security Team)" in text
    assert str(tiny.paths.risk_acceptance) in text
    # The acceptance expires: a week later the scan is inconclusive again, naming the expiry.
    with pytest.raises(EvidenceError, match="expired at") as info:
        _read_scan(tiny, now=NOW + timedelta(days=8))
    assert info.value.path == str(tiny.paths.risk_acceptance)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("edited", "forged or edited after signing"),
        ("another-role", "not a trusted Security Team key"),
        ("another-release", "wrong release"),
        ("another-database", "not the scan's database"),
        ("unsigned", "unsigned"),
    ],
)
def test_a_risk_acceptance_that_does_not_hold_is_refused_naming_it(tiny, damage: str, problem: str) -> None:
    _scan(tiny)
    _accept(tiny)
    path = tiny.paths.risk_acceptance
    data = json.loads(path.read_text())
    body = {k: v for k, v in data.items() if k not in ("key_id", "signature")}
    operations = load_private_key(tiny.keys / "private" / "operations.key")
    security = load_private_key(tiny.keys / "private" / "security.key")
    if damage == "edited":
        data["expires_at"] = "2099-01-01T00:00:00Z"
    elif damage == "another-role":
        data = sign_document(operations, body)
    elif damage == "another-release":
        data = sign_document(security, {**body, "release": "1.0.0"})
    elif damage == "another-database":
        data = sign_document(security, {**body, "database": {**body["database"], "version": "2099.1.1"}})
    else:
        data = body
    path.write_text(json.dumps(data))
    with pytest.raises(EvidenceError, match=problem) as info:
        _read_scan(tiny)
    assert info.value.path == str(path)


def test_a_current_database_needs_no_acceptance(tiny) -> None:
    _scan(tiny)
    report = json.loads(tiny.paths.security_report.read_text())
    date = report["tools"][1]["database"]["date"]
    moment = datetime.fromisoformat(date.replace("Z", "+00:00")) + timedelta(days=10)
    ensure_sandbox_keys(tiny.keys)
    assert _read_scan(tiny, now=moment).risk_acceptance is None
    assert _accept(tiny, now=moment) is None  # nothing to accept


def test_security_scan_tampering_is_named(tiny) -> None:
    _scan(tiny)
    _accept(tiny)
    bandit = tiny.paths.bandit
    data = json.loads(bandit.read_text())
    data["results"] = []
    bandit.write_text(json.dumps(data))
    with pytest.raises(EvidenceError, match="changed after the scan") as info:
        _read_scan(tiny)
    assert info.value.path == str(bandit)
    with pytest.raises(EvidenceError, match="wrong release"):
        _read_scan(tiny, release="2.0.0")


def test_security_report_cannot_understate_critical(tiny) -> None:
    _scan(tiny)
    _accept(tiny)
    report = json.loads(tiny.paths.security_report.read_text())
    report["critical"] = 0
    report["tools"][0]["critical"] = 0
    bandit = json.loads(tiny.paths.bandit.read_text())
    bandit["results"].append({"issue_severity": "HIGH", "test_id": "B999"})
    text = json.dumps(bandit)
    tiny.paths.bandit.write_text(text)
    report["tools"][0]["sha256"] = hashlib.sha256(text.encode()).hexdigest()
    tiny.paths.security_report.write_text(json.dumps(report))
    with pytest.raises(EvidenceError, match="holds 1 HIGH"):
        _read_scan(tiny)


def test_a_vulnerability_in_pip_audit_output_is_critical_and_cannot_be_understated(tiny) -> None:
    _scan(tiny)
    _accept(tiny)
    audit = json.loads(tiny.paths.pip_audit.read_text())
    audit["dependencies"][0]["vulns"].append({"id": "PYSEC-2099-1", "fix_versions": ["9.9"]})
    text = json.dumps(audit)
    tiny.paths.pip_audit.write_text(text)
    report = json.loads(tiny.paths.security_report.read_text())
    report["tools"][1]["sha256"] = hashlib.sha256(text.encode()).hexdigest()
    tiny.paths.security_report.write_text(json.dumps(report))
    with pytest.raises(EvidenceError, match="holds 1 vulnerabilities") as info:
        _read_scan(tiny)
    assert info.value.path == str(tiny.paths.security_report)
    report["tools"][1]["critical"], report["critical"] = 1, 1
    tiny.paths.security_report.write_text(json.dumps(report))
    assert _read_scan(tiny).critical == 1


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
    _scan(tiny)
    _training(tiny)
    _accept(tiny)
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


def test_a_scan_of_the_earlier_format_says_how_to_scan_again(tiny) -> None:
    _scan(tiny)
    report = json.loads(tiny.paths.security_report.read_text())
    report["tools"][1]["name"] = "dependency-audit"
    tiny.paths.security_report.write_text(json.dumps(report))
    with pytest.raises(EvidenceError, match=r"predates pip-audit.s format; scan again.*--only scan") as info:
        _read_scan(tiny)
    assert info.value.path == str(tiny.paths.security_report)
