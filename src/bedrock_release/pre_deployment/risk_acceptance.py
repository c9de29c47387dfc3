"""The Security Team's signed, expiring acceptance of a stale advisory database for one release.

An advisory database older than the limit (30 days) cannot show that a dependency has no known
critical vulnerability: the scan is inconclusive. It counts only when the Security Team accepts
that risk in writing: ``security/risk-acceptance.json``, Ed25519-signed with a key trusted for
``security``, bound to the release and to that very database (name, version, date), valid until
it expires. The sandbox signs one for its offline 2021 snapshot; elsewhere the Security Team
signs it with its own key (``sign_risk_acceptance``) or the scan is run against a current one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bedrock_release.pre_deployment._io import SCHEMA, format_time, read_json_object, write_json_atomic
from bedrock_release.pre_deployment._signing import sign_document, verify_document
from bedrock_release.pre_deployment.errors import EvidenceError
from bedrock_release.pre_deployment.layout import EvidencePaths
from bedrock_release.release.approvals import TrustedKeys

__all__ = ["KIND", "RISK", "ROLE", "RiskAcceptance", "read_risk_acceptance", "sign_risk_acceptance"]

KIND = "risk-acceptance"
ROLE = "security"
RISK = "stale-advisory-database"
_FIELDS = {
    "schema",
    "kind",
    "release",
    "risk",
    "database",
    "reason",
    "accepted_by",
    "issued_at",
    "expires_at",
    "key_id",
    "signature",
}


@dataclass(frozen=True)
class RiskAcceptance:
    """A verified acceptance (signature, release, database and validity already checked)."""

    release: str
    database: Mapping[str, str]
    reason: str
    accepted_by: str
    issued_at: datetime
    expires_at: datetime
    key_id: str
    source: str

    def describe(self) -> str:
        """One sentence for gate reasons and the report."""
        db = self.database
        return (
            f"stale advisory database {db['name']} {db['version']} ({db['date']}) accepted by "
            f"{self.accepted_by} (Security Team key {self.key_id}) until {format_time(self.expires_at)}: "
            f"{self.reason} [{self.source}]"
        )


def sign_risk_acceptance(
    private_key: Ed25519PrivateKey,
    evidence_dir: Path,
    *,
    release: str,
    database: Mapping[str, str],
    reason: str,
    accepted_by: str,
    valid_days: float,
    now: datetime | None = None,
) -> Path:
    """Write ``security/risk-acceptance.json`` signed with the Security Team's key."""
    if valid_days <= 0:
        raise ValueError(f"valid_days must be > 0, got {valid_days}")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": KIND,
        "release": release,
        "risk": RISK,
        "database": {k: str(database[k]) for k in ("name", "version", "date")},
        "reason": reason,
        "accepted_by": accepted_by,
        "issued_at": format_time(moment),
        "expires_at": format_time(moment + timedelta(days=valid_days)),
    }
    path = EvidencePaths.of(evidence_dir).risk_acceptance
    return write_json_atomic(path, sign_document(private_key, body))


def read_risk_acceptance(
    evidence_dir: Path,
    *,
    release: str,
    database: Mapping[str, str],
    trusted_keys: TrustedKeys,
    now: datetime,
) -> RiskAcceptance:
    """Read and verify the acceptance: a trusted Security key, this release and database, valid now."""
    path = EvidencePaths.of(evidence_dir).risk_acceptance
    fields = read_json_object(path, kind=KIND)
    extra = sorted(set(fields.obj) - _FIELDS)
    if extra:
        fields.fail(extra[0], "unexpected field")
    # The signature first: nothing an unsigned acceptance claims counts.
    kid = verify_document(path, fields.obj, list(trusted_keys.get(ROLE, ())), role="Security Team")
    fields.release(release)
    if fields.text("risk") != RISK:
        fields.fail("risk", f"accepts {fields.obj['risk']!r}, not {RISK!r}")
    accepted = fields.nested("database")
    covered = {k: accepted.text(k) for k in ("name", "version", "date")}
    wanted = {k: str(database.get(k)) for k in ("name", "version", "date")}
    if covered != wanted:
        fields.fail("database", f"accepts {covered}, not the scan's database {wanted}")
    issued, expires = fields.time("issued_at"), fields.time("expires_at")
    if expires <= issued:
        fields.fail("expires_at", "must be after issued_at")
    if issued > now:
        fields.fail("issued_at", f"{format_time(issued)} is in the future (now {format_time(now)})")
    if now >= expires:
        raise EvidenceError(path, f"expired at {format_time(expires)} (now {format_time(now)})")
    return RiskAcceptance(
        release=release,
        database=covered,
        reason=fields.text("reason"),
        accepted_by=fields.text("accepted_by"),
        issued_at=issued,
        expires_at=expires,
        key_id=kid,
        source=str(path),
    )
