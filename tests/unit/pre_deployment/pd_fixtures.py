"""Helpers of the pre-deployment unit tests: a tiny built release and valid staging results for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bedrock_release.pre_deployment._io import sha256_file, write_json_atomic
from bedrock_release.pre_deployment.junit import CaseResult, Outcome, suite_name, write_junit
from bedrock_release.pre_deployment.layout import SUITES, EvidencePaths
from bedrock_release.release import artifact as release_artifact

RELEASE = "1.1.0"
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Tiny:
    """A tiny release: where it is built, its artifact hash, its evidence folder and sandbox keys."""

    releases: Path
    sha: str
    evidence: Path
    keys: Path
    roster: Path

    @property
    def paths(self) -> EvidencePaths:
        return EvidencePaths.of(self.evidence)


def build_tiny(root: Path, release: str = RELEASE) -> str:
    src = root / "src"
    for package in release_artifact.PACKAGES:
        (src / package).mkdir(parents=True, exist_ok=True)
        (src / package / "__init__.py").write_text('"""tiny."""\n\nimport yaml  # noqa: F401\n')
    manifest = release_artifact.build(
        release, root, root / "releases", components={"ComplianceValidator": "1.1.0"}
    )
    return manifest.sha256


def write_staging(paths: EvidencePaths, sha: str, *, failed: int = 0, release: str = RELEASE) -> None:
    suites = {}
    total = {"tests": 0, "passed": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in SUITES:
        cases = [CaseResult(f"t{i}", suite, Outcome.PASSED, 0.01) for i in range(10)]
        if suite == "unit":
            cases += [CaseResult(f"f{i}", suite, Outcome.FAILED, 0.01, "x") for i in range(failed)]
        write_junit(paths.junit(suite), suite_name(suite, release), cases)
        passed, failures = 10, failed if suite == "unit" else 0
        counts = {
            "tests": passed + failures,
            "passed": passed,
            "failures": failures,
            "errors": 0,
            "skipped": 0,
        }
        for key, value in counts.items():
            total[key] += value
        suites[suite] = {
            "junit": {"file": f"junit/{suite}.xml", "sha256": sha256_file(paths.junit(suite))},
            **counts,
            "duration_s": 0.1,
            "method": "fixture",
        }
    write_json_atomic(
        paths.staging_summary,
        {
            "schema": 1,
            "kind": "staging-test-results",
            "release": release,
            "artifact_sha256": sha,
            "environment": "test",
            "produced_at": "2026-11-26T14:00:00Z",
            "duration_s": 1.0,
            "suites": suites,
            "totals": total,
            "pass_rate_pct": round(100 * total["passed"] / total["tests"], 4),
        },
    )
