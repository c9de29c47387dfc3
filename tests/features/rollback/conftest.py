"""Steps of features/rollback.feature: what the journal says the rollback did, and the live system now.

The rollback playbooks run these scenarios as the last step of a tier, before they record
``rollback_finished``: a rollback's duration is then measured from its ``rollback_started`` record
(timed from the failure) until now. Targets are wall-clock times, as the feature says.
"""

# ruff: noqa: PLR0917 - pytest-bdd passes fixtures to steps as positional parameters

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pytest_bdd import given, parsers, then

from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window
from bedrock_release.load.monitor import LiveGate
from bedrock_release.load.runner import monitoring_plan
from bedrock_release.plan import FLAG_MONITORING_S, FLAGS
from bedrock_release.suite import gates
from bedrock_release.suite.checks import require, unique_query
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.flag_checks import slot_flags, store_flags
from bedrock_release.suite.journal import JournalError
from bedrock_release.suite.measurement import measure_load, scrape_or_error
from bedrock_release.suite.operations import OPERATION_TYPES, Sender
from bedrock_release.suite.run_record import Rollback, flag_activations, latest_rollback, truthy
from bedrock_release.suite.traffic import read_weights, serving_slots


def _records(journal: Any) -> Any:
    if journal is None:
        inconclusive("rollback record", "the target names no deploy journal")
    try:
        return journal.records()
    except JournalError as exc:
        inconclusive("rollback record", str(exc))


@given(parsers.parse("the {tier} rollback has run"), target_fixture="rollback")
def rollback_has_run(tier: str, journal: Any, evidence: EvidenceRecorder) -> Rollback:
    """The journal holds a rollback_started record of the tier (the latest one is checked)."""
    rollback = latest_rollback(_records(journal), tier)
    if rollback is None:
        inconclusive(f"{tier} rollback", f"the journal records no {tier} rollback")
    evidence.data(
        f"{tier} rollback",
        {
            "started": rollback.started.to_dict(),
            "finished": rollback.finished.to_dict() if rollback.finished else None,
            "records": [r.to_dict() for r in rollback.records],
        },
    )
    return rollback


@then("every serving slot reports all five flags off")
def slots_report_flags_off(target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """GET /v1/flags of every serving slot: all five off."""
    views = slot_flags(http, target, serving_slots(http, target))
    evidence.data("slots", [{"source": v.source, "values": v.values, "healthy": v.healthy} for v in views])
    still_on = [f"{v.source}: {v.off(False)}" for v in views if v.off(False)]
    require(not still_on, f"flags still on: {still_on}")


@then("operations of every type are routed through MCP in MCP-only mode, as the routing metrics show")
def mcp_only(target: Any, http: Any, sender: Sender, evidence: EvidenceRecorder) -> None:
    """One customer operation of each type; answers and support_route_decisions_total both say MCP-only."""
    slots = serving_slots(http, target)
    before, before_error = scrape_or_error(http, target, slots)
    replies = [sender.customer(op, unique_query(f"MCP-only check ({op})")) for op in OPERATION_TYPES]
    after, after_error = scrape_or_error(http, target, slots)
    evidence.data("operations", [r.to_dict() for r in replies])
    wrong = [
        f"{r.body.get('type')}: {r.route} ({r.reason})"
        for r in replies
        if (r.route, r.reason) != ("mcp", "mcp_only_mode")
    ]
    require(not wrong, f"not MCP-only: {wrong}")
    if before is None or after is None:
        inconclusive("routing metrics", before_error or after_error or "not scraped")
    total = after.delta(before, "support_route_decisions_total")
    mcp_only_count = after.delta(before, "support_route_decisions_total", route="mcp", reason="mcp_only_mode")
    evidence.data("route decisions", {"total": total, "mcp_only_mode": mcp_only_count})
    require(
        mcp_only_count >= len(replies),
        f"the metrics show {mcp_only_count:g} MCP-only decisions for {len(replies)} operations",
    )
    require(
        total == mcp_only_count,
        f"the metrics show {total - mcp_only_count:g} decisions other than MCP-only mode",
    )


def _stability_span(target: Any, http: Any, purpose: str, threshold_pct: float | None = None) -> Any:
    if not target.endpoints.traffic:
        inconclusive("stability watch", "the target has no load balancer endpoint")
    period = target.scaled(FLAG_MONITORING_S)
    plan = monitoring_plan(
        target.endpoints.traffic,
        target.time_scale,
        target.results_dir,
        purpose=purpose,
        duration_s=period,
        workers=target.load_workers,
    )
    # An unstable system after the rollback is known at once (the gate's sequential test stops the load).
    live = (LiveGate.failed(threshold_pct),) if threshold_pct is not None else ()
    return measure_load(http, target, plan, admin_token=None, live=live).with_required(period)


@then(
    parsers.parse(
        "the error rate while monitoring for stability is at most {pct:g} percent "
        "over at least {min_requests:d} requests"
    )
)
def stable_after_rollback(
    pct: float, min_requests: int, rollback: Rollback, target: Any, http: Any, evidence: EvidenceRecorder
) -> None:
    """Customer traffic for one monitoring period (the plan's 2 minutes, scaled) after the rollback."""
    span = _stability_span(target, http, f"stability-{rollback.tier}", pct)
    evidence.data("stability watch", dict(span.raw))
    evidence.gate(
        gates.error_rate_over_span(
            span,
            threshold_pct=pct,
            min_requests=min_requests,
            name=f"error-rate-after-{rollback.tier}-rollback",
        )
    )


@then(parsers.parse("the rollback finished in less than {minutes:d} minutes"))
def rollback_in_time(minutes: int, rollback: Rollback, evidence: EvidenceRecorder) -> None:
    """From rollback_started (timed from the failure) to its finish, or to now while it is being verified."""
    elapsed = rollback.elapsed_s(datetime.now(UTC))
    limit = minutes * 60.0
    source = (
        "rollback_finished duration_s" if rollback.finished else "rollback_started until this verification"
    )
    evidence.gate(
        GateResult(
            name=f"rollback-{rollback.tier}-duration",
            verdict=Verdict.PASS if elapsed < limit else Verdict.FAIL,
            value=elapsed,
            threshold=limit,
            unit="s",
            comparison=Comparison.AT_MOST,
            samples=1,
            min_samples=1,
            window=Window(f"the {rollback.tier} rollback", elapsed),
            source=f"deploy journal: {source}",
            reasons=() if elapsed < limit else (f"must be less than {limit:g} s",),
        )
    )


@then("the immediate rollback ran first")
def immediate_first(rollback: Rollback) -> None:
    """Within this rollback, all five flags were off before anything else changed."""
    done = rollback.immediate_done_seq()
    require(done is not None, "the journal does not show every flag off at the start of this rollback")
    first_other = next(
        (
            r.seq
            for r in rollback.records
            if r.action in {"traffic_weights_set", "slot_release_set"}
            or (r.action == "flag_set" and truthy(r.data.get("value")))
        ),
        None,
    )
    require(
        first_other is None or done < first_other,
        "something was re-enabled or reverted before every flag was off",
    )


@then(
    "the stable flags were re-enabled one at a time in the plan's order, each after a clean monitoring period"
)
def stable_flags_reenabled(rollback: Rollback, evidence: EvidenceRecorder) -> None:
    """flag_set records after the immediate part: a prefix of the plan's order, each window passed."""
    done = rollback.immediate_done_seq()
    require(done is not None, "the immediate rollback did not turn every flag off first")
    again = [a for a in flag_activations(list(rollback.before) + list(rollback.records)) if a.seq > done]
    names = [a.flag for a in again]
    evidence.data(
        "re-enabled", [{"flag": a.flag, "seq": a.seq, "window_gates": list(a.window_gates)} for a in again]
    )
    require(
        names == list(FLAGS[: len(names)]),
        f"re-enabled {names}, not a prefix of the plan's order {list(FLAGS)}",
    )
    for activation in again:
        require(activation.window_gates, f"{activation.flag} was re-enabled without a monitoring window")
        failed = [g.get("name") for g in activation.window_gates if g.get("verdict") != "pass"]
        require(
            not failed, f"the monitoring window after re-enabling {activation.flag} did not pass: {failed}"
        )


@then("the failing flag and every flag after it are off")
def failing_flag_off(
    rollback: Rollback, target: Any, http: Any, ssm: Any, evidence: EvidenceRecorder
) -> None:
    """The flag activated last before the rollback, and all after it in the plan's order, are off now."""
    before = flag_activations(list(rollback.before))
    require(before, "the journal shows no flag activated before the rollback: the failing flag is unknown")
    failing = before[-1].flag
    off = list(FLAGS[FLAGS.index(failing) :])
    store = store_flags(ssm, target)
    views = [store, *slot_flags(http, target, serving_slots(http, target))]
    evidence.data(
        "flags", {"failing": failing, "must_be_off": off, "views": {v.source: v.values for v in views}}
    )
    on = [f"{v.source}: {flag}" for v in views for flag in off if v.values.get(flag) is not False]
    require(not on, f"the failing flag {failing} or a later one is on: {on}")


@then(parsers.parse("the previous slot serves {pct:d} percent of the traffic with the previous release"))
def previous_slot_serves(pct: int, target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """Weights give the previous slot all traffic, and it runs the previous release."""
    if not target.endpoints.traffic_admin:
        inconclusive("traffic", "the target has no load balancer admin endpoint to read the weights")
    weights = read_weights(http, target.endpoints.traffic_admin)
    version = http.get(f"{target.endpoints.slot(target.previous_slot)}/version", timeout=10).json()
    evidence.data("traffic", {"weights": weights.to_dict(), "previous_slot_version": version})
    share = weights.share_pct(target.previous_slot)
    require(share == pct, f"the previous slot {target.previous_slot} serves {share:g} %, not {pct} %")
    require(
        version.get("release") == target.previous_release,
        f"it runs {version.get('release')}, not {target.previous_release}",
    )


@then("the new slot no longer runs the release under deployment")
def new_slot_reverted(target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """The new slot's /version no longer names the release (or the slot is stopped)."""
    import requests  # noqa: PLC0415

    url = target.endpoints.slot(target.new_slot)
    try:
        version = http.get(f"{url}/version", timeout=10).json()
    except requests.ConnectionError:
        evidence.data("new slot", {"state": "not answering (stopped)"})
        return
    evidence.data("new slot", version)
    require(version.get("release") != target.release, f"slot {target.new_slot} still runs {target.release}")


@then("the flag store holds the configuration from before the deployment")
def flags_restored(rollback: Rollback, target: Any, ssm: Any, evidence: EvidenceRecorder) -> None:
    """Every flag equals the journal's flags_snapshot taken before the deployment."""
    snapshots = [r for r in rollback.before if r.action == "flags_snapshot"]
    require(snapshots, "the journal holds no flags_snapshot of the configuration before the deployment")
    before = {flag: truthy(value) for flag, value in dict(snapshots[0].data.get("values", {})).items()}
    store = store_flags(ssm, target)
    evidence.data("flags", {"before_deployment": before, "now": store.values})
    differ = [flag for flag in FLAGS if before.get(flag, False) != store.values.get(flag)]
    require(
        store.healthy and not differ, f"flags differ from before the deployment: {differ} ({store.detail})"
    )


@then("every component of the serving slot is healthy")
def serving_slot_healthy(target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """/health of every serving slot: every component healthy."""
    for slot in serving_slots(http, target):
        weighted_out = slot == target.new_slot and target.endpoints.traffic_admin
        if weighted_out and read_weights(http, target.endpoints.traffic_admin).of(slot) == 0:
            continue  # the reverted new slot gets no traffic; serving_slots always lists it
        health = http.get(f"{target.endpoints.slot(slot)}/health", timeout=15).json()
        evidence.data(f"/health of {slot}", health)
        bad = {n: c.get("detail") for n, c in health.get("components", {}).items() if not c.get("healthy")}
        require(health.get("components") and not bad, f"unhealthy components on {slot}: {bad}")


@then(
    parsers.parse(
        "operations of every type are answered with an error rate of at most {pct:g} percent "
        "over at least {min_requests:d} requests"
    )
)
def every_type_answered(
    pct: float, min_requests: int, rollback: Rollback, target: Any, http: Any, evidence: EvidenceRecorder
) -> None:
    """Customer traffic of every type for one monitoring period; each type answered, errors within bound."""
    span = _stability_span(target, http, f"validation-{rollback.tier}")
    evidence.data("validation traffic", dict(span.raw))
    kinds = set(span.latency)
    missing = [
        op
        for op in OPERATION_TYPES
        if op not in kinds and not (op in {"routine", "generation"} and "cached" in kinds)
    ]
    require(not span.traffic_error, f"no traffic measured: {span.traffic_error}")
    require(not missing, f"no answer measured for {missing}")
    evidence.gate(
        gates.error_rate_over_span(
            span,
            threshold_pct=pct,
            min_requests=min_requests,
            name=f"error-rate-after-{rollback.tier}-rollback",
        )
    )
