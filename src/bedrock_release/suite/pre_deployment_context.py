"""Where the release's pre-deployment evidence is and what it must be about (phase 1, approvals)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bedrock_release.release.approvals import load_trusted_keys
from bedrock_release.suite.target import Target, release_manifest

__all__ = ["ROLE_TITLES", "EvidenceContext", "evidence_context"]

_REPO = Path(__file__).resolve().parents[3]
#: The approval roles as the plan and the feature name them.
ROLE_TITLES = {
    "CTO": "cto",
    "Security Team": "security",
    "Operations Team": "operations",
    "Product Owner": "product_owner",
}


@dataclass(frozen=True)
class EvidenceContext:
    """The evidence folder, the trusted keys and the artifact the evidence must be about."""

    release: str
    evidence_dir: Path
    trusted_keys_dir: Path
    trusted_keys: dict[str, list[Any]]
    artifact_sha256: str
    now: datetime

    def to_dict(self) -> dict[str, Any]:
        """Return the context for evidence attachments."""
        return {
            "release": self.release,
            "evidence_dir": str(self.evidence_dir),
            "trusted_keys_dir": str(self.trusted_keys_dir),
            "trusted_roles": {role: len(keys) for role, keys in self.trusted_keys.items()},
            "artifact_sha256": self.artifact_sha256,
            "now": self.now.isoformat(),
        }


def evidence_context(target: Target) -> EvidenceContext:
    """Resolve the context; ValueError (or ArtifactError, OSError) says what is missing."""
    evidence_dir = (
        target.evidence_dir
        or (target.releases_dir or _REPO / "runs" / "releases") / target.release / "evidence"
    )
    keys_dir = target.trusted_keys_dir or _REPO / "runs" / "sandbox" / "keys" / "trusted"
    if not evidence_dir.is_dir():
        raise ValueError(f"no evidence folder {evidence_dir} for release {target.release}")
    if not keys_dir.is_dir():
        raise ValueError(f"no trusted keys folder {keys_dir}")
    manifest = release_manifest(target)
    return EvidenceContext(
        target.release,
        evidence_dir,
        keys_dir,
        load_trusted_keys(keys_dir),
        manifest.sha256,
        datetime.now(UTC),
    )
