"""Steps of features/approvals.feature: the four signed approvals of the release, and the no-go cases.

The no-go cases work on a copy of the release's approval records re-signed by a throwaway test
authority (fresh Ed25519 keys that only the copy's check trusts), so each defect - missing, expired,
for another release, signed by another key, tampered, duplicated - is exactly the one named.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from pytest_bdd import given, parsers, then, when

from bedrock_release import pre_deployment as pre
from bedrock_release.plan import PLAN_DOCUMENT, plan_sha256
from bedrock_release.pre_deployment.layout import APPROVAL_KINDS
from bedrock_release.release import approvals as ap
from bedrock_release.suite.checks import require
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.pre_deployment_context import ROLE_TITLES, EvidenceContext, evidence_context

#: Which problem kind each defect of the feature must be reported as.
PROBLEM_KINDS = {
    "missing": ap.ProblemKind.MISSING_ROLE,
    "expired": ap.ProblemKind.EXPIRED,
    "for another release": ap.ProblemKind.WRONG_RELEASE,
    "for another plan text": ap.ProblemKind.WRONG_PLAN,
    "signed by another key": ap.ProblemKind.UNKNOWN_KEY,
    "tampered after signing": ap.ProblemKind.BAD_SIGNATURE,
    "duplicated": ap.ProblemKind.DUPLICATED_ROLE,
}


@dataclasses.dataclass(frozen=True)
class ReleaseApprovalRecords:
    """The records found, and the pre-deployment module's verdict on them."""

    context: EvidenceContext
    records: dict[str, list[ap.ApprovalRecord]]
    checked: Any
    plan_sha256: str


def _role(title: str) -> str:
    role = ROLE_TITLES.get(title)
    require(role is not None, f"{title!r} is not one of the plan's approval roles {sorted(ROLE_TITLES)}")
    return str(role)


@given("the approval records of the release under deployment", target_fixture="release_approvals")
def approval_records(target: Any, evidence: EvidenceRecorder) -> ReleaseApprovalRecords:
    """Load every approval record and check them (signatures, release, validity, evidence references)."""
    from bedrock_release.release.artifact import ArtifactError  # noqa: PLC0415

    try:
        context = evidence_context(target)
    except (ValueError, ArtifactError, OSError) as exc:
        inconclusive("approvals", str(exc))
    folder = pre.EvidencePaths.of(context.evidence_dir).approvals
    records: dict[str, list[ap.ApprovalRecord]] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = ap.load_approval(path)
        except ap.MalformedApprovalError:
            continue  # the verdict below names it
        records.setdefault(record.role, []).append(record)
    try:
        plan = plan_sha256(PLAN_DOCUMENT)
    except OSError as exc:
        inconclusive("approvals", f"the deployment plan {PLAN_DOCUMENT} cannot be read: {exc}")
    checked = pre.check_release_approvals(
        context.release,
        evidence_dir=context.evidence_dir,
        trusted_keys=context.trusted_keys,
        now=context.now,
        plan=PLAN_DOCUMENT,
    )
    evidence.data(
        "approvals",
        {
            "folder": str(folder),
            "records": {role: [r.to_dict() for r in rs] for role, rs in records.items()},
            "plan": {"path": str(PLAN_DOCUMENT), "sha256": plan},
            "verdict": checked.summary(),
            "problems": [str(p) for p in checked.verdict.problems],
            "reference_problems": [str(p) for p in checked.reference_problems],
        },
    )
    return ReleaseApprovalRecords(context, records, checked, plan)


def _problems_of(release_approvals: ReleaseApprovalRecords, role: str, *kinds: ap.ProblemKind) -> list[str]:
    return [str(p) for p in release_approvals.checked.verdict.problems if p.role == role and p.kind in kinds]


@then(parsers.parse('the "{title}" approval is present'))
def approval_present(title: str, release_approvals: ReleaseApprovalRecords) -> None:
    """Exactly one record for the role."""
    role = _role(title)
    count = len(release_approvals.records.get(role, []))
    require(count == 1, f"{count} approval records for {title} (exactly one is required)")


@then(parsers.parse('the "{title}" approval is signed by a trusted key for that role'))
def approval_signed(title: str, release_approvals: ReleaseApprovalRecords) -> None:
    """The signature verifies with a key trusted for this role."""
    role = _role(title)
    problems = _problems_of(release_approvals, role, ap.ProblemKind.UNKNOWN_KEY, ap.ProblemKind.BAD_SIGNATURE)
    require(release_approvals.records.get(role), f"no approval record for {title}")
    require(not problems, f"{title}: {problems}")


@then(parsers.parse('the "{title}" approval is bound to the release under deployment'))
def approval_bound(title: str, release_approvals: ReleaseApprovalRecords) -> None:
    """The signed record names the release under deployment."""
    role = _role(title)
    records = release_approvals.records.get(role, [])
    require(records, f"no approval record for {title}")
    require(
        not _problems_of(release_approvals, role, ap.ProblemKind.WRONG_RELEASE),
        f"{title} approves another release",
    )
    require(
        all(r.release == release_approvals.context.release for r in records),
        f"{title} approves {[r.release for r in records]}, not {release_approvals.context.release}",
    )


@then(parsers.parse('the "{title}" approval is bound to the text of the deployment plan by its SHA-256'))
def approval_bound_to_plan(title: str, release_approvals: ReleaseApprovalRecords) -> None:
    """The signed record names the SHA-256 of docs/deployment-plan.md as it is now."""
    role = _role(title)
    records = release_approvals.records.get(role, [])
    require(records, f"no approval record for {title}")
    problems = _problems_of(release_approvals, role, ap.ProblemKind.WRONG_PLAN)
    require(not problems, f"{title}: {problems}")
    wrong = [r.plan_sha256 for r in records if r.plan_sha256 != release_approvals.plan_sha256]
    require(
        not wrong,
        f"{title} approves plan text sha256:{wrong}, not {PLAN_DOCUMENT.name} "
        f"sha256:{release_approvals.plan_sha256}",
    )


@then(parsers.parse('the "{title}" approval has not expired'))
def approval_current(title: str, release_approvals: ReleaseApprovalRecords) -> None:
    """Valid now, and the role counts as approved."""
    role = _role(title)
    problems = _problems_of(release_approvals, role, ap.ProblemKind.EXPIRED, ap.ProblemKind.NOT_YET_VALID)
    require(not problems, f"{title}: {problems}")
    require(
        role in release_approvals.checked.verdict.approved,
        f"{title} is not approved: {release_approvals.checked.summary()}",
    )


@then("the approvals reference their evidence by SHA-256")
def approvals_reference_evidence(
    release_approvals: ReleaseApprovalRecords, datatable: list[list[str]]
) -> None:
    """Each role's statement states its criterion and names its evidence, whose SHA-256 still matches."""
    header, *rows = datatable
    column = {name: index for index, name in enumerate(header)}
    problems = [str(p) for p in release_approvals.checked.reference_problems]
    for row in rows:
        title, criterion, kind = row[column["role"]], row[column["criterion"]], row[column["evidence"]]
        role = _role(title)
        records = release_approvals.records.get(role, [])
        if len(records) != 1:
            problems.append(f"{title}: {len(records)} records")
            continue
        statement = records[0].statement
        if criterion.strip().casefold() not in statement.casefold():
            problems.append(f"{title}: the statement does not state {criterion!r}: {statement!r}")
        slug, path = APPROVAL_KINDS[role]
        if not set(slug.split("-")) <= set(kind.casefold().split()):
            problems.append(f"{title}: rests on {slug} ({path}), not on the {kind}")
        if f"evidence: {slug} {path} sha256:" not in statement:
            problems.append(f"{title}: the statement does not reference its {kind} by SHA-256: {statement!r}")
        if role not in release_approvals.checked.verdict.approved:
            problems.append(f"{title}: not a valid approval")
    require(not problems, "; ".join(problems))


# --- no-go cases on a re-signed copy -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ApprovalCopy:
    """A copy of the records, re-signed by a test authority, with one defect."""

    records: tuple[ap.ApprovalRecord, ...]
    trusted: dict[str, list[Any]]
    release: str
    now: Any
    plan_sha256: str


def _resign(record: ap.ApprovalRecord, key: Any, **changes: Any) -> ap.ApprovalRecord:
    from datetime import datetime  # noqa: PLC0415

    data = {**record.to_dict(), **changes}
    return dataclasses.replace(
        ap.sign_approval(
            key,
            role=data["role"],
            approver=data["approver"],
            release=data["release"],
            plan_sha256=data["plan_sha256"],
            statement=data["statement"],
            issued_at=datetime.fromisoformat(data["issued_at"].replace("Z", "+00:00")),
            expires_at=datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00")),
        ),
        source=f"copy of {record.source}",
    )


@given(
    parsers.parse('a copy of the approval records where the "{title}" approval is {problem}'),
    target_fixture="approval_copy",
)
def approval_copy(title: str, problem: str, release_approvals: ReleaseApprovalRecords) -> ApprovalCopy:
    """Re-sign every record with fresh keys, then give the named one the defect."""
    role = _role(title)
    require(problem in PROBLEM_KINDS, f"unknown defect {problem!r}; known: {sorted(PROBLEM_KINDS)}")
    originals = {r: rs[0] for r, rs in release_approvals.records.items() if rs}
    missing = [r for r in ap.REQUIRED_ROLES if r not in originals]
    if missing:
        inconclusive("approval copy", f"the release has no approval records for {missing} to copy")
    keys = {r: ap.generate_keypair() for r in ap.REQUIRED_ROLES}
    trusted = {r: [public] for r, (_, public) in keys.items()}
    now = release_approvals.context.now
    copies = {
        r: _resign(
            rec, keys[r][0], issued_at=_ts(now - timedelta(hours=1)), expires_at=_ts(now + timedelta(hours=1))
        )
        for r, rec in originals.items()
    }
    target = copies[role]
    extra: list[ap.ApprovalRecord] = []
    if problem == "missing":
        del copies[role]
    elif problem == "expired":
        copies[role] = _resign(
            target,
            keys[role][0],
            issued_at=_ts(now - timedelta(days=2)),
            expires_at=_ts(now - timedelta(days=1)),
        )
    elif problem == "for another release":
        copies[role] = _resign(target, keys[role][0], release=f"{release_approvals.context.release}-other")
    elif problem == "for another plan text":
        copies[role] = _resign(target, keys[role][0], plan_sha256=plan_sha256_of_text(target.plan_sha256))
    elif problem == "signed by another key":
        copies[role] = _resign(target, ap.generate_keypair()[0])
    elif problem == "tampered after signing":
        copies[role] = dataclasses.replace(target, statement=target.statement + " (edited)")
    elif problem == "duplicated":
        extra.append(dataclasses.replace(target, source=f"{target.source} (second file)"))
    return ApprovalCopy(
        (*copies.values(), *extra),
        trusted,
        release_approvals.context.release,
        now,
        release_approvals.plan_sha256,
    )


def plan_sha256_of_text(digest: str) -> str:
    """The SHA-256 of another plan text: the approved plan with one line added."""
    import hashlib  # noqa: PLC0415

    return hashlib.sha256(
        PLAN_DOCUMENT.read_bytes() + f"\n(edited after {digest[:12]})\n".encode()
    ).hexdigest()


def _ts(moment: Any) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@when("the approvals are checked", target_fixture="copy_verdict")
def check_copy(approval_copy: ApprovalCopy, evidence: EvidenceRecorder) -> ap.ApprovalVerdict:
    """bedrock_release.release.approvals.check_approvals on the copy."""
    verdict = ap.check_approvals(
        approval_copy.records,
        approval_copy.trusted,
        approval_copy.release,
        approval_copy.now,
        plan_sha256=approval_copy.plan_sha256,
    )
    evidence.data(
        "verdict on the copy", {"summary": verdict.summary(), "problems": [str(p) for p in verdict.problems]}
    )
    return verdict


@then("the verdict is no-go")
def verdict_no_go(copy_verdict: ap.ApprovalVerdict) -> None:
    """The check refuses the copy."""
    require(not copy_verdict.ok, f"the defective copy was approved: {copy_verdict.summary()}")


@then(parsers.parse('the reason names the "{title}" approval as {problem}'))
def reason_names(title: str, problem: str, copy_verdict: ap.ApprovalVerdict) -> None:
    """A problem of exactly the expected kind names the role."""
    role = _role(title)
    kind = PROBLEM_KINDS[problem]
    named = [p for p in copy_verdict.problems if p.role == role and p.kind is kind]
    require(named, f"no {kind.value} problem names {title}: {copy_verdict.summary()}")
    others = [str(p) for p in copy_verdict.problems if p.role != role]
    require(not others, f"the copy has problems beyond the {title} approval: {others}")
