"""Steps of features/production_validation.feature (phase 6): customer traffic through the load balancer.

Phase 6 runs with all five flags on; every operation here is customer traffic (no verification
header) and is recorded, so the audit scenario can find each one in the trail of the slot that
served it.
"""

# ruff: noqa: PLR0917 - pytest-bdd passes fixtures to steps as positional parameters

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from bedrock_release.gates.histogram import from_exact
from bedrock_release.gates.slo import error_rate_trailing_window_gate
from bedrock_release.suite.admin_apis import ServiceAdmin
from bedrock_release.suite.checks import EU_BEDROCK_REGIONS, PII_PROBE, require, unique_query
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.invocation_logs import InvocationLogError
from bedrock_release.suite.measurement import MeasuredSpan, scrape_or_error
from bedrock_release.suite.operations import OPERATION_TYPES, OperationReply, Sender
from bedrock_release.suite.outbound import marker_of, read_outbound, require_nothing_leaked
from bedrock_release.suite.prometheus import MetricsError, SlotScrapes
from bedrock_release.suite.traffic import serving_slots


@pytest.fixture(scope="session", autouse=True)
def phase6_baseline(target: Any, http: Any) -> dict[str, Any]:
    """The serving slots' counters when phase 6 began (decision point 3 measures from here)."""
    slots = serving_slots(http, target)
    scrapes, error = scrape_or_error(http, target, slots)
    return {"at": time.time(), "slots": slots, "scrapes": scrapes, "error": error}


# --- Routing Decision Validation ---------------------------------------------------------------


@when(parsers.parse("a {op_type} operation is sent through the load balancer"), target_fixture="reply")
def one_operation(op_type: str, sender: Sender, evidence: EvidenceRecorder) -> OperationReply:
    """One customer operation of a type."""
    reply = sender.customer(op_type, unique_query(f"Production validation ({op_type})"))
    evidence.data("operation", reply.to_dict())
    return reply


@then(parsers.parse('it is answered through route {route} with reason "{reason}"'))
def answered_through(route: str, reason: str, reply: OperationReply) -> None:
    """The answer names the route and the router's reason."""
    require(reply.ok, f"HTTP {reply.status}: {reply.body}")
    require(
        (reply.route, reply.reason) == (route, reason),
        f"answered through {reply.route} ({reply.reason}), expected {route} ({reason})",
    )


# --- Direct Bedrock Operations -----------------------------------------------------------------


@pytest.fixture
def probe_started() -> datetime:
    """When this scenario began sending (its outbound calls are read from here on)."""
    return datetime.now(UTC)


@when(
    parsers.parse(
        "{emergency:d} emergency and {critical:d} critical operations are sent through the load balancer"
    ),
    target_fixture="replies",
)
def priority_operations(
    emergency: int, critical: int, sender: Sender, probe_started: datetime, evidence: EvidenceRecorder
) -> list[OperationReply]:
    """Emergency and critical customer operations, each with a marker to find it at Bedrock."""
    kinds = ["emergency"] * emergency + ["critical"] * critical
    replies = [sender.customer(op, unique_query(f"Priority validation ({op})")) for op in kinds]
    evidence.data("operations", [r.to_dict() for r in replies])
    return replies


@then(parsers.re(r"all (?P<count>\d+) are answered through route (?P<route>\w+)$"), converters={"count": int})
def all_through(count: int, route: str, replies: list[OperationReply]) -> None:
    """Every operation was answered, through the route."""
    require(len(replies) == count, f"{len(replies)} operations were sent, not {count}")
    wrong = [
        f"{r.body.get('type')}: HTTP {r.status} {r.route} ({r.reason})"
        for r in replies
        if not r.ok or r.route != route
    ]
    require(not wrong, f"{len(wrong)} of {count} not answered through {route}: {wrong[:5]}")


@then(parsers.parse("Bedrock logged all {count:d} as answered in an EU region"))
def bedrock_logged_in_eu(
    count: int,
    replies: list[OperationReply],
    probe_started: datetime,
    invocation_logs: Any,
    target: Any,
    http: Any,
    support_token: str,
    evidence: EvidenceRecorder,
) -> None:
    """Each operation's call is in Bedrock's invocation logs, answered, in an EU allow-listed region."""
    review = read_outbound(
        replies,
        since=probe_started,
        invocation_logs=invocation_logs,
        session=http,
        target=target,
        token=support_token,
        slots=serving_slots(http, target),
    )
    evidence.data("logged by Bedrock", review.to_dict())
    require(
        len(review.invocations) == count, f"{len(review.invocations)} operations went direct, not {count}"
    )
    require(
        not review.missing_bedrock,
        f"{len(review.missing_bedrock)} of {count} operations are not in Bedrock's invocation logs as "
        f"answered: {list(review.missing_bedrock)[:5]}",
    )
    regions = {i.region for calls in review.invocations.values() for i in calls}
    outside = sorted(r for r in regions if r not in EU_BEDROCK_REGIONS)
    require(not outside, f"Bedrock was called in regions outside the EU allow-list: {outside}")


# --- MCP Fallback Testing ----------------------------------------------------------------------


@given(
    "the Bedrock client of every serving host fails every call as unavailable (the release's failure switch)"
)
def bedrock_unavailable(failure_switches: Any, target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """Arm the release's own failure switch on every host that serves customers: direct calls fail unsent."""
    try:
        evidence.data(
            "Bedrock failure switch armed", failure_switches.arm(target, serving_slots(http, target))
        )
    except ValueError as exc:
        inconclusive("Bedrock failure switch", str(exc))


@when(
    parsers.parse("{count:d} emergency operations are sent through the load balancer"),
    target_fixture="replies",
)
def emergency_operations(count: int, sender: Sender, evidence: EvidenceRecorder) -> list[OperationReply]:
    """Emergency customer operations while Bedrock fails."""
    replies = [sender.customer("emergency", unique_query("Fallback validation")) for _ in range(count)]
    evidence.data("operations", [r.to_dict() for r in replies])
    return replies


@then(
    parsers.parse(
        'all {count:d} are answered through route mcp, first with reason "{first}" and, once the Bedrock '
        'circuit opened, with reason "{then_reason}"'
    )
)
def fallback_then_circuit(count: int, first: str, then_reason: str, replies: list[OperationReply]) -> None:
    """Failed direct calls fall back to MCP until the circuit opens; then MCP answers without trying."""
    require(len(replies) == count, f"{len(replies)} operations were sent, not {count}")
    reasons = [r.reason for r in replies]
    require(all(r.route == "mcp" for r in replies), f"routes: {[r.route for r in replies]}; all must be mcp")
    require(reasons[0] == first, f"the first operation's reason is {reasons[0]}, not {first}")
    switched = next((i for i, reason in enumerate(reasons) if reason != first), len(reasons))
    require(
        all(reason == then_reason for reason in reasons[switched:]),
        f"reasons {reasons}: after {first} only {then_reason} may follow",
    )
    fell_back = [r for r in replies if r.reason == first]
    require(
        all(r.body.get("fallback", {}).get("from") == "direct" for r in fell_back),
        "a fallback answer does not record the failed direct call",
    )


@then("no customer saw an error")
def no_customer_error(replies: list[OperationReply]) -> None:
    """Every operation was answered with HTTP 200."""
    errors = [f"HTTP {r.status} {r.body.get('error')}" for r in replies if not r.ok]
    require(not errors, f"{len(errors)} customers saw an error: {errors[:5]}")


@when("the failure switch is cleared on every serving host", target_fixture="recovered_at")
def bedrock_recovers(failure_switches: Any, evidence: EvidenceRecorder) -> float:
    """Disarm every switch the scenario armed; the circuits recover by themselves."""
    circuits = failure_switches.circuits()
    evidence.data("Bedrock failure switch cleared", failure_switches.clear())
    evidence.data("Bedrock circuits when cleared", circuits)
    return time.monotonic()


@then("emergency operations are answered through route direct again within the circuit reset time")
def direct_again(
    recovered_at: float, sender: Sender, failure_switches: Any, evidence: EvidenceRecorder
) -> None:
    """Within the circuits' reset timeout (read from every host) emergency operations go direct again."""
    circuit = failure_switches.circuits()
    if not circuit:
        inconclusive("circuit reset time", "no host's Bedrock failure switch was armed")
    limit = max(float(c["reset_timeout_s"]) for c in circuit.values())
    attempts = []
    while True:
        reply = sender.customer("emergency", unique_query("Recovery validation"))
        elapsed = time.monotonic() - recovered_at
        attempts.append(
            {
                "after_s": round(elapsed, 2),
                "route": reply.route,
                "reason": reply.reason,
                "status": reply.status,
            }
        )
        if reply.ok and reply.route == "direct":
            break
        if elapsed > limit + 2.0:
            break
        time.sleep(1.0)
    evidence.data("recovery", {"reset_timeout_s": limit, "circuit_before": circuit, "attempts": attempts})
    last = attempts[-1]
    require(
        last["route"] == "direct" and last["after_s"] <= limit + 2.0,
        f"emergency operations not direct again within the circuit reset time {limit:g} s: {attempts[-3:]}",
    )


# --- Performance Optimization ------------------------------------------------------------------


@given(
    parsers.parse(
        "{count:d} queries are frequent, each asked {times:d} times within the frequent-query window"
    ),
    target_fixture="frequent_queries",
)
def frequent_queries(count: int, times: int, sender: Sender) -> list[str]:
    """Ask fresh queries often enough that the service classes them as frequent (docs/metrics.md)."""
    queries = [unique_query(f"How do I export audit logs for project {n}?") for n in range(count)]
    for _ in range(times):
        for query in queries:
            reply = sender.customer("routine", query)
            require(reply.ok, f"warming a frequent query failed: HTTP {reply.status} {reply.body}")
    return queries


@when(
    parsers.parse("each of the {count:d} frequent queries is sent {times:d} times through the load balancer"),
    target_fixture="measured_span",
)
def frequent_queries_sent(
    count: int, times: int, frequent_queries: list[str], sender: Sender, target: Any, http: Any
) -> MeasuredSpan:
    """Send them again, measure client latency of the cached answers and the cache counters around it."""
    require(len(frequent_queries) == count, f"{len(frequent_queries)} frequent queries, not {count}")
    slots = serving_slots(http, target)
    before, before_error = scrape_or_error(http, target, slots)
    started = time.monotonic()
    cached: list[float] = []
    replies = []
    for _ in range(times):
        for query in frequent_queries:
            reply = sender.customer("routine", query)
            replies.append(reply)
            if reply.ok and reply.route == "cache":
                cached.append(reply.elapsed_ms)
    seconds = time.monotonic() - started
    after, after_error = scrape_or_error(http, target, slots)
    return MeasuredSpan(
        description=f"{len(replies)} frequent-query operations through the load balancer",
        seconds=seconds,
        latency={"cached": from_exact(cached)} if cached else {},
        latency_source="client-measured response times of answers with route cache (ms, decimal-3 buckets)",
        slots=slots,
        before=before,
        after=after,
        metrics_error=before_error or after_error,
        raw={"routes": _count_routes(replies)},
    )


def _count_routes(replies: list[OperationReply]) -> dict[str, int]:
    out: dict[str, int] = {}
    for reply in replies:
        key = f"{reply.status}/{reply.route}"
        out[key] = out.get(key, 0) + 1
    return out


# --- Compliance Validation ---------------------------------------------------------------------


@when(
    "operations of every type containing personal data are sent through the load balancer",
    target_fixture="pii_replies",
)
def pii_operations(
    sender: Sender, probe_started: datetime, evidence: EvidenceRecorder
) -> list[OperationReply]:
    """One customer operation of each type carrying an email, a phone number, an IBAN and a card."""
    replies = [
        sender.customer(op, unique_query(PII_PROBE.text(f"Compliance validation ({op})")))
        for op in OPERATION_TYPES
    ]
    evidence.data("operations", [r.to_dict() for r in replies])
    return replies


@then("no answer contains the personal data")
def no_answer_has_pii(pii_replies: list[OperationReply]) -> None:
    """Every answer is free of every form of the planted data, and names what was redacted."""
    for reply in pii_replies:
        require(reply.ok, f"HTTP {reply.status}: {reply.body}")
        leaked = PII_PROBE.found_in([reply.body])
        require(not leaked, f"the {reply.body.get('type')} answer contains personal data: {leaked}")
        missing = sorted(set(PII_PROBE.kinds()) - set(reply.body.get("redactions", [])))
        require(not missing, f"the {reply.body.get('type')} answer does not report redacting {missing}")


@then(
    "Bedrock's invocation logs and the release's audit of its MCP tool calls hold none of the personal data"
)
def models_received_no_pii(
    pii_replies: list[OperationReply],
    probe_started: datetime,
    invocation_logs: Any,
    target: Any,
    http: Any,
    support_token: str,
    evidence: EvidenceRecorder,
) -> None:
    """Bedrock's invocation logs and every serving host's tool-call audit hold each call, redacted only."""
    require_nothing_leaked(
        pii_replies,
        since=probe_started,
        invocation_logs=invocation_logs,
        session=http,
        target=target,
        token=support_token,
        slots=serving_slots(http, target),
        evidence=evidence,
    )


@pytest.fixture
def violations_before(target: Any, http: Any, support_token: str) -> dict[str, int]:
    """Compliance violations per rule on every serving slot before the residency attempt."""
    return _violation_counts(target, http, support_token)


def _violation_counts(target: Any, http: Any, token: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for slot in serving_slots(http, target):
        url = target.endpoints.slot(slot)
        if url:
            for rule, count in ServiceAdmin(http, url, token).violations().get("by_rule", {}).items():
                totals[rule] = totals.get(rule, 0) + int(count)
    return totals


@when(
    "an emergency operation for a customer outside the EU residency regions is sent "
    "through the load balancer",
    target_fixture="residency_reply",
)
def residency_attempt(
    sender: Sender, violations_before: dict[str, int], probe_started: datetime, evidence: EvidenceRecorder
) -> dict[str, Any]:
    """An emergency (which would go direct) from a customer in us-east-1."""
    reply = sender.customer("emergency", unique_query("Residency validation"), customer_region="us-east-1")
    evidence.data("operation", reply.to_dict())
    return {"reply": reply}


@then(
    parsers.parse(
        "the direct Bedrock call is refused and the operation is answered through route {route} "
        'with reason "{reason}"'
    )
)
def residency_refused(route: str, reason: str, residency_reply: dict[str, Any]) -> None:
    """The router refused the direct path for residency and MCP answered."""
    reply = residency_reply["reply"]
    require(reply.ok, f"HTTP {reply.status}: {reply.body}")
    require(
        (reply.route, reply.reason) == (route, reason), f"answered through {reply.route} ({reply.reason})"
    )


@then("Bedrock logged no call of it once a later direct call is logged")
def bedrock_logged_nothing_of_it(
    residency_reply: dict[str, Any],
    sender: Sender,
    probe_started: datetime,
    invocation_logs: Any,
    evidence: EvidenceRecorder,
) -> None:
    """Absence is read only after a later direct call's record arrived: delivery is asynchronous."""
    later = sender.customer("emergency", unique_query("Residency sentinel"))
    require(
        later.ok and later.route == "direct", f"the later emergency was not answered direct: {later.body}"
    )
    refused, sentinel = marker_of(residency_reply["reply"]), marker_of(later)
    try:
        log = invocation_logs.wait_for([sentinel], probe_started)
    except InvocationLogError as exc:
        inconclusive("Bedrock invocation logs", str(exc))
    evidence.data(
        "invocation logs after the refusal",
        {**log.summary(), "refused": refused, "later": [i.summary() for i in log.with_marker(sentinel)]},
    )
    if not log.with_marker(sentinel):
        inconclusive(
            "Bedrock invocation logs",
            f"the later direct call [check {sentinel}] was not delivered within the delivery timeout",
        )
    calls = log.with_marker(refused)
    require(not calls, f"Bedrock logged the refused operation: {[i.summary() for i in calls]}")


@then("the refusal is recorded as a compliance violation")
def refusal_recorded(
    violations_before: dict[str, int], target: Any, http: Any, support_token: str, evidence: EvidenceRecorder
) -> None:
    """The customer_region violation count of the serving slots went up."""
    after = _violation_counts(target, http, support_token)
    evidence.data("violations", {"before": violations_before, "after": after})
    added = after.get("customer_region", 0) - violations_before.get("customer_region", 0)
    require(
        added >= 1, f"no customer_region violation was recorded (before {violations_before}, after {after})"
    )


# --- Audit Trail Verification ------------------------------------------------------------------


@then("every operation this validation sent is in the audit trail of the slot that served it")
def validation_operations_audited(
    sent_operations: Any, target: Any, http: Any, support_token: str, evidence: EvidenceRecorder
) -> None:
    """Every operation phase 6 sent in this session is recorded, with its route and status."""
    from bedrock_release.suite.audit_trails import operations_missing  # noqa: PLC0415

    replies = sent_operations.of_phase(6)
    if not replies:
        inconclusive("audit completeness", "no validation sent an operation in this session")
    missing, summary = operations_missing(http, target, support_token, replies)
    evidence.data("audit completeness", summary)
    require(
        not missing, f"{len(missing)} of {len(replies)} operations are not in the audit trail: {missing[:5]}"
    )


# --- Decision point 3 --------------------------------------------------------------------------


@then("every validation of this phase passed")
def every_validation_passed(
    request: pytest.FixtureRequest, scenario_outcomes: dict[str, Any], evidence: EvidenceRecorder
) -> None:
    """Every @validation scenario of the feature file, covering the plan's six tests, ran here and passed."""
    from bedrock_release.monitoring.thresholds import tagged_scenarios  # noqa: PLC0415
    from bedrock_release.plan import VALIDATION_TESTS  # noqa: PLC0415
    from bedrock_release.suite.gates import validations_passed  # noqa: PLC0415

    mine = scenario_outcomes[request.node.nodeid][0]  # this scenario's feature file
    outcomes: dict[str, list[str | None]] = {}
    for path, tags, outcome, name in scenario_outcomes.values():
        if path == mine and "validation" in tags and name is not None:
            outcomes.setdefault(name, []).append(outcome)
    evidence.gate(
        validations_passed(
            "decision-point-3-validations",
            VALIDATION_TESTS,
            tagged_scenarios(mine, "validation"),
            outcomes,
            source=f"the @validation scenarios of {mine.rsplit('/', 1)[-1]} and this session's outcomes",
        )
    )


@then(
    parsers.parse(
        "the error rate of customer traffic during this phase is at most {pct:g} percent "
        "over at least {min_requests:d} requests"
    )
)
def phase_error_rate(
    pct: float,
    min_requests: int,
    phase6_baseline: dict[str, Any],
    target: Any,
    http: Any,
    evidence: EvidenceRecorder,
) -> None:
    """support_requests_total (ok vs error) on the serving slots since the phase began."""
    before: SlotScrapes | None = phase6_baseline["scrapes"]
    after, error = scrape_or_error(http, target, phase6_baseline["slots"])
    span = time.time() - phase6_baseline["at"]
    series, source = None, None
    if before is not None and after is not None:
        try:
            ok = after.delta(before, "support_requests_total", status="ok")
            failed = after.delta(before, "support_requests_total", status="error")
            series = [(0.0, 0, 0), (span, int(ok + failed), int(failed))]
            source = f"Prometheus support_requests_total deltas since phase 6 began, {after.sources}"
        except MetricsError as exc:
            error = str(exc)
    result = error_rate_trailing_window_gate(
        "error-rate-phase6",
        series,
        threshold_pct=pct,
        window_s=max(span, 1e-3),
        source=source,
        min_requests=min_requests,
    )
    if error or phase6_baseline["error"]:
        import dataclasses  # noqa: PLC0415

        result = dataclasses.replace(
            result, reasons=(*result.reasons, f"metrics: {error or phase6_baseline['error']}")
        )
    evidence.gate(result)
