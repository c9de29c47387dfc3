"""Steps shared by several features (each with a docstring), and their fixtures."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import parsers, then

from bedrock_release.suite import gates
from bedrock_release.suite.audit_trails import audits_of
from bedrock_release.suite.checks import require
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.flag_checks import store_flags
from bedrock_release.suite.measurement import MeasuredSpan
from bedrock_release.suite.traffic import serving_slots


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


_SCENARIO_STEPS = pytest.StashKey[tuple[str, ...]]()


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    """Keep the scenario's step texts: a load step watches live the gates its Then steps state."""
    request.node.stash[_SCENARIO_STEPS] = tuple(step.name for step in scenario.steps)


@pytest.fixture
def scenario_steps(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """The text of every step of the running scenario (its own, and its Background's)."""
    return request.node.stash.get(_SCENARIO_STEPS, ())


def _unused(_: Any) -> None:  # pragma: no cover - keeps Any imported for future shared steps
    return None


@then(parsers.parse("the {component} component of every serving slot is healthy"))
def component_healthy_everywhere(component: str, target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """GET /health/components/<name> answers 200 and healthy on every slot that serves traffic."""

    found = {}
    for slot in serving_slots(http, target):
        url = target.endpoints.slot(slot)
        require(url is not None, f"slot {slot} serves traffic but is not reachable from the runner")
        response = http.get(f"{url}/health/components/{component}", timeout=15)
        found[slot] = {"status": response.status_code, **response.json()}
    evidence.data(f"{component} health", found)
    unhealthy = {
        slot: h.get("detail") for slot, h in found.items() if h["status"] != 200 or not h.get("healthy")
    }
    require(not unhealthy, f"{component} is not healthy on {unhealthy}")


@then("the audit trail of every serving slot verifies as an unbroken hash chain")
def audit_chains_verify(target: Any, http: Any, support_token: str, evidence: EvidenceRecorder) -> None:
    """audit_trail.verify holds for the chain of every slot that serves traffic."""

    audits = audits_of(http, target, support_token, serving_slots(http, target))
    evidence.data("audit chains", {slot: a.summary() for slot, a in audits.items()})
    broken = {slot: a.verdict.summary() for slot, a in audits.items() if not a.verdict.ok}
    require(not broken, f"audit chains do not verify: {broken}")
    empty = [slot for slot, a in audits.items() if a.verdict.records == 0]
    require(not empty, f"no audit records at all on {empty}")


@then(parsers.parse("all five hybrid routing flags are {state} in the flag store"))
def flags_in_store(state: str, target: Any, ssm: Any, evidence: EvidenceRecorder) -> None:
    """The five SSM parameters hold the state (a missing parameter is off)."""

    store = store_flags(ssm, target)
    evidence.data("flag store", {"values": store.values, "detail": store.detail})
    if not store.healthy:
        inconclusive("flag store", store.detail)
    wrong = store.off(state == "on")
    require(not wrong, f"flags not {state} in {store.source}: {wrong}")
