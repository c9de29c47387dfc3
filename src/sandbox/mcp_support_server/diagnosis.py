"""Implementation-gap diagnosis: explicit categories chosen deterministically from keywords."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["GAP_CATEGORIES", "GapCategory", "GapDiagnosis", "diagnose"]

GapCategory = Literal[
    "authentication",
    "rate_limiting",
    "timeout_handling",
    "configuration",
    "input_validation",
    "error_handling",
    "data_compliance",
    "caching",
    "unknown",
]


@dataclass(frozen=True)
class _Rule:
    category: GapCategory
    keywords: tuple[str, ...]
    fix: str


def _rule(category: GapCategory, keywords: str, fix: str) -> _Rule:
    return _Rule(category, tuple(keywords.split("|")), fix)


# Order matters only to break ties, so a labelled case set always gets the same answer.
_RULES: tuple[_Rule, ...] = (
    _rule(
        "authentication",
        "access denied|accessdenied|403|unauthori|credential|iam|permission|forbidden|signature|expired token"
        "|not authorized",
        "Grant the caller's role bedrock:InvokeModel on the model ARN; load credentials from the role.",
    ),
    _rule(
        "rate_limiting",
        "throttl|429|rate limit|too many requests|quota|limit exceeded|burst",
        "Add bounded exponential backoff with jitter on ThrottlingException; keep traffic below the quota.",
    ),
    _rule(
        "timeout_handling",
        "timeout|time out|timed out|times out|timing out|hang|slow|latency|deadline|takes forever|408",
        "Set explicit connect/read timeouts, bound retries, and fall back to MCP when they are exceeded.",
    ),
    _rule(
        "configuration",
        "region|endpoint|model id|modelid|config|environment variable|misconfigur|url|dns|flag"
        "|parameter store",
        "Move the setting into validated configuration (region, endpoint, model id) checked at start-up.",
    ),
    _rule(
        "input_validation",
        "validation|400|malformed|schema|invalid parameter|missing field|payload|bad request"
        "|must start with a user message",
        "Validate the request body against the API schema before sending; reject bad input with a 4xx.",
    ),
    _rule(
        "error_handling",
        "retry|unhandled|exception|stack trace|traceback|crash|500|fallback|circuit|error handling|swallow",
        "Catch the modelled exceptions explicitly, open a circuit breaker on repeated failure, fall back.",
    ),
    _rule(
        "data_compliance",
        "pii|gdpr|personal data|email address|e-mail|phone number|iban|card number|residency|redact|consent"
        "|outside the eu",
        "Redact personal data before any model call and pin Bedrock to an allowed EU region.",
    ),
    _rule(
        "caching",
        "cache|stale|ttl|hit rate|invalidat",
        "Key the cache on the normalised query, bound its size and TTL, and count hits per query class.",
    ),
)

GAP_CATEGORIES: tuple[GapCategory, ...] = (*(rule.category for rule in _RULES), "unknown")
_UNKNOWN_FIX = "Collect logs and a reproduction, then escalate to engineering for triage."


def _pattern(keyword: str) -> re.Pattern[str]:
    # Keywords are word starts ("throttl" matches "throttled"); numbers are whole ("500" is not "5000").
    return re.compile(r"(?<![a-z0-9])" + re.escape(keyword) + (r"(?![0-9])" if keyword.isdigit() else ""))


_PATTERNS = {rule.category: [(kw, _pattern(kw)) for kw in rule.keywords] for rule in _RULES}


class GapDiagnosis(BaseModel):
    """A structured diagnosis: the gap category, how sure, and what to change."""

    category: GapCategory
    confidence: float = Field(ge=0.0, le=1.0)
    suggested_fix: str
    matched_keywords: list[str]
    alternatives: list[GapCategory] = Field(description="other categories with evidence, strongest first")


def diagnose(description: str) -> GapDiagnosis:
    """Classify a problem description; confidence grows with the evidence and its dominance."""
    text = description.lower()
    evidence = {
        rule.category: [kw for kw, pattern in _PATTERNS[rule.category] if pattern.search(text)]
        for rule in _RULES
    }
    ranked = sorted(
        (rule for rule in _RULES if evidence[rule.category]), key=lambda r: -len(evidence[r.category])
    )
    if not ranked:
        return GapDiagnosis(
            category="unknown",
            confidence=0.0,
            suggested_fix=_UNKNOWN_FIX,
            matched_keywords=[],
            alternatives=[],
        )
    best = ranked[0]
    strength = len(evidence[best.category])
    total = sum(len(found) for found in evidence.values())
    # Dominance (share of all evidence) times saturation (three keywords count as certain evidence).
    confidence = round(0.35 + 0.6 * (strength / total) * min(1.0, strength / 3), 2)
    return GapDiagnosis(
        category=best.category,
        confidence=confidence,
        suggested_fix=best.fix,
        matched_keywords=evidence[best.category],
        alternatives=[rule.category for rule in ranked[1:]],
    )
