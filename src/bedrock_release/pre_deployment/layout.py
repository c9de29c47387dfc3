"""Where each piece of pre-deployment evidence lives (docs/contracts.md "Pre-deployment evidence")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "APPROVAL_KINDS",
    "DEFAULT_KEYS_DIR",
    "DEFAULT_RELEASES_DIR",
    "DEFAULT_ROSTER",
    "REPO_ROOT",
    "SUITES",
    "EvidencePaths",
    "default_evidence_dir",
]

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_RELEASES_DIR = REPO_ROOT / "runs" / "releases"
DEFAULT_KEYS_DIR = REPO_ROOT / "runs" / "sandbox" / "keys"
DEFAULT_ROSTER = REPO_ROOT / "inventories" / "local" / "group_vars" / "all" / "pre_deployment.yml"

#: The plan's staging test suites ("Unit, Integration, Performance, Security"), in its order.
SUITES: tuple[str, ...] = ("unit", "integration", "performance", "security")

#: Each approval role, the evidence kind it rests on, and that evidence's path under the evidence dir.
APPROVAL_KINDS: dict[str, tuple[str, str]] = {
    "cto": ("staging-test-results", "staging/summary.json"),
    "security": ("security-scan", "security/report.json"),
    "operations": ("operations-training", "training/operations-training.json"),
    "product_owner": ("business-impact-assessment", "business-impact/assessment.json"),
}


def default_evidence_dir(release: str, releases_dir: str | os.PathLike[str] = DEFAULT_RELEASES_DIR) -> Path:
    """Return ``<releases>/<release>/evidence`` (the sandbox's place for a release's evidence)."""
    return Path(releases_dir) / release / "evidence"


@dataclass(frozen=True)
class EvidencePaths:
    """Every path of one release's evidence folder."""

    root: Path

    @classmethod
    def of(cls, root: str | os.PathLike[str]) -> EvidencePaths:
        """Return the paths under ``root``."""
        return cls(Path(root))

    @property
    def staging(self) -> Path:
        """Folder of the staging test results."""
        return self.root / "staging"

    @property
    def staging_summary(self) -> Path:
        """The staging summary."""
        return self.staging / "summary.json"

    def junit(self, suite: str) -> Path:
        """One suite's JUnit XML."""
        return self.staging / "junit" / f"{suite}.xml"

    def allure(self, suite: str) -> Path:
        """One suite's Allure results folder."""
        return self.staging / "allure" / suite

    @property
    def staging_logs(self) -> Path:
        """Each suite's output and the staging sandbox's logs."""
        return self.staging / "logs"

    @property
    def security(self) -> Path:
        """Folder of the security scan."""
        return self.root / "security"

    @property
    def security_report(self) -> Path:
        """The security scan's summary."""
        return self.security / "report.json"

    @property
    def bandit(self) -> Path:
        """bandit's JSON."""
        return self.security / "bandit.json"

    @property
    def pip_audit(self) -> Path:
        """The dependency audit as pip-audit's JSON (``pip-audit --format json``)."""
        return self.security / "pip-audit.json"

    @property
    def risk_acceptance(self) -> Path:
        """The Security Team's signed acceptance of a stale advisory database."""
        return self.security / "risk-acceptance.json"

    @property
    def training(self) -> Path:
        """The signed operations training record."""
        return self.root / "training" / "operations-training.json"

    @property
    def drill(self) -> Path:
        """The staging rollback drill record (written by the pipeline)."""
        return self.root / "rollback-drill" / "drill.json"

    @property
    def business_impact(self) -> Path:
        """The business impact assessment."""
        return self.root / "business-impact" / "assessment.json"

    @property
    def business_impact_text(self) -> Path:
        """The same assessment for people."""
        return self.root / "business-impact" / "assessment.md"

    @property
    def approvals(self) -> Path:
        """Folder of the four approval records."""
        return self.root / "approvals"

    def approval(self, role: str) -> Path:
        """One role's approval record."""
        return self.approvals / f"{role}.json"
