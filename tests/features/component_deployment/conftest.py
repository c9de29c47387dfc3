"""Steps of features/component_deployment.feature (phase 2): the live slots and the deploy journal."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from bedrock_release.gates.slo import error_rate_trailing_window_gate
from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window
from bedrock_release.suite.checks import require, unique_query
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.journal import JournalError
from bedrock_release.suite.operations import OperationReply, Sender
from bedrock_release.suite.run_record import canary_steps, rollout_problems
from bedrock_release.suite.target import release_manifest
from bedrock_release.suite.traffic import TrafficError, Weights, observe_slots, read_weights


def _get(http: Any, url: str | None, path: str, what: str) -> dict[str, Any]:
    if url is None:
        inconclusive(what, "the slot is not reachable from the runner")
    response = http.get(f"{url}{path}", timeout=15)
    return {"status": response.status_code, **response.json()}


def _records(journal: Any) -> Any:
    if journal is None:
        inconclusive("deployment record", "the target names no deploy journal")
    try:
        return journal.records()
    except JournalError as exc:
        inconclusive("deployment record", str(exc))


@pytest.fixture(scope="session")
def manifest(target: Any) -> Any:
    """The built artifact's manifest of the release under deployment (its component versions)."""
    from bedrock_release.release.artifact import ArtifactError  # noqa: PLC0415

    try:
        return release_manifest(target)
    except (ArtifactError, OSError) as exc:
        inconclusive("release manifest", f"release {target.release} has no readable artifact: {exc}")


@given("the release under deployment runs on the idle slot", target_fixture="new_version")
def release_on_idle_slot(target: Any, http: Any, evidence: EvidenceRecorder) -> dict[str, Any]:
    """The new slot's /version names the release under deployment."""
    version = _get(http, target.endpoints.slot(target.new_slot), "/version", f"slot {target.new_slot}")
    evidence.data(f"/version of {target.new_slot}", version)
    require(
        version.get("release") == target.release,
        f"slot {target.new_slot} runs {version.get('release')}, not the release under deployment "
        f"{target.release}",
    )
    return version


@then(
    parsers.parse(
        "the {component} component on the idle slot runs the version of the release under deployment"
    )
)
def component_version(component: str, new_version: dict[str, Any], manifest: Any) -> None:
    """The component's version equals the one in the release artifact's manifest."""
    expected = manifest.components.get(component)
    require(expected is not None, f"the manifest of {manifest.release} has no component {component}")
    actual = new_version.get("components", {}).get(component)
    require(actual == expected, f"{component} runs version {actual}, the release's manifest says {expected}")


@then(parsers.parse("the {component} component on the idle slot is healthy"))
def component_healthy_on_idle(component: str, target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """GET /health/components/<name> of the new slot answers 200 and healthy."""
    health = _get(http, target.endpoints.slot(target.new_slot), f"/health/components/{component}", component)
    evidence.data(f"{component} health", health)
    require(health["status"] == 200 and health.get("healthy"), f"{component}: {health.get('detail')}")


@then(parsers.parse("the deployment record lists all {count:d} components in their dependency order"))
def rollout_in_order(
    count: int, target: Any, journal: Any, new_version: dict[str, Any], evidence: EvidenceRecorder
) -> None:
    """component_activated records of the new slot: each component once, in the service's dependency order."""
    records = _records(journal)
    order = list(new_version.get("activation_order", []))
    problems, rollout = rollout_problems(records, slot=target.new_slot, order=order, expected_count=count)
    evidence.data("rollout", {"dependency_order": order, "rollout": rollout, "problems": problems})
    if not rollout:
        inconclusive(
            "deployment record", f"the journal records no component rollout on slot {target.new_slot}"
        )
    order_problems = [p for p in problems if "health check" not in p]
    require(not order_problems, "; ".join(order_problems))


@then("each component passed its health check before the next component was deployed")
def each_checked_before_next(target: Any, journal: Any, new_version: dict[str, Any]) -> None:
    """A passing component_health_checked follows each activation before the next one."""
    records = _records(journal)
    order = list(new_version.get("activation_order", []))
    problems, rollout = rollout_problems(
        records, slot=target.new_slot, order=order, expected_count=len(order)
    )
    if not rollout:
        inconclusive(
            "deployment record", f"the journal records no component rollout on slot {target.new_slot}"
        )
    health = [p for p in problems if "health check" in p]
    require(not health, "; ".join(health))


@then("the active slot still runs the previous release")
def previous_release_on_active(target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """The previous slot's /version names the previous release."""
    version = _get(
        http, target.endpoints.slot(target.previous_slot), "/version", f"slot {target.previous_slot}"
    )
    evidence.data(f"/version of {target.previous_slot}", version)
    require(
        target.previous_release and version.get("release") == target.previous_release,
        f"slot {target.previous_slot} runs {version.get('release')}, not {target.previous_release}",
    )


@then("every component of the active slot is healthy")
def active_slot_healthy(target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """Every component of the previous slot reports healthy in /health."""
    health = _get(
        http, target.endpoints.slot(target.previous_slot), "/health", f"slot {target.previous_slot}"
    )
    evidence.data(f"/health of {target.previous_slot}", health)
    bad = {n: c.get("detail") for n, c in health.get("components", {}).items() if not c.get("healthy")}
    require(health.get("components") and not bad, f"unhealthy components on {target.previous_slot}: {bad}")


# --- canary ------------------------------------------------------------------------------------


@given("the canary step currently applied to the load balancer", target_fixture="canary_weights")
def current_canary_step(target: Any, http: Any, journal: Any, evidence: EvidenceRecorder) -> Weights:
    """The weights in force: read from the load balancer, else the journal's last traffic_weights_set."""
    if target.endpoints.traffic_admin:
        try:
            weights = read_weights(http, target.endpoints.traffic_admin)
        except TrafficError as exc:
            inconclusive("canary step", str(exc))
        source = f"load balancer {target.endpoints.traffic_admin}"
    else:
        last = journal.last("traffic_weights_set") if journal else None
        if last is None:
            inconclusive("canary step", "no load balancer admin endpoint and no traffic_weights_set record")
        weights = Weights(int(last.data["weights"]["blue"]), int(last.data["weights"]["green"]))
        source = f"journal record {last.seq}"
    evidence.data("canary step", {"weights": weights.to_dict(), "source": source})
    return weights


@when(parsers.parse("{count:d} requests are sent through the load balancer"), target_fixture="split_replies")
def requests_through_lb(count: int, sender: Sender) -> list[OperationReply]:
    """Routine customer operations through the load balancer, each answer naming its slot."""
    return [sender.customer("routine", unique_query("Canary split check")) for _ in range(count)]


@then(
    parsers.parse(
        "the share served by the idle slot is within {tolerance:g} percentage points of the canary weight"
    )
)
def split_within_tolerance(
    tolerance: float,
    canary_weights: Weights,
    split_replies: list[OperationReply],
    target: Any,
    evidence: EvidenceRecorder,
) -> None:
    """|observed share of the new slot - its weight| at most the tolerance, over the requests sent."""
    served = sum(1 for r in split_replies if r.slot == target.new_slot)
    answered = sum(1 for r in split_replies if r.slot is not None)
    share = 100.0 * served / answered if answered else None
    deviation = abs(share - canary_weights.share_pct(target.new_slot)) if share is not None else None
    reasons: tuple[str, ...] = ()
    if deviation is None or answered < len(split_replies):
        verdict = Verdict.INCONCLUSIVE
        reasons = (f"{len(split_replies) - answered} of {len(split_replies)} answers name no slot",)
    else:
        verdict = Verdict.PASS if deviation <= tolerance else Verdict.FAIL
    evidence.gate(
        GateResult(
            name="canary-split",
            verdict=verdict,
            value=deviation,
            threshold=tolerance,
            unit="percentage points",
            comparison=Comparison.AT_MOST,
            samples=answered,
            min_samples=len(split_replies),
            window=Window(f"{len(split_replies)} requests through the load balancer", None),
            source=f"X-Slot of the answers from {target.endpoints.traffic}",
            reasons=reasons,
            raw={
                "served_by_new_slot": served,
                "answered": answered,
                "weights": canary_weights.to_dict(),
                "share_pct": share,
            },
        )
    )


@then(parsers.parse("the error rate of those requests is at most {pct:g} percent"))
def split_error_rate(pct: float, split_replies: list[OperationReply], evidence: EvidenceRecorder) -> None:
    """Failed answers (not HTTP 200) among the requests sent at this canary step."""
    failures = sum(1 for r in split_replies if not r.ok)
    series = [(0.0, 0, 0), (1.0, len(split_replies), failures)]
    evidence.gate(
        error_rate_trailing_window_gate(
            "canary-error-rate",
            series,
            threshold_pct=pct,
            window_s=1.0,
            source="HTTP status of the canary requests",
            min_requests=len(split_replies),
        )
    )


# --- decision point 1 --------------------------------------------------------------------------


@then(
    parsers.parse(
        "all {count:d} components of the new slot are healthy at the version of the release under deployment"
    )
)
def all_components_ready(
    count: int, target: Any, http: Any, manifest: Any, evidence: EvidenceRecorder
) -> None:
    """/health of the new slot: every component healthy, each at the manifest's version."""
    health = _get(http, target.endpoints.slot(target.new_slot), "/health", f"slot {target.new_slot}")
    evidence.data(f"/health of {target.new_slot}", health)
    components = health.get("components", {})
    require(len(components) == count, f"{len(components)} components on {target.new_slot}, expected {count}")
    wrong = {
        name: f"healthy={c.get('healthy')} version={c.get('version')} "
        f"(manifest {manifest.components.get(name)})"
        for name, c in components.items()
        if not c.get("healthy") or c.get("version") != manifest.components.get(name)
    }
    require(not wrong, f"components not ready on {target.new_slot}: {wrong}")


@then(
    parsers.parse(
        "the canary steps were applied in increasing order, the first at most {first:d} percent, "
        "the last {last:d} percent"
    )
)
def canary_order(first: int, last: int, target: Any, journal: Any, evidence: EvidenceRecorder) -> None:
    """traffic_weights_set records: the new slot's share strictly increases from <= first to last."""
    steps = [s for s in canary_steps(_records(journal), target.new_slot) if s.new_share_pct > 0]
    shares = [s.new_share_pct for s in steps]
    evidence.data(
        "canary steps", [{"seq": s.seq, "weights": dict(s.weights), "share": s.new_share_pct} for s in steps]
    )
    require(shares, "the journal records no canary step towards the new slot")
    require(
        all(a < b for a, b in itertools.pairwise(shares)),
        f"canary shares not increasing: {shares}",
    )
    require(shares[0] <= first, f"the first canary step is {shares[0]:g} %, more than {first} %")
    require(shares[-1] == last, f"the last canary step is {shares[-1]:g} %, not {last} %")


@then("the observed split was verified at every canary step")
def split_verified_each_step(target: Any, journal: Any) -> None:
    """Each canary step has a traffic_split_observed within tolerance before the next step."""
    steps = [s for s in canary_steps(_records(journal), target.new_slot) if s.new_share_pct > 0]
    if not steps:
        inconclusive("canary steps", "the journal records no canary step towards the new slot")
    unverified = [
        f"{s.new_share_pct:g} %"
        for s in steps
        if not s.observed or s.observed.get("within_tolerance") is not True
    ]
    require(not unverified, f"canary steps without a verified split: {unverified}")


@then(parsers.parse("the new slot serves {pct:d} percent of the traffic"))
def new_slot_share(pct: int, target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """The load balancer's weights (or a sample of answers) give the new slot that share."""
    if target.endpoints.traffic_admin:
        weights = read_weights(http, target.endpoints.traffic_admin)
        share = weights.share_pct(target.new_slot)
        evidence.data("weights", weights.to_dict())
    else:
        seen = observe_slots(http, target.endpoints.traffic)
        share = 100.0 * seen[target.new_slot] / max(1, sum(seen.values()))
        evidence.data("observed slots", dict(seen))
    require(share == pct, f"the new slot serves {share:g} % of the traffic, not {pct} %")


@then("no component deployment error was recorded")
def no_rollout_error(target: Any, journal: Any) -> None:
    """No failing component health check, and no rollback, in the journal of this run."""
    records = _records(journal)
    failing = [
        f"{r.data.get('component')}: {r.data.get('detail')}"
        for r in records
        if r.action == "component_health_checked"
        and r.data.get("slot") == target.new_slot
        and r.data.get("healthy") is not True
    ]
    rollbacks = [r.data.get("tier") for r in records if r.action == "rollback_started"]
    require(not failing, f"component deployment errors recorded: {failing}")
    require(not rollbacks, f"rollbacks recorded during the deployment: {rollbacks}")
