"""ComplianceValidator: GDPR redaction before any model call, EU data residency, recorded violations.

A violation here is a blocked attempt: data that would have left the allowed residency, or PII that
reached a model boundary. Nothing is sent when one is found; each is kept in memory for
/admin/compliance/violations, counted (``support_compliance_violations_total{rule}``) and audited by the
listener the service installs.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from support_service.components import ProbeResult
from support_service.pii import PiiKind, Redaction, find_pii, redact
from support_service.routing import Residency

__all__ = [
    "ComplianceValidator",
    "PiiBlockedError",
    "Violation",
    "ViolationRule",
]


class ViolationRule(StrEnum):
    """The ``rule`` label of ``support_compliance_violations_total``."""

    BEDROCK_REGION = "bedrock_region"  # direct Bedrock configured outside the allowed EU regions
    CUSTOMER_REGION = "customer_region"  # the customer's region does not permit direct Bedrock processing
    PII_IN_MODEL_PAYLOAD = "pii_in_model_payload"  # PII found at a model boundary after redaction


@dataclass(frozen=True)
class Violation:
    """One blocked violation (details carry redacted data only)."""

    at: datetime
    rule: ViolationRule
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"at": self.at.isoformat(), "rule": self.rule.value, "detail": dict(self.detail)}


class PiiBlockedError(Exception):
    """A payload still held PII at a model boundary; the call was not made."""

    def __init__(self, boundary: str, kinds: Iterable[PiiKind]) -> None:
        self.boundary = boundary
        self.kinds = tuple(kinds)
        super().__init__(f"PII ({', '.join(k.value for k in self.kinds)}) blocked at the {boundary} boundary")


_SELF_TEST = (
    "mail a.b@example.org, call +49 30 1234567, IBAN DE89 3704 0044 0532 0130 00, "
    "card 4111 1111 1111 1111, ip 10.1.2.3"
)


class ComplianceValidator:
    """Redacts PII, decides data residency for direct Bedrock, and records violations."""

    def __init__(
        self,
        *,
        bedrock_region: str,
        allowed_bedrock_regions: Iterable[str],
        permitted_customer_regions: Iterable[str],
        on_redaction: Callable[[PiiKind], None] | None = None,
        on_violation: Callable[[Violation], None] | None = None,
        keep: int = 1000,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.bedrock_region = bedrock_region
        self.allowed_bedrock_regions = frozenset(allowed_bedrock_regions)
        self.permitted_customer_regions = frozenset(permitted_customer_regions)
        self._on_redaction = on_redaction
        self._on_violation = on_violation
        self._now = now
        self._lock = threading.Lock()
        self._recent: deque[Violation] = deque(maxlen=keep)
        self._by_rule: dict[ViolationRule, int] = {}

    def redact(self, text: str) -> Redaction:
        """Redact PII from text bound for a model, a cache key or the audit trail."""
        result = redact(text)
        if self._on_redaction is not None:
            for kind in result.kinds:
                self._on_redaction(kind)
        return result

    def bedrock_region_allowed(self, region: str | None = None) -> bool:
        """Whether a Bedrock region is in the allowed EU list (default: the configured one)."""
        return (region or self.bedrock_region) in self.allowed_bedrock_regions

    def residency(self, customer_region: str) -> Residency:
        """Whether direct Bedrock may process data of a customer in ``customer_region``."""
        if not self.bedrock_region_allowed():
            return Residency.BEDROCK_REGION
        if customer_region not in self.permitted_customer_regions:
            return Residency.CUSTOMER_REGION
        return Residency.OK

    def guard_outgoing(self, text: str, *, boundary: str) -> None:
        """Last check at a model boundary: raise (and record) if any PII is still in ``text``."""
        kinds = find_pii(text)
        if kinds:
            self.record(
                ViolationRule.PII_IN_MODEL_PAYLOAD, {"boundary": boundary, "kinds": [k.value for k in kinds]}
            )
            raise PiiBlockedError(boundary, kinds)

    def record(self, rule: ViolationRule, detail: Mapping[str, Any] | None = None) -> Violation:
        """Record one blocked violation."""
        violation = Violation(at=self._now(), rule=rule, detail=dict(detail or {}))
        with self._lock:
            self._recent.append(violation)
            self._by_rule[rule] = self._by_rule.get(rule, 0) + 1
        if self._on_violation is not None:
            self._on_violation(violation)
        return violation

    def violations(self) -> list[Violation]:
        """The most recent violations, oldest first."""
        with self._lock:
            return list(self._recent)

    def counts(self) -> dict[str, int]:
        """Violations per rule since start."""
        with self._lock:
            return {rule.value: self._by_rule.get(rule, 0) for rule in ViolationRule}

    def probe(self) -> ProbeResult:
        """Self-test: every PII kind is redacted, and the allowed Bedrock regions are EU regions."""
        kinds = set(redact(_SELF_TEST).kinds)
        missing = set(PiiKind) - kinds
        if missing:
            return ProbeResult(False, f"redaction self-test missed {sorted(k.value for k in missing)}")
        non_eu = sorted(r for r in self.allowed_bedrock_regions if not r.startswith("eu-"))
        if non_eu or not self.allowed_bedrock_regions:
            return ProbeResult(False, f"allowed Bedrock regions must be EU regions, got {non_eu or 'none'}")
        region = "allowed" if self.bedrock_region_allowed() else "NOT allowed (direct Bedrock refused)"
        return ProbeResult(True, f"redaction self-test passed; Bedrock region {self.bedrock_region} {region}")
