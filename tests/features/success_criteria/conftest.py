"""Steps of features/success_criteria.feature: the plan's success metrics and the post-deployment watch.

What software cannot measure (the @manual metrics) is inconclusive, never passed.
"""

# ruff: noqa: PLR0917 - pytest-bdd passes fixtures to steps as positional parameters

from __future__ import annotations

import json
import math
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from bedrock_release import monitoring as mon
from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window
from bedrock_release.load.results import load_results
from bedrock_release.load.runner import monitoring_plan
from bedrock_release.plan import FLAG_MONITORING_S, ROLLING_WINDOW_S
from bedrock_release.suite.admin_apis import ServiceAdmin
from bedrock_release.suite.audit_trails import audits_of
from bedrock_release.suite.checks import EU_BEDROCK_REGIONS, PII_PROBE, check_marker, require, unique_query
from bedrock_release.suite.compliance_record import review_violations, scan_for_pii
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.invocation_logs import InvocationLogError
from bedrock_release.suite.journal import parse_ts
from bedrock_release.suite.measurement import measure_load, scrape_or_error
from bedrock_release.suite.operations import OperationReply, Sender
from bedrock_release.suite.service_audit import ServiceAuditError, read_service_audit
from bedrock_release.suite.slo_spec import load_slo_specs
from bedrock_release.suite.traffic import serving_slots
from bedrock_release.suite.watch import Evaluation, customer_windows, watch_windows

_DATA = Path(__file__).parent / "data"
_FEATURES = Path(__file__).resolve().parents[3] / "features"


def _above(name: str, good: int, total: int, pct: float, source: str, raw: dict[str, Any]) -> GateResult:
    """A share strictly above pct percent, as a count: at least floor(total * pct / 100) + 1 of total."""
    needed = math.floor(total * pct / 100) + 1
    verdict = Verdict.INCONCLUSIVE if total == 0 else (Verdict.PASS if good >= needed else Verdict.FAIL)
    return GateResult(
        name=name,
        verdict=verdict,
        value=float(good),
        threshold=float(needed),
        unit="cases",
        comparison=Comparison.AT_LEAST,
        samples=total,
        min_samples=1,
        window=Window(f"{total} labelled cases", None),
        source=source,
        reasons=(
            f"{100.0 * good / total if total else 0:.1f} % of {total}; "
            f"more than {pct:g} % means at least {needed}",
        ),
        raw=raw,
    )


def _deployed_at(journal: Any, target: Any) -> datetime | None:
    """When the new slot got the release (the journal's slot_release_set), else the run's start."""
    if journal is None:
        return None
    try:
        records = journal.records()
    except Exception:
        return None
    sets = [r for r in records if r.action == "slot_release_set" and r.data.get("slot") == target.new_slot]
    starts = [r for r in records if r.action == "run_started"]
    chosen = sets[-1] if sets else (starts[0] if starts else None)
    return parse_ts(chosen.ts) if chosen else None


# --- the watch ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def watch(target: Any, http: Any) -> tuple[Evaluation, ...]:
    """The post-deployment watch, run once per session: one evaluation per 5-minute window (scaled).

    The suite's watch (suite.watch, the pipeline's too): customer traffic per window with the error-rate
    and latency gates watched live, every SLO gate evaluated per window, stopping at the first breach.
    """
    specs = load_slo_specs(_FEATURES / "slo_gates.feature")
    window_s = target.scaled(ROLLING_WINDOW_S)
    try:
        measure = customer_windows(http, target, specs)
    except ValueError as exc:
        inconclusive("post-deployment watch", str(exc))
    planned = max(1, math.ceil(target.scaled(2 * 3600) / window_s - 1e-9))
    return watch_windows(measure, specs, planned=planned, window_s=window_s)


@given("the post-deployment watch of the release", target_fixture="watch_evaluations")
def post_deployment_watch(
    watch: tuple[Evaluation, ...], evidence: EvidenceRecorder
) -> tuple[Evaluation, ...]:
    """Customer traffic for the plan's two hours, each 5-minute window evaluated against the SLO gates."""
    evidence.data("watch evaluations", [e.to_dict() for e in watch])
    if not watch:
        inconclusive("post-deployment watch", "no window was evaluated")
    return watch


@then(parsers.parse("the watch covered {hours:d} hours at the run's time scale"))
def watch_covered(
    hours: int, watch_evaluations: tuple[Evaluation, ...], target: Any, evidence: EvidenceRecorder
) -> None:
    """The windows of the watch together measured the scaled watch period."""
    required = target.scaled(hours * 3600)
    covered = sum(e.measured_s or 0.0 for e in watch_evaluations)
    enough = covered + 0.25 * len(watch_evaluations) >= required
    evidence.gate(
        GateResult(
            name="post-deployment-watch-coverage",
            verdict=Verdict.PASS if enough else Verdict.INCONCLUSIVE,
            value=covered,
            threshold=required,
            unit="s",
            comparison=Comparison.AT_LEAST,
            samples=len(watch_evaluations),
            min_samples=1,
            window=Window(f"{hours} h at time scale {target.time_scale:g}", required),
            source=f"locust results of {len(watch_evaluations)} watch windows under {target.results_dir}",
            reasons=() if enough else ("the watch was shorter than required",),
        )
    )


@then("every evaluation of the SLO gates during the watch passed")
def every_watch_evaluation_passed(
    watch_evaluations: tuple[Evaluation, ...], evidence: EvidenceRecorder
) -> None:
    """Every gate of every window passed (too few samples in a window is inconclusive)."""
    require(watch_evaluations, "the watch has no evaluated window")
    evidence.gates(gate for window in watch_evaluations for gate in window.gates)


# --- zero critical errors / compliance -----------------------------------------------------------


def _violations(target: Any, http: Any, token: str, moment: datetime | None) -> tuple[Any, dict[str, Any]]:
    slots = serving_slots(http, target)
    audits = audits_of(http, target, token, slots)
    listed, total = [], 0
    for slot in slots:
        body = ServiceAdmin(http, target.endpoints.slot(slot), token).violations()
        listed += body.get("violations", [])
        total += sum(int(v) for v in body.get("by_rule", {}).values())
    operations = {k: v for a in audits.values() for k, v in a.operations().items()}
    return review_violations(listed, total, operations, moment), audits


@then("no compliance violation, PII leak or critical error was recorded since the deployment")
def no_incident(target: Any, http: Any, support_token: str, journal: Any, evidence: EvidenceRecorder) -> None:
    """Violations beyond the suite's own probes (PII leaks included) and HTTP 5xx answers since deployment."""
    moment = _deployed_at(journal, target)
    review, audits = _violations(target, http, support_token, moment)
    errors = [
        {
            "slot": slot,
            "operation_id": r.data.get("operation_id"),
            "status": r.data.get("status"),
            "error": r.data.get("error"),
        }
        for slot, audit in audits.items()
        for r in audit.records
        if r.action == "support.operation"
        and int(r.data.get("status", 200)) >= 500
        and (moment is None or parse_ts(r.ts) >= moment)
    ]
    evidence.data(
        "incidents", {"since": str(moment), "violations": review.to_dict(), "critical_errors": errors}
    )
    if review.unseen:
        inconclusive(
            "incidents", f"{review.unseen} violations are counted but no longer listed by the service"
        )
    require(not review.others, f"compliance violations since the deployment: {list(review.others)}")
    require(not errors, f"{len(errors)} operations failed with HTTP 5xx since the deployment: {errors[:5]}")


# --- routing efficiency ------------------------------------------------------------------------


@when("the labelled routing set is sent through the load balancer", target_fixture="labelled_replies")
def labelled_routing(
    sender: Sender, evidence: EvidenceRecorder
) -> list[tuple[dict[str, Any], OperationReply]]:
    """Each labelled operation as customer traffic; a repeat sends the same query as its original."""
    cases = json.loads((_DATA / "labelled_routing.json").read_text())["cases"]
    markers: dict[int, str] = {}
    out = []
    for index, case in enumerate(cases):
        marker = markers.get(case["repeat_of"]) if "repeat_of" in case else check_marker()
        markers[index] = str(marker)
        reply = sender.customer(
            case["type"], f"{case['query']} [check {marker}]", customer_region=case["customer_region"]
        )
        out.append((case, reply))
    evidence.data("labelled routing", [{"label": c, "reply": r.to_dict()} for c, r in out])
    return out


@then(parsers.parse("the share of routing decisions equal to the optimal decision is above {pct:g} percent"))
def routing_efficiency(
    pct: float, labelled_replies: list[tuple[dict[str, Any], OperationReply]], evidence: EvidenceRecorder
) -> None:
    """Route and reason of each answer against its label (docs/routing-matrix.md)."""
    good = sum(
        1 for case, r in labelled_replies if r.ok and (r.route, r.reason) == (case["route"], case["reason"])
    )
    wrong = [
        f"{c['type']}/{c['customer_region']}: {r.route} ({r.reason}), optimal {c['route']} ({c['reason']})"
        for c, r in labelled_replies
        if (r.route, r.reason) != (c["route"], c["reason"])
    ]
    evidence.gate(
        _above(
            "routing-efficiency",
            good,
            len(labelled_replies),
            pct,
            "labelled routing set, answers through the load balancer",
            {"wrong": wrong},
        )
    )


# --- latency against the MCP-only baseline -----------------------------------------------------


@given(
    "the same load run against the MCP-only baseline and against the hybrid release",
    target_fixture="latency_comparison",
)
def baseline_and_hybrid(target: Any, http: Any, evidence: EvidenceRecorder) -> dict[str, Any]:
    """The MCP-only baseline is the phase 5 window after the first flag (support mode still off);
    the same load (customer traffic, same plan) runs now against the hybrid release."""
    folder = target.results_dir / "load"
    baselines = (
        sorted(folder.glob("flag-window-enable-hybrid-health-monitoring-*.json")) if folder.is_dir() else []
    )
    if not baselines:
        inconclusive(
            "latency baseline", f"no MCP-only baseline load in {folder} (the first flag window of phase 5)"
        )
    baseline = load_results(baselines[0])
    plan = monitoring_plan(
        target.endpoints.traffic,
        target.time_scale,
        target.results_dir,
        purpose="hybrid-latency",
        duration_s=target.scaled(FLAG_MONITORING_S),
        workers=target.load_workers,
    )
    span = measure_load(http, target, plan, admin_token=None)
    if span.traffic_error:
        inconclusive("hybrid load", span.traffic_error)
    hybrid = load_results(plan.results_path)
    evidence.data("loads", {"baseline": baseline.summary(), "hybrid": hybrid.summary()})
    return {"baseline": baseline, "hybrid": hybrid}


def _mean_ms(results: Any) -> tuple[float, float, int]:
    """The mean response time lies between the means of the buckets' lower and upper bounds."""
    buckets = [b for kind in results.kinds.values() for b in kind.histogram().buckets]
    count = sum(b.count for b in buckets)
    if not count or any(math.isinf(b.upper) for b in buckets):
        return math.nan, math.nan, count
    low = sum(b.lower * b.count for b in buckets) / count
    high = sum(b.upper * b.count for b in buckets) / count
    return low, high, count


@then(
    parsers.parse(
        "the mean latency of support operations is more than {pct:g} percent lower with hybrid routing"
    )
)
def latency_reduced(pct: float, latency_comparison: dict[str, Any], evidence: EvidenceRecorder) -> None:
    """(baseline mean - hybrid mean) / baseline mean, strictly more than pct percent.

    Each mean is known to lie within its buckets' bounds: the reduction taken is the least it can be
    (the baseline at its lowest, the hybrid at its highest).
    """
    base, _, base_n = _mean_ms(latency_comparison["baseline"])
    _, hyb, hyb_n = _mean_ms(latency_comparison["hybrid"])
    if not base_n or not hyb_n or math.isnan(base) or math.isnan(hyb) or base <= 0:
        inconclusive("latency reduction", f"baseline {base_n} and hybrid {hyb_n} samples with finite bounds")
    reduction = 100.0 * (base - hyb) / base
    evidence.gate(
        GateResult(
            name="support-latency-reduction",
            verdict=Verdict.PASS if reduction > pct else Verdict.FAIL,
            value=reduction,
            threshold=pct,
            unit="percent",
            comparison=Comparison.AT_LEAST,
            samples=min(base_n, hyb_n),
            min_samples=1,
            window=Window("one monitoring period of customer traffic each", None),
            source=(
                f"locust results {latency_comparison['baseline'].path} (MCP-only) and "
                f"{latency_comparison['hybrid'].path} (hybrid)"
            ),
            reasons=(
                f"mean at least {base:.1f} ms MCP-only, at most {hyb:.1f} ms hybrid; "
                f"must be more than {pct:g} % lower",
            ),
        )
    )


# --- implementation gap detection ----------------------------------------------------------------

_DIAGNOSIS = re.compile(r"Likely gap: ([a-z_]+)")


@when("the labelled support cases are sent through the support API", target_fixture="gap_replies")
def labelled_support_cases(
    sender: Sender, evidence: EvidenceRecorder
) -> list[tuple[dict[str, Any], OperationReply]]:
    """Each case as a generation operation (an implementation-gap analysis)."""
    cases = json.loads((_DATA / "labelled_support_cases.json").read_text())["cases"]
    out = [(c, sender.customer("generation", unique_query(c["description"]))) for c in cases]
    evidence.data("support cases", [{"label": c, "reply": r.to_dict()} for c, r in out])
    return out


@then(
    parsers.parse(
        "the share of cases whose implementation gap is detected correctly is above {pct:g} percent"
    )
)
def gap_detection(
    pct: float, gap_replies: list[tuple[dict[str, Any], OperationReply]], evidence: EvidenceRecorder
) -> None:
    """Detected = the answer's diagnosis names the case's category; an answer without one cannot be judged."""
    judged = [(c, _DIAGNOSIS.search(str(r.body.get("answer", "")))) for c, r in gap_replies]
    undiagnosed = [c["description"][:40] for c, m in judged if m is None]
    if undiagnosed:
        routes = sorted({f"{r.route} ({r.reason})" for _, r in gap_replies})
        inconclusive(
            "gap-detection-accuracy",
            f"{len(undiagnosed)} of {len(judged)} answers carry no machine-readable diagnosis "
            f"(routes {routes}); "
            "an answer that names no gap category cannot be judged",
        )
    good = sum(1 for c, m in judged if m and m.group(1) == c["category"])
    evidence.gate(
        _above(
            "gap-detection-accuracy",
            good,
            len(judged),
            pct,
            "labelled support cases through the support API",
            {"detected": [(c["category"], m.group(1) if m else None) for c, m in judged]},
        )
    )


# --- cost --------------------------------------------------------------------------------------


@pytest.fixture
def cost_by_route(target: Any, http: Any) -> dict[str, dict[str, float]]:
    """Cost and answered operations per route, summed over the serving slots (since they started)."""
    scrapes, error = scrape_or_error(http, target, serving_slots(http, target))
    if scrapes is None:
        inconclusive("cost per route", str(error))
    out = {}
    for route in ("direct", "mcp", "cache"):
        cost = scrapes.total("support_cost_usd_total", route=route)
        ops = scrapes.total("support_requests_total", route=route, status="ok")
        out[route] = {"cost_usd": cost, "operations": ops, "per_operation_usd": cost / ops if ops else None}
    return out


@then("the cost per operation by route is reported")
def cost_reported(cost_by_route: dict[str, dict[str, float]], evidence: EvidenceRecorder) -> None:
    """The table of cost per operation for each route."""
    evidence.data("cost per operation by route", cost_by_route)
    require(
        any(v["operations"] for v in cost_by_route.values()), "no answered operation to report a cost for"
    )


@then("the cost per operation with intelligent routing is lower than sending every operation direct")
def cost_lower_than_all_direct(
    cost_by_route: dict[str, dict[str, float]], evidence: EvidenceRecorder
) -> None:
    """Actual cost per operation against the direct route's cost per operation applied to every operation."""
    direct = cost_by_route["direct"]["per_operation_usd"]
    ops = sum(v["operations"] for v in cost_by_route.values())
    if direct is None or not ops:
        inconclusive("cost optimisation", "no direct operation was answered: the all-direct cost is unknown")
    actual = sum(v["cost_usd"] for v in cost_by_route.values()) / ops
    evidence.gate(
        GateResult(
            name="cost-per-operation",
            verdict=Verdict.PASS if actual < direct else Verdict.FAIL,
            value=actual,
            threshold=direct,
            unit="USD per operation",
            comparison=Comparison.AT_MOST,
            samples=int(ops),
            min_samples=1,
            window=Window("since the serving slots started", None),
            source="Prometheus support_cost_usd_total and support_requests_total by route",
            reasons=("must be lower than the all-direct cost per operation",),
            raw=cost_by_route,
        )
    )


# --- monitoring and compliance -----------------------------------------------------------------


@then("every alarm of the release exists and evaluates from the published metrics")
def alarms_operational(monitoring: Any, target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """verify_alarms: every alarm exists and notifies; evaluate_alarms: each evaluates to OK."""
    config, clients = monitoring
    checks = mon.verify_alarms(clients, config)
    evidence.data("alarms", [c.to_dict() for c in checks])
    broken = [c.message() for c in checks if not c.ok]
    require(checks and not broken, f"alarms not operational: {broken}")
    urls = tuple(u for u in (target.endpoints.slot(s) for s in serving_slots(http, target)) if u)
    ended = mon.validation_ended_at(target.journal) if target.journal else None
    prometheus = mon.PrometheusSource(urls=urls)
    evidence.gates(
        e.to_gate() for e in mon.evaluate_alarms(clients, config, prometheus=prometheus, probes_ended=ended)
    )


def _since_deployment(journal: Any, target: Any) -> datetime:
    moment = _deployed_at(journal, target)
    if moment is None:
        inconclusive("since the deployment", "the journal does not say when the new slot got the release")
    return moment


@then("no personal data reached Bedrock or the MCP server since the deployment")
def no_pii_since_deployment(
    invocation_logs: Any,
    target: Any,
    http: Any,
    support_token: str,
    journal: Any,
    evidence: EvidenceRecorder,
) -> None:
    """Scan every request Bedrock logged and every MCP tool call the serving hosts audited since then."""
    moment = _since_deployment(journal, target)
    try:
        log = invocation_logs.read(moment)
        retention = invocation_logs.retention_days()
        audit = read_service_audit(
            http, target, support_token, serving_slots(http, target), actions={"mcp.tool_call"}, since=moment
        )
    except (InvocationLogError, ServiceAuditError) as exc:
        inconclusive("PII scan", str(exc))
    if retention is not None and datetime.now(UTC) - moment > timedelta(days=retention):
        inconclusive("PII scan", f"{log.group} keeps {retention} days: it no longer reaches back to {moment}")
    received = [i.input_body for i in log.invocations]
    received += [r.data.get("arguments") for r in audit.of("mcp.tool_call")]
    scan = scan_for_pii(received)
    planted = PII_PROBE.found_in(received)
    evidence.data(
        "PII scan",
        {
            "since": str(moment),
            "sources": [log.source, audit.source],
            "invocations": len(log.invocations),
            "tool_calls": len(audit.of("mcp.tool_call")),
            "findings": list(scan.findings),
            "planted": planted,
        },
    )
    require(received, "nothing was sent to Bedrock or the MCP tier since the deployment")
    require(
        not scan.findings and not planted,
        f"personal data reached Bedrock or MCP: {list(scan.findings)[:5]} {planted}",
    )


@then("every support operation since the deployment is in an audit trail that verifies")
def every_operation_audited(target: Any, http: Any, support_token: str, evidence: EvidenceRecorder) -> None:
    """Per serving slot: the chain verifies and holds one record per operation the slot counted."""
    slots = serving_slots(http, target)
    audits = audits_of(http, target, support_token, slots)
    scrapes, error = scrape_or_error(http, target, slots)
    if scrapes is None:
        inconclusive("audit completeness", str(error))
    counts = {}
    for slot, audit in audits.items():
        recorded = sum(1 for r in audit.records if r.action == "support.operation")
        counted = scrapes.by_slot[slot].total("support_requests_total")
        counts[slot] = {"audited": recorded, "counted": counted, "chain": audit.summary()}
    evidence.data("audit completeness", counts)
    broken = [slot for slot, a in audits.items() if not a.verdict.ok]
    require(not broken, f"audit chains do not verify on {broken}")
    missing = {slot: c for slot, c in counts.items() if c["audited"] < c["counted"]}
    require(not missing, f"operations counted but not audited: {missing}")


@then("every direct Bedrock call since the deployment went to an EU region")
def direct_calls_in_eu(
    invocation_logs: Any,
    target: Any,
    http: Any,
    support_token: str,
    journal: Any,
    evidence: EvidenceRecorder,
) -> None:
    """Every record in Bedrock's invocation logs is in an EU region, and every operation answered direct
    (the serving hosts' audit) has its record there: a call made elsewhere would be missing from them."""
    moment = _since_deployment(journal, target)
    try:
        log = invocation_logs.read(moment)
        audit = read_service_audit(
            http,
            target,
            support_token,
            serving_slots(http, target),
            actions={"support.operation"},
            since=moment,
        )
    except (InvocationLogError, ServiceAuditError) as exc:
        inconclusive("EU residency", str(exc))
    regions: dict[str, int] = {}
    for call in log.invocations:
        regions[call.region] = regions.get(call.region, 0) + 1
    logged = Counter(text for call in log.invocations if call.ok for text in call.user_texts())
    direct = Counter(
        str(r.data.get("query_redacted"))
        for r in audit.of("support.operation")
        if r.data.get("route") == "direct" and r.data.get("status") == 200
    )
    unlogged = direct - logged
    evidence.data(
        "Bedrock regions",
        {
            "since": str(moment),
            "sources": [log.source, audit.source],
            "regions": regions,
            "direct_operations": sum(direct.values()),
            "not_in_the_invocation_logs": sum(unlogged.values()),
            "examples": list(unlogged)[:5],
        },
    )
    require(log.invocations, "Bedrock logged no call since the deployment")
    outside = {r: n for r, n in regions.items() if r not in EU_BEDROCK_REGIONS}
    require(not outside, f"direct Bedrock calls outside the EU: {outside}")
    require(
        not unlogged,
        f"{sum(unlogged.values())} of {sum(direct.values())} operations answered direct are not in the "
        f"invocation logs of {log.group} ({log.region}): {list(unlogged)[:3]}",
    )


@then("no compliance violation was recorded since the deployment")
def no_violation(
    target: Any, http: Any, support_token: str, journal: Any, evidence: EvidenceRecorder
) -> None:
    """Violations since the deployment other than the suite's deliberate probes."""
    review, _ = _violations(target, http, support_token, _deployed_at(journal, target))
    evidence.data("violations", review.to_dict())
    if review.unseen:
        inconclusive(
            "violations", f"{review.unseen} violations are counted but no longer listed by the service"
        )
    require(not review.others, f"compliance violations since the deployment: {list(review.others)}")


# --- manual ------------------------------------------------------------------------------------


@then(parsers.parse("the operations team's attested troubleshooting-time reduction is above {pct:g} percent"))
def troubleshooting_attested(pct: float) -> None:
    """Only people can attest this; software never passes it."""
    inconclusive(
        "troubleshooting-time reduction",
        f"a reduction above {pct:g} % must be attested by the operations team; no attestation is recorded",
    )


@then(
    parsers.parse(
        "the incident log attested by the on-call team records {count:d} customer-impacting incidents"
    )
)
def incidents_attested(count: int) -> None:
    """Only people can attest this; software never passes it."""
    inconclusive(
        "customer-impacting incidents",
        f"{count} customer-impacting incidents must be attested by the on-call team; "
        "no attestation is recorded",
    )
