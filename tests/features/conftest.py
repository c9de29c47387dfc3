"""Steps shared by several features (each with a docstring), and their fixtures."""

from __future__ import annotations

from typing import Any

from pytest_bdd import parsers, then

from bedrock_release.suite import gates
from bedrock_release.suite.evidence import EvidenceRecorder
from bedrock_release.suite.measurement import MeasuredSpan


@then(
    parsers.parse(
        "the P95 latency of {kind} requests is at most {limit_ms:d} ms over at least {min_samples:d} samples"
    )
)
def p95_latency_gate(
    kind: str, limit_ms: int, min_samples: int, measured_span: MeasuredSpan, evidence: EvidenceRecorder
) -> None:
    """P95 (nearest rank) of one request kind's response times from the measured span."""

    evidence.gate(gates.p95_latency(measured_span, kind, limit_ms=limit_ms, min_samples=min_samples))


@then(
    parsers.parse(
        "the cache hit rate of frequent queries is at least {pct:g} percent "
        "over at least {min_lookups:d} lookups"
    )
)
def cache_hit_rate_gate(
    pct: float, min_lookups: int, measured_span: MeasuredSpan, evidence: EvidenceRecorder
) -> None:
    """Hit rate of frequent queries from the service's cache counters, deltas over the measured span."""
    evidence.gate(gates.cache_hit_rate(measured_span, threshold_pct=pct, min_lookups=min_lookups))


def _unused(_: Any) -> None:  # pragma: no cover - keeps Any imported for future shared steps
    return None
