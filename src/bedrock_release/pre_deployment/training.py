"""The operations training record: who completed the hybrid-routing runbook training for a release."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bedrock_release.pre_deployment._io import (
    SCHEMA,
    format_time,
    read_json_object,
    sha256_file,
    write_json_atomic,
)
from bedrock_release.pre_deployment._signing import sign_document, verify_document
from bedrock_release.pre_deployment.errors import EvidenceError, ProductionError
from bedrock_release.pre_deployment.keys import load_sandbox_trusted_keys, private_key_path
from bedrock_release.pre_deployment.layout import REPO_ROOT, EvidencePaths
from bedrock_release.release.approvals import TrustedKeys, load_private_key

__all__ = [
    "COURSE",
    "KIND",
    "ROLE",
    "ROSTER_VARIABLE",
    "RUNBOOKS",
    "SANDBOX_ORIGIN",
    "Participant",
    "TrainingRecord",
    "load_roster",
    "produce_training_record",
    "read_training_record",
]

KIND = "operations-training"
ROLE = "operations"
TEAM = "Operations Team"
SANDBOX_ORIGIN = "sandbox-generated"
ROSTER_VARIABLE = "pre_deployment_operations_roster"
COURSE = "Bedrock Support Mode with Hybrid Routing: operations runbook training"
#: What the operations team is trained on (plan: "Operations runbooks updated for hybrid routing").
RUNBOOKS: tuple[str, ...] = (
    "docs/rollback.md",
    "docs/routing-matrix.md",
    "docs/sandbox.md",
    "docs/metrics.md",
)


@dataclass(frozen=True)
class Participant:
    """One member of the operations team and when they completed the training."""

    name: str
    role: str
    completed_at: str


@dataclass(frozen=True)
class TrainingRecord:
    """A verified training record (signature, release and validity already checked)."""

    release: str
    team: str
    course: str
    participants: tuple[Participant, ...]
    issued_at: datetime
    expires_at: datetime
    key_id: str
    origin: str
    source: str


def load_roster(path: str | os.PathLike[str]) -> tuple[tuple[str, str], ...]:
    """Read ``pre_deployment_operations_roster`` ([{name, role}]) from an inventory YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProductionError(f"{path}: roster unreadable: {exc}") from None
    except yaml.YAMLError as exc:
        raise ProductionError(f"{path}: not YAML: {exc}") from None
    roster = data.get(ROSTER_VARIABLE) if isinstance(data, dict) else None
    if not isinstance(roster, list) or not roster:
        raise ProductionError(f"{path}: {ROSTER_VARIABLE} must be a non-empty list of {{name, role}}")
    people = []
    for index, entry in enumerate(roster):
        if (
            not isinstance(entry, dict)
            or set(entry) != {"name", "role"}
            or not all(isinstance(entry[k], str) and entry[k].strip() for k in ("name", "role"))
        ):
            raise ProductionError(f"{path}: {ROSTER_VARIABLE}[{index}] must be {{name, role}} strings")
        people.append((entry["name"].strip(), entry["role"].strip()))
    if len({name for name, _ in people}) != len(people):
        raise ProductionError(f"{path}: {ROSTER_VARIABLE} names someone twice")
    return tuple(people)


def produce_training_record(
    release: str,
    *,
    evidence_dir: Path,
    roster_path: Path,
    keys_dir: Path,
    valid_days: int = 30,
    now: datetime | None = None,
    repo_root: Path = REPO_ROOT,
) -> TrainingRecord:
    """Write the sandbox's training record for release, signed with the Operations Team key.

    Nobody was trained here: the record says ``sandbox-generated`` and stands in for the export of a
    learning system, so the pipeline exercises the same signature, release and expiry checks.
    """
    if valid_days < 1:
        raise ValueError(f"valid_days must be at least 1, got {valid_days}")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    people = load_roster(roster_path)
    runbooks = []
    for rel in RUNBOOKS:
        path = repo_root / rel
        if not path.is_file():
            raise ProductionError(f"runbook {path} is missing: nobody can be trained on it")
        runbooks.append({"path": rel, "sha256": sha256_file(path)})
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": KIND,
        "release": release,
        "course": COURSE,
        "runbooks": runbooks,
        "team": TEAM,
        "participants": [
            {"name": name, "role": role, "completed_at": format_time(moment)} for name, role in people
        ],
        "origin": SANDBOX_ORIGIN,
        "statement": (
            f"sandbox-generated: the sandbox's operations roster ({roster_path.name}) is recorded as "
            f"trained on the hybrid-routing runbooks for release {release}; no training took place"
        ),
        "issued_at": format_time(moment),
        "expires_at": format_time(moment + timedelta(days=valid_days)),
    }
    key = load_private_key(private_key_path(keys_dir, ROLE))
    out = EvidencePaths.of(evidence_dir).training
    write_json_atomic(out, sign_document(key, body))
    return read_training_record(
        evidence_dir, release=release, trusted_keys=load_sandbox_trusted_keys(keys_dir), now=moment
    )


_FIELDS = {
    "schema",
    "kind",
    "release",
    "course",
    "runbooks",
    "team",
    "participants",
    "origin",
    "statement",
    "issued_at",
    "expires_at",
    "key_id",
    "signature",
}


def read_training_record(
    evidence_dir: Path, *, release: str, trusted_keys: TrustedKeys, now: datetime
) -> TrainingRecord:
    """Read and verify the record: trusted Operations key, this release, issued and not expired."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    path = EvidencePaths.of(evidence_dir).training
    fields = read_json_object(path, kind=KIND)
    extra = sorted(set(fields.obj) - _FIELDS)
    if extra:
        fields.fail(extra[0], "unexpected field")
    # The signature first: nothing an unsigned record claims (release, dates, people) counts.
    kid = verify_document(path, fields.obj, list(trusted_keys.get(ROLE, ())), role="Operations Team")
    fields.release(release)
    team = fields.text("team")
    if team != TEAM:
        fields.fail("team", f"certifies {team!r}, not the {TEAM}")
    issued, expires = fields.time("issued_at"), fields.time("expires_at")
    if expires <= issued:
        fields.fail("expires_at", "must be after issued_at")
    if issued > now:
        fields.fail("issued_at", f"{format_time(issued)} is in the future (now {format_time(now)})")
    if now >= expires:
        raise EvidenceError(path, f"expired at {format_time(expires)} (now {format_time(now)})")
    participants = []
    for index in range(len(fields.items("participants", min_items=1))):
        item = fields.item("participants", index)
        completed = item.time("completed_at")
        if completed > now:
            item.fail("completed_at", "is in the future")
        participants.append(Participant(item.text("name"), item.text("role"), format_time(completed)))
    for index in range(len(fields.items("runbooks", min_items=1))):
        runbook = fields.item("runbooks", index)
        runbook.text("path")
        runbook.sha256("sha256")
    return TrainingRecord(
        release=release,
        team=team,
        course=fields.text("course"),
        participants=tuple(participants),
        issued_at=issued,
        expires_at=expires,
        key_id=kid,
        origin=fields.text("origin"),
        source=str(path),
    )
