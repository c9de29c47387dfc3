"""Steps of features/pre_deployment.feature (phase 1), bound to bedrock_release.pre_deployment's readers.

Every reader parses strictly and raises EvidenceError for evidence that is missing, empty,
unreadable, unsigned, expired or about another release or artifact; the suite turns that into an
inconclusive check (docs/contracts.md, "Pre-deployment evidence").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from pytest_bdd import given, parsers, then

from bedrock_release import pre_deployment as pre
from bedrock_release.gates.threshold_drift import DriftError, check_drift
from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window
from bedrock_release.release.approvals import key_id
from bedrock_release.suite.checks import require
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.pre_deployment_context import EvidenceContext, evidence_context

T = TypeVar("T")


def _read(what: str, reader: Callable[[], T]) -> T:
    try:
        return reader()
    except pre.EvidenceError as exc:
        inconclusive(what, str(exc))


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@given("the pre-deployment evidence of the release under deployment", target_fixture="context")
def pre_deployment_evidence(target: Any, evidence: EvidenceRecorder) -> EvidenceContext:
    """The evidence folder, trusted keys and the artifact's SHA-256 of the release under deployment."""
    from bedrock_release.release.artifact import ArtifactError  # noqa: PLC0415

    try:
        context = evidence_context(target)
    except (ValueError, ArtifactError, OSError) as exc:
        inconclusive("pre-deployment evidence", str(exc))
    evidence.data("evidence context", context.to_dict())
    return context


@then("the staging evidence was produced for the release under deployment")
def staging_for_release(context: EvidenceContext, evidence: EvidenceRecorder) -> None:
    """The staging summary names the release (the reader refuses any other)."""
    results = _read(
        "staging evidence",
        lambda: pre.read_staging_results(
            context.evidence_dir, release=context.release, artifact_sha256=context.artifact_sha256
        ),
    )
    evidence.data(
        "staging summary",
        {"source": results.source, "release": results.release, "produced_at": results.produced_at},
    )
    require(
        results.release == context.release,
        f"staging evidence is about {results.release}, not {context.release}",
    )


@then("the staging evidence covers the release artifact by its SHA-256")
def staging_covers_artifact(context: EvidenceContext) -> None:
    """The summary's artifact SHA-256 is the built artifact's."""
    results = _read(
        "staging evidence",
        lambda: pre.read_staging_results(
            context.evidence_dir, release=context.release, artifact_sha256=context.artifact_sha256
        ),
    )
    require(
        results.artifact_sha256 == context.artifact_sha256,
        f"staging evidence covers artifact {results.artifact_sha256}, not {context.artifact_sha256}",
    )


@given("the staging test results of the release", target_fixture="staging")
def staging_results(context: EvidenceContext, evidence: EvidenceRecorder) -> Any:
    """The staging summary and its JUnit files, recounted by the reader."""
    results = _read(
        "staging test results",
        lambda: pre.read_staging_results(
            context.evidence_dir, release=context.release, artifact_sha256=context.artifact_sha256
        ),
    )
    evidence.data(
        "staging test results",
        {
            "source": results.source,
            "suites": {n: vars(c) for n, c in results.suites.items()},
            "pass_rate_pct": results.pass_rate_pct,
        },
    )
    return results


@then(parsers.parse('the results include the test suites "{suites}"'))
def results_include_suites(suites: str, staging: Any) -> None:
    """Every named suite has results."""
    missing = [name for name in _split(suites) if name not in staging.suites]
    require(not missing, f"the staging results lack the suites {missing}; they have {sorted(staging.suites)}")


@then(parsers.parse("every test suite has at least {count:d} test"))
def suites_not_empty(count: int, staging: Any) -> None:
    """No suite ran fewer tests than the minimum."""
    thin = {name: c.tests for name, c in staging.suites.items() if c.tests < count}
    require(not thin, f"suites with fewer than {count} tests: {thin}")


@then(parsers.parse("the success rate across all staging tests is above {pct:g} percent"))
def pass_rate_above(pct: float, staging: Any, evidence: EvidenceRecorder) -> None:
    """Passed tests over all suites, strictly more than pct percent (a skipped test is not a pass)."""
    tests, passed = staging.totals.tests, staging.totals.passed
    needed = math.floor(tests * pct / 100) + 1  # the smallest count strictly above pct percent
    verdict = Verdict.INCONCLUSIVE if tests == 0 else (Verdict.PASS if passed >= needed else Verdict.FAIL)
    evidence.gate(
        GateResult(
            name="staging-pass-rate",
            verdict=verdict,
            value=float(passed),
            threshold=float(needed),
            unit="tests passed",
            comparison=Comparison.AT_LEAST,
            samples=tests,
            min_samples=1,
            window=Window("the staging test run of the release", None),
            source=staging.source,
            reasons=(
                f"{staging.pass_rate_pct:.2f} % of {tests} tests passed; "
                f"more than {pct:g} % means at least {needed}",
            ),
            raw={"totals": vars(staging.totals), "suites": {n: vars(c) for n, c in staging.suites.items()}},
        )
    )


@given("the security scan report of the release artifact", target_fixture="scan")
def security_scan(context: EvidenceContext, evidence: EvidenceRecorder) -> Any:
    """The scan report, with critical findings recounted from the tools' own output."""
    report = _read(
        "security scan",
        lambda: pre.read_security_scan(
            context.evidence_dir,
            release=context.release,
            artifact_sha256=context.artifact_sha256,
            trusted_keys=context.trusted_keys,
            now=context.now,
        ),
    )
    acceptance = report.risk_acceptance
    evidence.data(
        "security scan",
        {
            "source": report.source,
            "critical": report.critical,
            "tools": list(report.tools),
            "warnings": list(report.warnings),
            "database": dict(report.database),
            "risk_acceptance": acceptance.describe() if acceptance else None,
        },
    )
    return report


@then("the scan includes the static analysis and the dependency audit")
def scan_has_both_tools(scan: Any) -> None:
    """bandit (static analysis) and pip-audit (the dependency audit) both ran."""
    missing = [tool for tool in ("bandit", "pip-audit") if tool not in scan.tools]
    require(not missing, f"the scan lacks {missing}; it ran {list(scan.tools)}")


@then(parsers.parse("the number of critical findings is at most {limit:d}"))
def critical_findings(limit: int, scan: Any, evidence: EvidenceRecorder) -> None:
    """Critical findings of both tools together."""
    evidence.gate(
        GateResult(
            name="security-critical-findings",
            verdict=Verdict.PASS if scan.critical <= limit else Verdict.FAIL,
            value=float(scan.critical),
            threshold=float(limit),
            unit="critical findings",
            comparison=Comparison.AT_MOST,
            samples=1,
            min_samples=1,
            window=Window("the security scan of the release artifact", None),
            source=scan.source,
            reasons=tuple(f"{name}: {tool.critical} critical" for name, tool in scan.by_tool.items())
            + ((f"risk accepted: {scan.risk_acceptance.describe()}",) if scan.risk_acceptance else ())
            + tuple(scan.warnings),
        )
    )


@given("the operations training record", target_fixture="training")
def training_record(context: EvidenceContext, evidence: EvidenceRecorder) -> Any:
    """The signed training record, verified by the reader (trusted key, release, validity)."""
    record = _read(
        "operations training record",
        lambda: pre.read_training_record(
            context.evidence_dir, release=context.release, trusted_keys=context.trusted_keys, now=context.now
        ),
    )
    evidence.data(
        "training record",
        {
            "source": record.source,
            "team": record.team,
            "course": record.course,
            "participants": len(record.participants),
            "key_id": record.key_id,
            "expires_at": record.expires_at.isoformat(),
            "origin": record.origin,
        },
    )
    return record


@then("the record certifies the operations team for the release under deployment")
def record_certifies_team(training: Any, context: EvidenceContext) -> None:
    """Team, release and at least one participant."""
    require(
        training.team == "Operations Team", f"the record certifies {training.team!r}, not the Operations Team"
    )
    require(
        training.release == context.release, f"the record is for {training.release}, not {context.release}"
    )
    require(training.participants, "the record lists no participant")


@then("the record is signed by a trusted Operations Team key and has not expired")
def record_signed_and_valid(training: Any, context: EvidenceContext) -> None:
    """The signing key is a trusted operations key and the record is valid now."""
    trusted = {key_id(k) for k in context.trusted_keys.get("operations", [])}
    require(training.key_id in trusted, f"key {training.key_id} is not a trusted Operations Team key")
    require(
        training.issued_at <= context.now < training.expires_at,
        f"the record is valid {training.issued_at} to {training.expires_at}",
    )


@given("the staging rollback drill record", target_fixture="drill")
def drill_record(context: EvidenceContext, evidence: EvidenceRecorder) -> Any:
    """The drill record the pipeline wrote in staging."""
    record = _read(
        "rollback drill record",
        lambda: pre.read_drill_record(
            context.evidence_dir, release=context.release, trusted_keys=context.trusted_keys
        ),
    )
    evidence.data(
        "drill record",
        {
            "source": record.source,
            "environment": record.environment,
            "time_scale": record.time_scale,
            "signed_by": record.key_id,
            "tiers": [vars(t) for t in record.tiers],
        },
    )
    return record


@then(parsers.parse('the drill covered the rollback tiers "{tiers}"'))
def drill_covered(tiers: str, drill: Any) -> None:
    """Each named tier was drilled."""
    missing = [tier for tier in _split(tiers) if drill.tier(tier) is None]
    require(not missing, f"the drill did not cover {missing}")


@then("every drilled tier was verified and finished within its target time")
def drill_verified(drill: Any) -> None:
    """Each tier verified and within its target."""
    problems = [p for p in drill.problems() if "was not drilled" not in p]
    require(not problems, "; ".join(problems))


@then("no feature file loosens or drops a threshold of the deployment plan")
def no_threshold_drift(request: pytest.FixtureRequest, evidence: EvidenceRecorder) -> None:
    """Every threshold of docs/deployment-plan.md is restated by the features, none loosened or dropped."""
    root = request.config.rootpath
    try:
        report = check_drift(root / "docs" / "deployment-plan.md", root / "features")
    except DriftError as exc:
        inconclusive("threshold drift", str(exc))
    evidence.data("threshold drift", report.to_dict())
    require(report.ok, report.summary())
