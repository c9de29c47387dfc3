"""Read every piece of a release's pre-deployment evidence and say, per piece, whether it holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bedrock_release.pre_deployment.business_impact import read_business_impact
from bedrock_release.pre_deployment.drill import read_drill_record
from bedrock_release.pre_deployment.errors import EvidenceError
from bedrock_release.pre_deployment.sandbox_approvals import MIN_PASS_RATE_PCT
from bedrock_release.pre_deployment.security_scan import TOOLS, read_security_scan
from bedrock_release.pre_deployment.staging import read_staging_results
from bedrock_release.pre_deployment.training import read_training_record
from bedrock_release.release.approvals import TrustedKeys

__all__ = ["PIECES", "PieceResult", "check_evidence"]

PIECES = ("staging", "security", "training", "drill", "business-impact")


@dataclass(frozen=True)
class PieceResult:
    """One piece of evidence: ok, failing (well-formed but the criterion fails) or unreadable."""

    piece: str
    status: str  # "ok" | "fail" | "inconclusive"
    detail: str

    @property
    def ok(self) -> bool:
        """Whether the piece holds."""
        return self.status == "ok"


def _staging(evidence_dir: Path, release: str, sha: str, _: TrustedKeys, __: datetime) -> tuple[bool, str]:
    r = read_staging_results(evidence_dir, release=release, artifact_sha256=sha)
    counts = ", ".join(f"{s} {c.passed}/{c.tests}" for s, c in r.suites.items())
    empty = r.suites_without_tests()
    ok = not empty and r.pass_rate_pct > MIN_PASS_RATE_PCT
    why = f"; suites without tests: {', '.join(empty)}" if empty else ""
    return ok, f"pass rate {r.pass_rate_pct:.2f}% (required > 95%): {counts}{why}"


def _security(
    evidence_dir: Path, release: str, sha: str, keys: TrustedKeys, now: datetime
) -> tuple[bool, str]:
    r = read_security_scan(evidence_dir, release=release, artifact_sha256=sha, trusted_keys=keys, now=now)
    missing = sorted(set(TOOLS) - set(r.tools))
    db = r.database
    text = (
        f"{r.critical} critical; tools {', '.join(r.tools)}; advisory DB {db.get('name')} "
        f"of {db.get('date')} ({db.get('age_days')} days old)"
    )
    if missing:
        text += f"; missing {', '.join(missing)}"
    if r.risk_acceptance is not None:
        text += f"; risk accepted: {r.risk_acceptance.describe()}"
    if r.warnings:
        text += f"; warnings: {' | '.join(r.warnings)}"
    return r.critical == 0 and not missing, text


def _training(evidence_dir: Path, release: str, _: str, keys: TrustedKeys, now: datetime) -> tuple[bool, str]:
    r = read_training_record(evidence_dir, release=release, trusted_keys=keys, now=now)
    return (
        True,
        f"{len(r.participants)} trained, signed by {r.key_id}, expires {r.expires_at:%Y-%m-%d}; {r.origin}",
    )


def _drill(evidence_dir: Path, release: str, sha: str, keys: TrustedKeys, __: datetime) -> tuple[bool, str]:
    r = read_drill_record(evidence_dir, release=release, trusted_keys=keys, artifact_sha256=sha)
    problems = r.problems()
    tiers = ", ".join(f"{t.tier} {t.duration_s:.1f}/{t.target_s:.0f} s" for t in r.tiers)
    signed = f"; signed by {r.key_id}"
    return not problems, tiers + signed + ("; " + "; ".join(problems) if problems else "")


def _business(evidence_dir: Path, release: str, sha: str, _: TrustedKeys, __: datetime) -> tuple[bool, str]:
    r = read_business_impact(evidence_dir, release=release, artifact_sha256=sha)
    return True, f"previous release {r.previous_release}; {r.origin}"


_READERS: dict[str, Callable[[Path, str, str, TrustedKeys, datetime], tuple[bool, str]]] = {
    "staging": _staging,
    "security": _security,
    "training": _training,
    "drill": _drill,
    "business-impact": _business,
}


def check_evidence(
    evidence_dir: Path, *, release: str, artifact_sha256: str, trusted_keys: TrustedKeys, now: datetime
) -> tuple[PieceResult, ...]:
    """Run every reader; an unreadable piece is inconclusive with the reader's message."""
    out = []
    for piece, reader in _READERS.items():
        try:
            ok, detail = reader(evidence_dir, release, artifact_sha256, trusted_keys, now)
        except EvidenceError as exc:
            out.append(PieceResult(piece, "inconclusive", str(exc)))
        else:
            out.append(PieceResult(piece, "ok" if ok else "fail", detail))
    return tuple(out)
