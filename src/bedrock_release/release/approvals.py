"""The plan's four pre-deployment approvals as Ed25519-signed records bound to one release."""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bedrock_release.plan import APPROVAL_ROLES

__all__ = [
    "RECORD_FIELDS",
    "REQUIRED_ROLES",
    "ApprovalProblem",
    "ApprovalRecord",
    "ApprovalVerdict",
    "MalformedApprovalError",
    "ProblemKind",
    "TrustedKeys",
    "check_approval_files",
    "check_approvals",
    "generate_keypair",
    "key_id",
    "load_approval",
    "load_private_key",
    "load_public_key",
    "load_trusted_keys",
    "parse_approval",
    "private_key_pem",
    "public_key_pem",
    "sign_approval",
    "write_keypair",
]

REQUIRED_ROLES: tuple[str, ...] = tuple(role.role for role in APPROVAL_ROLES)
RECORD_FIELDS = (
    "role",
    "approver",
    "release",
    "plan_sha256",
    "statement",
    "issued_at",
    "expires_at",
    "signature",
    "key_id",
)
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

#: Trusted public keys per role: a key signs for the roles it is listed under, and no other.
TrustedKeys = Mapping[str, Sequence[Ed25519PublicKey]]


class ProblemKind(enum.StrEnum):
    """Why an approval does not count."""

    MISSING_ROLE = "missing_role"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_RELEASE = "wrong_release"
    WRONG_PLAN = "wrong_plan"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    DUPLICATED_ROLE = "duplicated_role"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class ApprovalProblem:
    """One reason for a no-go, naming the role and the record's file where known."""

    kind: ProblemKind
    role: str | None
    source: str | None
    detail: str

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.role and f"role {self.role}", self.source) if part)
        return f"{self.kind.value}{f' ({where})' if where else ''}: {self.detail}"


class MalformedApprovalError(ValueError):
    """An approval record that cannot be parsed; names the file and the field."""

    def __init__(self, source: str, field: str | None, detail: str) -> None:
        self.source, self.field, self.detail = source, field, detail
        super().__init__(f"{source}: {f'field {field}: ' if field else ''}{detail}")

    def problem(self) -> ApprovalProblem:
        """Return this error as a verdict problem."""
        return ApprovalProblem(ProblemKind.MALFORMED, None, self.source, str(self))


@dataclass(frozen=True)
class ApprovalRecord:
    """A signed approval; the signature covers every field except itself (canonical JSON).

    ``plan_sha256`` is the SHA-256 of the deployment plan's text (``docs/deployment-plan.md``) the
    approver approved the release against: an approval of another plan text does not count.
    """

    role: str
    approver: str
    release: str
    plan_sha256: str
    statement: str
    issued_at: str
    expires_at: str
    signature: str
    key_id: str
    source: str | None = None

    def to_dict(self) -> dict[str, str]:
        """Return the record as stored (without where it was read from)."""
        data = asdict(self)
        data.pop("source")
        return data

    def signed_payload(self) -> bytes:
        """Return the bytes the signature covers."""
        body = {k: v for k, v in self.to_dict().items() if k != "signature"}
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class ApprovalVerdict:
    """Whether all four roles approved this release now; problems name every defect."""

    ok: bool
    release: str
    approved: tuple[str, ...]
    problems: tuple[ApprovalProblem, ...]

    def summary(self) -> str:
        """Return one line suitable for a go/no-go reason."""
        if self.ok:
            return f"release {self.release}: approved by {', '.join(self.approved)}"
        return f"release {self.release}: no-go: " + "; ".join(str(p) for p in self.problems)


# --- keys ----------------------------------------------------------------------------------------


def generate_keypair() -> tuple[Ed25519PrivateKey, Ed25519PublicKey]:
    """Return a fresh Ed25519 key pair (sandbox approvers)."""
    private = Ed25519PrivateKey.generate()
    return private, private.public_key()


def key_id(public_key: Ed25519PublicKey) -> str:
    """Return a short stable id: ``ed25519:`` and the first 16 hex of SHA-256 of the raw key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def private_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    """Return the private key as unencrypted PKCS#8 PEM (sandbox keys only; file mode 0600)."""
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    """Return the public key as SubjectPublicKeyInfo PEM."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Read an Ed25519 private key from PEM; raise ValueError naming the file otherwise."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Read an Ed25519 public key from PEM; raise ValueError naming the file otherwise."""
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except ValueError as exc:
        raise ValueError(f"{path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key


def write_keypair(directory: str | os.PathLike[str], role: str) -> tuple[Path, Path]:
    """Generate a key pair for a role into ``<role>.key`` (0600) and ``<role>.pub``; return both paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    private, public = generate_keypair()
    key_path, pub_path = directory / f"{role}.key", directory / f"{role}.pub"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_key_pem(private))
    pub_path.write_bytes(public_key_pem(public))
    return key_path, pub_path


def load_trusted_keys(directory: str | os.PathLike[str]) -> dict[str, list[Ed25519PublicKey]]:
    """Read ``<role>.pub`` and ``<role>.<anything>.pub`` files of the required roles."""
    keys: dict[str, list[Ed25519PublicKey]] = {}
    for path in sorted(Path(directory).glob("*.pub")):
        role = path.name.split(".", 1)[0]
        if role in REQUIRED_ROLES:
            keys.setdefault(role, []).append(load_public_key(path))
    return keys


# --- records -------------------------------------------------------------------------------------


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("approval times must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def sign_approval(
    private_key: Ed25519PrivateKey,
    *,
    role: str,
    approver: str,
    release: str,
    plan_sha256: str,
    statement: str,
    issued_at: datetime,
    expires_at: datetime,
) -> ApprovalRecord:
    """Return a signed approval record for one role, release and plan text."""
    if not _SHA256_HEX.fullmatch(plan_sha256):
        raise ValueError(f"plan_sha256 must be 64 lower-case hex digits, got {plan_sha256!r}")
    unsigned = ApprovalRecord(
        role=role,
        approver=approver,
        release=release,
        plan_sha256=plan_sha256,
        statement=statement,
        issued_at=_timestamp(issued_at),
        expires_at=_timestamp(expires_at),
        signature="",
        key_id=key_id(private_key.public_key()),
    )
    signature = base64.b64encode(private_key.sign(unsigned.signed_payload())).decode("ascii")
    return ApprovalRecord(**{**unsigned.to_dict(), "signature": signature})


def _parse_time(value: str, source: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedApprovalError(source, field, f"not an RFC 3339 time: {value!r}") from None
    if moment.tzinfo is None:
        raise MalformedApprovalError(source, field, f"time without a timezone: {value!r}")
    return moment


def parse_approval(obj: Any, *, source: str) -> ApprovalRecord:
    """Validate a decoded JSON object as an approval record; raise MalformedApprovalError naming the field."""
    if not isinstance(obj, Mapping):
        raise MalformedApprovalError(source, None, f"expected a JSON object, got {type(obj).__name__}")
    for field in RECORD_FIELDS:
        if field not in obj:
            raise MalformedApprovalError(source, field, "missing")
        if not isinstance(obj[field], str) or not obj[field].strip():
            raise MalformedApprovalError(source, field, f"must be a non-empty string, got {obj[field]!r}")
    extra = sorted(set(obj) - set(RECORD_FIELDS))
    if extra:
        raise MalformedApprovalError(source, extra[0], "unexpected field")
    if obj["role"] not in REQUIRED_ROLES:
        raise MalformedApprovalError(
            source, "role", f"{obj['role']!r} is not one of {', '.join(REQUIRED_ROLES)}"
        )
    if not _SHA256_HEX.fullmatch(obj["plan_sha256"]):
        raise MalformedApprovalError(
            source, "plan_sha256", f"must be a SHA-256 (64 lower-case hex digits), got {obj['plan_sha256']!r}"
        )
    issued = _parse_time(obj["issued_at"], source, "issued_at")
    expires = _parse_time(obj["expires_at"], source, "expires_at")
    if expires <= issued:
        raise MalformedApprovalError(source, "expires_at", "must be after issued_at")
    try:
        signature = base64.b64decode(obj["signature"], validate=True)
    except binascii.Error:
        raise MalformedApprovalError(source, "signature", "not base64") from None
    if len(signature) != 64:
        raise MalformedApprovalError(
            source, "signature", f"an Ed25519 signature has 64 bytes, got {len(signature)}"
        )
    return ApprovalRecord(**{field: obj[field] for field in RECORD_FIELDS}, source=source)


def load_approval(path: str | os.PathLike[str]) -> ApprovalRecord:
    """Read one approval JSON file; raise MalformedApprovalError naming the file (and field)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MalformedApprovalError(source, None, f"unreadable: {exc}") from None
    if not text.strip():
        raise MalformedApprovalError(source, None, "empty file")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedApprovalError(source, None, f"not JSON ({exc.msg} at line {exc.lineno})") from None
    return parse_approval(obj, source=source)


# --- checking ------------------------------------------------------------------------------------


def _signature_problem(record: ApprovalRecord, trusted_keys: TrustedKeys) -> ApprovalProblem | None:
    keys = {key_id(key): key for key in trusted_keys.get(record.role, ())}
    key = keys.get(record.key_id)
    if key is None:
        owners = sorted(r for r, ks in trusted_keys.items() if any(key_id(k) == record.key_id for k in ks))
        also = f"; it is trusted for {', '.join(owners)} only" if owners else ""
        return ApprovalProblem(
            ProblemKind.UNKNOWN_KEY,
            record.role,
            record.source,
            f"key {record.key_id} is not trusted for {record.role}{also}",
        )
    try:
        key.verify(base64.b64decode(record.signature), record.signed_payload())
    except InvalidSignature:
        return ApprovalProblem(
            ProblemKind.BAD_SIGNATURE,
            record.role,
            record.source,
            f"signature does not verify with {record.key_id}: forged or edited",
        )
    return None


def _check_one(
    record: ApprovalRecord,
    trusted_keys: TrustedKeys,
    *,
    release: str,
    plan_sha256: str,
    now: datetime,
    skew_s: float,
) -> ApprovalProblem | None:
    def problem(kind: ProblemKind, detail: str) -> ApprovalProblem:
        return ApprovalProblem(kind, record.role, record.source, detail)

    unsigned = _signature_problem(record, trusted_keys)
    if unsigned is not None:
        return unsigned
    # Checked only once the signature holds: an unsigned claim about release or time means nothing.
    if record.release != release:
        return problem(ProblemKind.WRONG_RELEASE, f"approves release {record.release}, not {release}")
    if record.plan_sha256 != plan_sha256:
        return problem(
            ProblemKind.WRONG_PLAN,
            f"approves the plan text sha256:{record.plan_sha256}, not the deployment plan of this deploy "
            f"sha256:{plan_sha256} (the plan changed after the approval, or another plan was approved)",
        )
    source = record.source or record.role
    issued = _parse_time(record.issued_at, source, "issued_at")
    expires = _parse_time(record.expires_at, source, "expires_at")
    if (issued - now).total_seconds() > skew_s:
        return problem(
            ProblemKind.NOT_YET_VALID, f"issued at {record.issued_at}, after now ({_timestamp(now)})"
        )
    if now >= expires:
        return problem(ProblemKind.EXPIRED, f"expired at {record.expires_at} (now {_timestamp(now)})")
    return None


def check_approvals(
    records: Iterable[ApprovalRecord],
    trusted_keys: TrustedKeys,
    release: str,
    now: datetime,
    *,
    plan_sha256: str,
    load_problems: Iterable[ApprovalProblem] = (),
    clock_skew_s: float = 0.0,
) -> ApprovalVerdict:
    """Go only if each required role has exactly one valid, signed, current approval of release and plan."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    problems = list(load_problems)
    by_role: dict[str, list[ApprovalRecord]] = {}
    for record in records:
        by_role.setdefault(record.role, []).append(record)
    approved = []
    for role in REQUIRED_ROLES:
        claims = by_role.get(role, [])
        if not claims:
            problems.append(ApprovalProblem(ProblemKind.MISSING_ROLE, role, None, f"no approval for {role}"))
            continue
        if len(claims) > 1:
            # Two records for one role are ambiguous (which one did the approver mean?): refuse both.
            sources = ", ".join(c.source or "?" for c in claims)
            problems.append(
                ApprovalProblem(ProblemKind.DUPLICATED_ROLE, role, None, f"{len(claims)} records: {sources}")
            )
            continue
        problem = _check_one(
            claims[0], trusted_keys, release=release, plan_sha256=plan_sha256, now=now, skew_s=clock_skew_s
        )
        if problem is None:
            approved.append(role)
        else:
            problems.append(problem)
    for role, claims in by_role.items():
        if role not in REQUIRED_ROLES:
            problems.extend(
                ApprovalProblem(ProblemKind.MALFORMED, role, c.source, f"unknown role {role!r}")
                for c in claims
            )
    return ApprovalVerdict(not problems, release, tuple(approved), tuple(problems))


def check_approval_files(
    paths: Iterable[str | os.PathLike[str]],
    trusted_keys: TrustedKeys,
    release: str,
    now: datetime,
    *,
    plan_sha256: str,
    clock_skew_s: float = 0.0,
) -> ApprovalVerdict:
    """Load approval files and check them; a malformed file is a named problem, not a crash."""
    records, load_problems = [], []
    for path in paths:
        try:
            records.append(load_approval(path))
        except MalformedApprovalError as exc:
            load_problems.append(exc.problem())
    return check_approvals(
        records,
        trusted_keys,
        release,
        now,
        plan_sha256=plan_sha256,
        load_problems=load_problems,
        clock_skew_s=clock_skew_s,
    )
