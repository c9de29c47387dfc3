"""The real pre-deployment evidence of a release built from this tree: produced once, read, tampered with.

Producing runs the four staging suites (a private sandbox on free ports included), bandit, the
offline dependency audit, the training record and the assessment: about 2 minutes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bedrock_release.pre_deployment import (
    EvidenceError,
    check_evidence,
    check_release_approvals,
    load_sandbox_trusted_keys,
    read_business_impact,
    read_security_scan,
    read_staging_results,
    read_training_record,
)
from bedrock_release.pre_deployment.layout import REPO_ROOT, EvidencePaths
from bedrock_release.release import artifact as release_artifact

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RELEASE = "1.1.0"


@dataclass(frozen=True)
class Produced:
    releases: Path
    evidence: Path
    keys: Path
    sha: str
    output: str


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> Produced:
    root = tmp_path_factory.mktemp("pd")
    releases, keys = root / "releases", root / "keys"
    manifest = release_artifact.build(RELEASE, REPO_ROOT, releases)
    cli = [sys.executable, "-m", "bedrock_release.cli"]
    common = ["--release", RELEASE, "--releases-dir", str(releases)]
    produce = subprocess.run(
        [*cli, "evidence", "produce", *common, "--keys-dir", str(keys)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert produce.returncode == 0, produce.stdout + produce.stderr
    sign = subprocess.run(
        [*cli, "approvals", "sign", *common, "--keys-dir", str(keys)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert sign.returncode == 0, sign.stdout + sign.stderr
    return Produced(releases, releases / RELEASE / "evidence", keys, manifest.sha256, produce.stdout)


def test_real_evidence_passes_its_readers(produced: Produced) -> None:
    staging = read_staging_results(produced.evidence, release=RELEASE, artifact_sha256=produced.sha)
    assert staging.suites_without_tests() == ()
    assert staging.pass_rate_pct > 95
    assert staging.suites["integration"].tests >= 15
    assert staging.suites["performance"].tests == 5
    trusted = load_sandbox_trusted_keys(produced.keys)
    now = datetime.now(UTC)
    scan = read_security_scan(
        produced.evidence, release=RELEASE, artifact_sha256=produced.sha, trusted_keys=trusted, now=now
    )
    assert scan.critical == 0
    assert set(scan.tools) == {"bandit", "pip-audit"}
    # The 2021 snapshot counts only through the sandbox Security Team's signed acceptance.
    assert scan.risk_acceptance is not None
    assert scan.database["age_days"] > 30
    # The unit and security suites are pytest runs: their JUnit and Allure results agree.
    summary = json.loads((produced.evidence / "staging" / "summary.json").read_text())
    for suite in ("unit", "security"):
        assert {"junit", "allure"} <= set(summary["suites"][suite]), summary["suites"][suite]
    assert read_training_record(
        produced.evidence, release=RELEASE, trusted_keys=trusted, now=now
    ).participants
    read_business_impact(produced.evidence, release=RELEASE, artifact_sha256=produced.sha)
    pieces = {
        p.piece: p
        for p in check_evidence(
            produced.evidence, release=RELEASE, artifact_sha256=produced.sha, trusted_keys=trusted, now=now
        )
    }
    assert all(p.ok for name, p in pieces.items() if name != "drill"), pieces
    # The drill record is the pipeline's (playbooks/staging.yml): absent here, and said so.
    assert pieces["drill"].status == "inconclusive"
    assert "drill.json: missing" in pieces["drill"].detail
    approvals = check_release_approvals(
        RELEASE, evidence_dir=produced.evidence, trusted_keys=trusted, now=now
    )
    assert approvals.ok, approvals.summary()


def test_staging_sandbox_left_nothing_running(produced: Produced) -> None:
    import psutil  # noqa: PLC0415

    leftovers = [
        p for p in psutil.process_iter(["cmdline"]) if "bedrock-staging-" in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []


def _copy(produced: Produced, tmp_path: Path) -> EvidencePaths:
    shutil.copytree(produced.evidence, tmp_path / "evidence")
    return EvidencePaths.of(tmp_path / "evidence")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _rename_first_case(path: Path) -> None:
    path.write_text(path.read_text().replace("<testcase ", '<testcase class="x" ', 1))


@pytest.mark.parametrize(
    ("reader", "target", "tamper", "problem"),
    [
        ("staging", "staging_summary", lambda p: p.write_text(""), "empty file"),
        ("staging", "staging_summary", _truncate, "not valid JSON"),
        ("staging", "junit_unit", _truncate, "not well-formed XML"),
        ("staging", "junit_performance", _rename_first_case, "changed after the run"),
        ("security", "bandit", lambda p: p.write_text("[]"), "changed after the scan"),
        ("security", "pip_audit", lambda p: p.write_text('{"dependencies": []}'), "changed after the scan"),
        (
            "security",
            "risk_acceptance",
            lambda p: p.write_text(p.read_text().replace('"expires_at": "', '"expires_at": "2099')),
            "forged or edited",
        ),
        ("staging", "allure_unit", lambda p: next(p.glob("*-result.json")).unlink(), "changed after the run"),
        (
            "security",
            "security_report",
            lambda p: p.write_text(p.read_text().replace('"1.1.0"', '"1.0.9"')),
            "wrong",
        ),
        (
            "training",
            "training",
            lambda p: p.write_text(p.read_text().replace("Operator A", "Mallory")),
            "forged",
        ),
        ("business", "business_impact", lambda p: p.write_text("<xml/>"), "not valid JSON"),
    ],
)
def test_tampered_copy_fails_naming_the_file(  # noqa: PLR0917 - fixtures and parameters
    produced: Produced, tmp_path: Path, reader, target, tamper, problem
) -> None:
    paths = _copy(produced, tmp_path)
    file = {
        "junit_unit": paths.junit("unit"),
        "junit_performance": paths.junit("performance"),
        "allure_unit": paths.allure("unit"),
    }.get(target) or getattr(paths, target)
    tamper(file)
    trusted = load_sandbox_trusted_keys(produced.keys)
    now = datetime.now(UTC)
    readers = {
        "staging": lambda: read_staging_results(paths.root, release=RELEASE, artifact_sha256=produced.sha),
        "security": lambda: read_security_scan(
            paths.root, release=RELEASE, artifact_sha256=produced.sha, trusted_keys=trusted, now=now
        ),
        "training": lambda: read_training_record(paths.root, release=RELEASE, trusted_keys=trusted, now=now),
        "business": lambda: read_business_impact(paths.root, release=RELEASE, artifact_sha256=produced.sha),
    }
    with pytest.raises(EvidenceError, match=problem) as info:
        readers[reader]()
    assert info.value.path == str(file)
    # An approval resting on the tampered file itself is now a no-go naming the change.
    approvals = check_release_approvals(RELEASE, evidence_dir=paths.root, trusted_keys=trusted, now=now)
    if file.name in {"summary.json", "report.json", "operations-training.json", "assessment.json"}:
        assert not approvals.ok
        assert "changed" in approvals.summary()


def test_produced_output_reports_the_stale_advisory_db_and_its_acceptance(produced: Produced) -> None:
    assert "safety-db" in produced.output
    assert "days old" in produced.output
    assert "risk acceptance (sandbox Security Team) of the stale advisory database" in produced.output
    summary = json.loads((produced.evidence / "staging" / "summary.json").read_text())
    assert "not locust" in summary["suites"]["performance"]["method"]
