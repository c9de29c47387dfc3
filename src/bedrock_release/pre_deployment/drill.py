"""The staging rollback drill record: each tier drilled, how long it took, against which target.

Signed (Ed25519, canonical JSON) with the Operations Team lead's key - a key trusted for the
``operations`` role - by whoever ran the drill: the pipeline in the sandbox's staging stand-in,
the ops lead after a real staging drill. Nothing an unsigned record claims counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bedrock_release.plan import ROLLBACK_TIERS, RollbackTier
from bedrock_release.pre_deployment._io import SCHEMA, format_time, read_json_object, write_json_atomic
from bedrock_release.pre_deployment._signing import sign_document, verify_document
from bedrock_release.pre_deployment.layout import EvidencePaths
from bedrock_release.release.approvals import TrustedKeys

__all__ = ["KIND", "ROLE", "TIERS", "DrillRecord", "DrillTier", "read_drill_record", "write_drill_record"]

KIND = "rollback-drill"
#: The role whose key signs the record (the Operations Team lead's).
ROLE = "operations"
#: The plan's three rollback procedures, in its order.
TIERS: tuple[str, ...] = tuple(tier.value for tier in RollbackTier)


@dataclass(frozen=True)
class DrillTier:
    """One drilled rollback tier."""

    tier: str
    trigger: str
    duration_s: float
    target_s: float
    verified: bool
    detail: str = ""

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, got {self.tier!r}")
        for name in ("duration_s", "target_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    @property
    def within_target(self) -> bool:
        """Whether the drill finished within its target time."""
        return self.duration_s <= self.target_s

    def to_dict(self) -> dict[str, Any]:
        """Return the tier as stored."""
        return {
            "tier": self.tier,
            "trigger": self.trigger,
            "duration_s": self.duration_s,
            "target_s": self.target_s,
            "verified": self.verified,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class DrillRecord:
    """A parsed drill record; ``problems()`` says why it does not validate the rollback procedures."""

    release: str
    environment: str
    time_scale: float
    tiers: tuple[DrillTier, ...]
    source: str
    key_id: str = ""

    def tier(self, name: str) -> DrillTier | None:
        """Return the drilled tier of that name, if it was drilled."""
        return next((t for t in self.tiers if t.tier == name), None)

    def problems(self) -> tuple[str, ...]:
        """Return every reason the drill does not validate the plan's rollback procedures."""
        out = [f"tier {name} was not drilled" for name in TIERS if self.tier(name) is None]
        for tier in self.tiers:
            if not tier.verified:
                out.append(f"tier {tier.tier} was not verified ({tier.detail or 'no detail'})")
            if not tier.within_target:
                out.append(
                    f"tier {tier.tier} took {tier.duration_s:.1f} s, over its {tier.target_s:.1f} s target"
                )
        return tuple(out)


def write_drill_record(
    evidence_dir: Path,
    *,
    release: str,
    artifact_sha256: str,
    environment: str,
    time_scale: float,
    tiers: Sequence[DrillTier],
    started_at: datetime,
    finished_at: datetime,
    signing_key: Ed25519PrivateKey,
) -> Path:
    """Write ``rollback-drill/drill.json`` signed with the Operations Team lead's key."""
    body = {
        "schema": SCHEMA,
        "kind": KIND,
        "release": release,
        "artifact_sha256": artifact_sha256,
        "environment": environment,
        "time_scale": time_scale,
        "started_at": format_time(started_at),
        "finished_at": format_time(finished_at),
        "tiers": [tier.to_dict() for tier in tiers],
    }
    return write_json_atomic(EvidencePaths.of(evidence_dir).drill, sign_document(signing_key, body))


def read_drill_record(
    evidence_dir: Path, *, release: str, trusted_keys: TrustedKeys, artifact_sha256: str | None = None
) -> DrillRecord:
    """Parse the drill record strictly; a record showing a failed drill is returned, not refused.

    Malformed or unsigned data raises EvidenceError (the gate is inconclusive); a well-formed,
    signed record of a drill that was not verified or ran over its target is a *fail*, which
    ``problems()`` describes.
    """
    path = EvidencePaths.of(evidence_dir).drill
    fields = read_json_object(path, kind=KIND)
    # The signature first: nothing an unsigned record claims (tiers, times, release) counts.
    kid = verify_document(path, fields.obj, list(trusted_keys.get(ROLE, ())), role="Operations Team lead")
    fields.release(release)
    if artifact_sha256 is not None:
        fields.artifact(artifact_sha256)
    time_scale = fields.number("time_scale")
    if not 0 < time_scale <= 1:
        fields.fail("time_scale", f"must be in (0, 1], got {time_scale!r}")
    started, finished = fields.time("started_at"), fields.time("finished_at")
    if finished < started:
        fields.fail("finished_at", "is before started_at")
    tiers: list[DrillTier] = []
    for index in range(len(fields.items("tiers", min_items=1))):
        item = fields.item("tiers", index)
        name = item.text("tier")
        if name not in TIERS:
            item.fail("tier", f"must be one of {', '.join(TIERS)}, got {name!r}")
        if any(t.tier == name for t in tiers):
            item.fail("tier", f"tier {name} appears twice")
        target = item.number("target_s")
        plan_target = ROLLBACK_TIERS[RollbackTier(name)].target_s
        if target <= 0 or target > plan_target:
            # A drill may run at a compressed time scale, never against a looser target than the plan's.
            item.fail("target_s", f"must be in (0, {plan_target}] (the plan's target), got {target:g}")
        detail = item.obj.get("detail", "")
        if not isinstance(detail, str):
            item.fail("detail", f"must be a string, got {detail!r}")
        tiers.append(
            DrillTier(
                tier=name,
                trigger=item.text("trigger"),
                duration_s=item.number("duration_s"),
                target_s=target,
                verified=item.flag("verified"),
                detail=detail,
            )
        )
    return DrillRecord(
        release=release,
        environment=fields.text("environment"),
        time_scale=time_scale,
        tiers=tuple(tiers),
        source=str(path),
        key_id=kid,
    )
