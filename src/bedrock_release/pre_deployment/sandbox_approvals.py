"""The four approvals of a release, each resting on its evidence by SHA-256; sandbox signing and checking."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from bedrock_release.plan import APPROVAL_ROLES, PLAN_DOCUMENT, plan_sha256
from bedrock_release.pre_deployment._io import sha256_file, write_json_atomic
from bedrock_release.pre_deployment.business_impact import read_business_impact
from bedrock_release.pre_deployment.errors import EvidenceError
from bedrock_release.pre_deployment.keys import (
    ensure_sandbox_keys,
    load_sandbox_trusted_keys,
    private_key_path,
)
from bedrock_release.pre_deployment.layout import APPROVAL_KINDS, EvidencePaths
from bedrock_release.pre_deployment.risk_acceptance import sign_risk_acceptance
from bedrock_release.pre_deployment.security_scan import (
    DEFAULT_MAX_DB_AGE_DAYS,
    TOOLS,
    read_scan_unjudged,
    read_security_scan,
)
from bedrock_release.pre_deployment.staging import read_staging_results
from bedrock_release.pre_deployment.training import read_training_record
from bedrock_release.release import artifact as release_artifact
from bedrock_release.release.approvals import (
    REQUIRED_ROLES,
    ApprovalRecord,
    ApprovalVerdict,
    MalformedApprovalError,
    TrustedKeys,
    check_approval_files,
    load_approval,
    load_private_key,
    sign_approval,
)

__all__ = [
    "CRITERIA",
    "MIN_PASS_RATE_PCT",
    "ApprovalRefused",
    "EvidenceReference",
    "ReferenceProblem",
    "ReleaseApprovals",
    "accept_sandbox_stale_database",
    "check_release_approvals",
    "evidence_reference",
    "sign_sandbox_approvals",
]

#: The approval criterion of each role, as features/approvals.feature states it.
CRITERIA: dict[str, str] = {
    "cto": "Overall deployment authorization",
    "security": "Security review completed with zero critical issues",
    "operations": "Operations team training completed and certified",
    "product_owner": "Business impact assessment approved",
}
#: The plan: "All staging tests pass with >95% success rate" (strictly above).
MIN_PASS_RATE_PCT = 95.0
_REFERENCE = re.compile(r"; evidence: (?P<kind>[a-z-]+) (?P<path>\S+) sha256:(?P<sha>[0-9a-f]{64})$")
_TITLES = {role.role: role.title for role in APPROVAL_ROLES}


class ApprovalRefused(Exception):  # noqa: N818 - what the approver did
    """The sandbox approvers will not sign: evidence missing, unreadable or failing (names each)."""


@dataclass(frozen=True)
class EvidenceReference:
    """The evidence an approval statement names."""

    kind: str
    path: str
    sha256: str


def evidence_reference(statement: str) -> EvidenceReference | None:
    """Return the evidence reference at the end of a statement, if it has one."""
    match = _REFERENCE.search(statement)
    return EvidenceReference(match["kind"], match["path"], match["sha"]) if match else None


@dataclass(frozen=True)
class ReferenceProblem:
    """An approval whose evidence reference does not hold."""

    role: str
    source: str
    detail: str

    def __str__(self) -> str:
        return f"evidence ({self.role}, {self.source}): {self.detail}"


@dataclass(frozen=True)
class ReleaseApprovals:
    """The approvals verdict plus the evidence-reference check; ok only if both hold."""

    verdict: ApprovalVerdict
    reference_problems: tuple[ReferenceProblem, ...]

    @property
    def ok(self) -> bool:
        """Go only with four valid approvals whose evidence is unchanged."""
        return self.verdict.ok and not self.reference_problems

    def summary(self) -> str:
        """Return one line for a go/no-go reason."""
        if self.ok:
            return self.verdict.summary() + "; evidence references hold"
        parts = [] if self.verdict.ok else [self.verdict.summary()]
        parts += [str(p) for p in self.reference_problems]
        return "; ".join(parts)


# --- signing (sandbox) ---------------------------------------------------------------------------


def _approver_checks(
    release: str, evidence_dir: Path, sha: str, trusted: TrustedKeys, now: datetime
) -> dict[str, Callable[[], None]]:
    def cto() -> None:
        results = read_staging_results(evidence_dir, release=release, artifact_sha256=sha)
        if results.suites_without_tests():
            raise ApprovalRefused(f"suites without tests: {', '.join(results.suites_without_tests())}")
        if not results.pass_rate_pct > MIN_PASS_RATE_PCT:
            raise ApprovalRefused(f"staging pass rate {results.pass_rate_pct:.2f}% is not above 95%")

    def security() -> None:
        report = read_security_scan(
            evidence_dir, release=release, artifact_sha256=sha, trusted_keys=trusted, now=now
        )
        if report.critical:
            raise ApprovalRefused(f"the security scan has {report.critical} critical findings")
        missing = set(TOOLS) - set(report.tools)
        if missing:
            raise ApprovalRefused(f"the security scan lacks {', '.join(sorted(missing))}")

    def operations() -> None:
        read_training_record(evidence_dir, release=release, trusted_keys=trusted, now=now)

    def product_owner() -> None:
        read_business_impact(evidence_dir, release=release, artifact_sha256=sha)

    return {"cto": cto, "security": security, "operations": operations, "product_owner": product_owner}


def sign_sandbox_approvals(
    release: str,
    *,
    releases_dir: Path,
    evidence_dir: Path,
    keys_dir: Path,
    valid_hours: float = 24.0,
    now: datetime | None = None,
    plan: Path = PLAN_DOCUMENT,
) -> tuple[Path, ...]:
    """Sign the four approvals of release and the plan's text with the sandbox keys, or none if any fails.

    Each approver first reads its evidence with the strict reader and its criterion (CTO: staging
    pass rate above 95% with every suite tested; Security: zero critical findings; Operations: a
    valid training record; Product Owner: a readable assessment). Nothing is signed unless all four hold.
    """
    if valid_hours <= 0:
        raise ValueError(f"valid_hours must be > 0, got {valid_hours}")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    sha = release_artifact.load(release, releases_dir).manifest.sha256
    ensure_sandbox_keys(keys_dir)
    trusted = load_sandbox_trusted_keys(keys_dir)
    paths = EvidencePaths.of(evidence_dir)
    refusals = []
    for role, check in _approver_checks(release, evidence_dir, sha, trusted, moment).items():
        try:
            check()
        except (EvidenceError, ApprovalRefused) as exc:
            refusals.append(f"{_TITLES[role]} will not sign: {exc}")
    if refusals:
        raise ApprovalRefused("; ".join(refusals))
    plan_digest = plan_sha256(plan)
    written = []
    for role in REQUIRED_ROLES:
        kind, rel = APPROVAL_KINDS[role]
        digest = sha256_file(paths.root / rel)
        record = sign_approval(
            load_private_key(private_key_path(keys_dir, role)),
            role=role,
            approver=f"sandbox approver ({_TITLES[role]})",
            release=release,
            plan_sha256=plan_digest,
            statement=f"{CRITERIA[role]}; evidence: {kind} {rel} sha256:{digest}",
            issued_at=moment,
            expires_at=moment + timedelta(hours=valid_hours),
        )
        written.append(write_json_atomic(paths.approval(role), record.to_dict()))
    return tuple(written)


def accept_sandbox_stale_database(
    release: str,
    *,
    releases_dir: Path,
    evidence_dir: Path,
    keys_dir: Path,
    valid_days: float = 7.0,
    max_db_age_days: int = DEFAULT_MAX_DB_AGE_DAYS,
    now: datetime | None = None,
) -> Path | None:
    """The sandbox's Security Team accepts its offline advisory snapshot being old; None if it is not.

    The only offline advisory data on this machine is a 2021 snapshot: the sandbox signs, with its
    Security key, a short-lived acceptance naming that database, so the pipeline exercises the
    same check a real Security Team's acceptance must pass. Staging and production scan against a
    current database, or their Security Team signs an acceptance with its own key.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    sha = release_artifact.load(release, releases_dir).manifest.sha256
    report = read_scan_unjudged(evidence_dir, release=release, artifact_sha256=sha)
    if not report.database:
        raise EvidenceError(
            report.source, "the scan has no dependency audit whose database could be accepted"
        )
    date = datetime.fromisoformat(str(report.database["date"]).replace("Z", "+00:00"))
    if (moment - date).days <= max_db_age_days:
        return None
    ensure_sandbox_keys(keys_dir)
    return sign_risk_acceptance(
        load_private_key(private_key_path(keys_dir, "security")),
        evidence_dir,
        release=release,
        database=report.database,
        reason=(
            "sandbox: the only offline advisory data here is this snapshot; advisories published after "
            "it are not checked. Accepted for the sandbox only - staging and production scan against a "
            "current database"
        ),
        accepted_by="sandbox approver (Security Team)",
        valid_days=valid_days,
        now=moment,
    )


# --- checking ------------------------------------------------------------------------------------


def _reference_problem(role: str, source: str, statement: str, root: Path) -> ReferenceProblem | None:
    ref = evidence_reference(statement)
    if ref is None:
        return ReferenceProblem(role, source, "the statement references no evidence by SHA-256")
    kind, rel = APPROVAL_KINDS[role]
    if ref.kind != kind or ref.path != rel:
        return ReferenceProblem(role, source, f"rests on {ref.kind} {ref.path}, expected {kind} {rel}")
    pure = PurePosixPath(ref.path)
    if pure.is_absolute() or ".." in pure.parts:
        return ReferenceProblem(role, source, f"evidence path {ref.path} escapes the evidence folder")
    path = root / ref.path
    if not path.is_file():
        return ReferenceProblem(role, source, f"{path}: the referenced evidence is missing")
    actual = sha256_file(path)
    if actual != ref.sha256:
        return ReferenceProblem(
            role,
            source,
            f"{path}: SHA-256 {actual[:12]}... is not the approved {ref.sha256[:12]}... (changed)",
        )
    return None


def check_release_approvals(
    release: str,
    *,
    evidence_dir: Path,
    trusted_keys: TrustedKeys,
    now: datetime,
    plan: Path = PLAN_DOCUMENT,
) -> ReleaseApprovals:
    """Check the approvals folder (bedrock_release.release.approvals) and the evidence each rests on.

    The approvals must bind the SHA-256 of ``plan`` (the deployment plan of this checkout).
    """
    paths = EvidencePaths.of(evidence_dir)
    files = sorted(paths.approvals.glob("*.json")) if paths.approvals.is_dir() else []
    verdict = check_approval_files(files, trusted_keys, release, now, plan_sha256=plan_sha256(plan))
    problems = []
    records: dict[str, list[ApprovalRecord]] = {}
    for path in files:
        try:
            record = load_approval(path)
        except MalformedApprovalError:
            continue  # already a problem of the verdict
        records.setdefault(record.role, []).append(record)
    for role in verdict.approved:
        (record,) = records[role]
        problem = _reference_problem(role, str(record.source), record.statement, paths.root)
        if problem is not None:
            problems.append(problem)
    return ReleaseApprovals(verdict, tuple(problems))
