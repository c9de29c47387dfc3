"""The deployment plan's constants as data (docs/deployment-plan.md); other modules import from here."""

from __future__ import annotations

import enum
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "APPROVAL_ROLES",
    "COMPONENTS",
    "DECISION_POINTS",
    "FLAGS",
    "FLAG_MONITORING_S",
    "HEALTH_CHECKS",
    "ON_CALL",
    "PHASES",
    "PLAN_DOCUMENT",
    "PLAN_SLO_GATES",
    "ROLLBACK_TIERS",
    "ROLLING_WINDOW_S",
    "VALIDATION_TESTS",
    "ApprovalRole",
    "DecisionPoint",
    "Phase",
    "PlanGate",
    "RollbackTier",
    "RollbackTierSpec",
    "phase",
    "plan_sha256",
]

#: The plan's text, which the approvals bind by its SHA-256 (docs/pre-deployment-evidence.md).
PLAN_DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "deployment-plan.md"


def plan_sha256(path: str | os.PathLike[str] = PLAN_DOCUMENT) -> str:
    """Return the SHA-256 of the plan's bytes; OSError names the file when it cannot be read."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Phase:
    """One phase of the plan with its time budget."""

    id: int
    name: str
    budget_min: int
    objective: str

    @property
    def budget_s(self) -> int:
        """Return the plan's budget in seconds."""
        return self.budget_min * 60

    def scaled_budget_s(self, time_scale: float) -> float:
        """Return the budget at a time scale in (0, 1] (the sandbox compresses every wait)."""
        if not 0 < time_scale <= 1:
            raise ValueError(f"time_scale must be in (0, 1], got {time_scale!r}")
        return self.budget_s * time_scale


PHASES: tuple[Phase, ...] = (
    Phase(
        1, "Pre-Deployment Validation", 30, "Ensure all prerequisites are met before production deployment"
    ),
    Phase(2, "Component Deployment", 45, "Deploy all hybrid routing components to production"),
    Phase(3, "SLO Gate Validation", 20, "Validate all Service Level Objectives before activation"),
    Phase(4, "Health Check Execution", 15, "Verify all system components are healthy"),
    Phase(5, "Feature Flag Activation", 10, "Gradually activate hybrid routing features"),
    Phase(6, "Production Validation", 30, "Validate hybrid routing functionality in production"),
    Phase(7, "Monitoring Activation", 15, "Activate comprehensive monitoring and alerting"),
)


def phase(phase_id: int) -> Phase:
    """Return the phase with this id; raise ValueError naming the valid ids otherwise."""
    for item in PHASES:
        if item.id == phase_id:
            return item
    raise ValueError(f"unknown phase {phase_id!r}: the plan has phases 1 to {len(PHASES)}")


#: Phase 2 components as the plan lists them; the service publishes its own dependency (activation) order.
COMPONENTS: tuple[str, ...] = (
    "BedrockSupportManager",
    "IntelligentRouter",
    "DirectBedrockClient",
    "MCPRouter",
    "HybridHealthMonitor",
    "PerformanceOptimizer",
    "ComplianceValidator",
)

#: Phase 5 feature flags in the plan's activation order.
FLAGS: tuple[str, ...] = (
    "ENABLE_HYBRID_HEALTH_MONITORING",
    "ENABLE_BEDROCK_SUPPORT_MODE",
    "ENABLE_INTELLIGENT_ROUTING",
    "ENABLE_DIRECT_BEDROCK_FALLBACK",
    "ENABLE_PERFORMANCE_OPTIMIZATION",
)

#: "2-minute monitoring period after each activation" (phase 5), before time scaling.
FLAG_MONITORING_S = 120

#: "5-minute rolling window" of the error-rate gate, before time scaling.
ROLLING_WINDOW_S = 300

#: Phase 6 validation tests, in the plan's words; decision point 3 requires every one of them.
VALIDATION_TESTS: tuple[str, ...] = (
    "Routing Decision Validation",
    "Direct Bedrock Operations",
    "MCP Fallback Testing",
    "Performance Optimization",
    "Compliance Validation",
    "Audit Trail Verification",
)

#: Phase 4 health checks, in the plan's words.
HEALTH_CHECKS: tuple[str, ...] = (
    "Direct Bedrock Connection",
    "MCP Router Health",
    "Intelligent Router Status",
    "Circuit Breaker Status",
    "Compliance Validator",
    "Audit Trail System",
    "Monitoring Systems",
)


@dataclass(frozen=True)
class PlanGate:
    """An SLO gate as the plan states it (used to detect drift of the feature files)."""

    name: str
    comparison: str
    threshold: float
    unit: str
    measurement: str


#: Phase 3 SLO gates exactly as the plan's table states them.
PLAN_SLO_GATES: tuple[PlanGate, ...] = (
    PlanGate("p95-latency-generation", "<=", 1500, "ms", "Real-time monitoring"),
    PlanGate("p95-latency-cached", "<=", 300, "ms", "Real-time monitoring"),
    PlanGate("error-rate", "<=", 1.0, "percent", "5-minute rolling window"),
    PlanGate("cost-budget", "<=", 80, "percent", "Current spend tracking"),
    PlanGate("cache-hit-rate", ">=", 80, "percent", "Cache performance metrics"),
)


class RollbackTier(enum.StrEnum):
    """The plan's three rollback procedures."""

    IMMEDIATE = "immediate"
    PARTIAL = "partial"
    FULL = "full"


@dataclass(frozen=True)
class RollbackTierSpec:
    """A rollback tier's target time and steps, in the plan's words."""

    tier: RollbackTier
    target_s: int
    steps: tuple[str, ...]


ROLLBACK_TIERS: dict[RollbackTier, RollbackTierSpec] = {
    RollbackTier.IMMEDIATE: RollbackTierSpec(
        RollbackTier.IMMEDIATE,
        300,
        (
            "Disable all hybrid routing feature flags",
            "Verify system returns to MCP-only operation",
            "Monitor for stability and performance recovery",
        ),
    ),
    RollbackTier.PARTIAL: RollbackTierSpec(
        RollbackTier.PARTIAL,
        600,
        (
            "Execute immediate rollback",
            "Selectively re-enable stable components",
            "Investigate and fix failing components",
        ),
    ),
    RollbackTier.FULL: RollbackTierSpec(
        RollbackTier.FULL,
        1800,
        (
            "Execute immediate rollback",
            "Revert all component deployments",
            "Restore previous system configuration",
            "Conduct comprehensive system validation",
        ),
    ),
}


@dataclass(frozen=True)
class ApprovalRole:
    """One required pre-deployment approval."""

    role: str
    title: str
    purpose: str


APPROVAL_ROLES: tuple[ApprovalRole, ...] = (
    ApprovalRole("cto", "CTO Approval", "Overall deployment authorization"),
    ApprovalRole("security", "Security Team", "Security review and compliance validation"),
    ApprovalRole("operations", "Operations Team", "Operational readiness confirmation"),
    ApprovalRole("product_owner", "Product Owner", "Business impact assessment"),
)


@dataclass(frozen=True)
class DecisionPoint:
    """A go/no-go decision point and the phase after which it is taken."""

    id: int
    after_phase: int
    name: str
    go_criteria: str
    no_go_action: str


DECISION_POINTS: tuple[DecisionPoint, ...] = (
    DecisionPoint(
        1,
        2,
        "Component Deployment",
        "All components deployed successfully, no errors",
        "Execute immediate rollback, investigate failures",
    ),
    DecisionPoint(
        2,
        3,
        "SLO Gates",
        "All SLO gates pass within thresholds",
        "Execute rollback, analyze performance issues",
    ),
    DecisionPoint(
        3,
        6,
        "Production Validation",
        "All validation tests pass, system stable",
        "Execute rollback, conduct post-incident review",
    ),
)

#: The plan's on-call rotation, paged when a rollback itself fails.
ON_CALL: tuple[tuple[str, str], ...] = (
    ("primary", "DevOps Team Lead"),
    ("secondary", "AI Architecture Team Lead"),
    ("escalation", "CTO"),
)
