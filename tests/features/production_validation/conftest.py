"""Steps of features/production_validation.feature (phase 6): customer traffic through the load balancer.

Phase 6 runs with all five flags on; every operation here is customer traffic (no verification
header) and is recorded, so the audit scenario can find each one in the trail of the slot that
served it.
"""

# ruff: noqa: PLR0917 - pytest-bdd passes fixtures to steps as positional parameters

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from bedrock_release.gates.histogram import from_exact
from bedrock_release.gates.slo import error_rate_trailing_window_gate
from bedrock_release.suite.admin_apis import EmulatorAdmin, ServiceAdmin
from bedrock_release.suite.checks import EU_BEDROCK_REGIONS, PII_PROBE, require, unique_query
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.measurement import MeasuredSpan, scrape_or_error
from bedrock_release.suite.operations import OPERATION_TYPES, OperationReply, Sender
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
def bedrock_cursor(emulator_admin: EmulatorAdmin) -> int:
    """Where the emulator's request log stood before the scenario."""
    return emulator_admin.last_seq()


@when(
    parsers.parse(
        "{emergency:d} emergency and {critical:d} critical operations are sent through the load balancer"
    ),
    target_fixture="replies",
)
def priority_operations(
    emergency: int, critical: int, sender: Sender, bedrock_cursor: int, evidence: EvidenceRecorder
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


@then(parsers.parse("Bedrock received all {count:d} in an EU region"))
def bedrock_received_in_eu(
    count: int,
    replies: list[OperationReply],
    emulator_admin: EmulatorAdmin,
    bedrock_cursor: int,
    evidence: EvidenceRecorder,
) -> None:
    """The emulator's log holds each operation's call, answered, signed for an EU region."""
    _, received = emulator_admin.requests_after(bedrock_cursor)
    markers = [str(r.request["query"]).rsplit("[check ", 1)[1].rstrip("]") for r in replies]
    found = {m: [q for q in received if m in str(q.get("body"))] for m in markers}
    evidence.data("received by Bedrock", {"requests": received, "markers": markers})
    missing = [m for m, calls in found.items() if not any(c.get("status") == 200 for c in calls)]
    require(
        not missing, f"{len(missing)} of {count} operations never reached Bedrock successfully: {missing[:5]}"
    )
    regions = {c.get("region") for calls in found.values() for c in calls}
    outside = sorted(str(r) for r in regions if r not in EU_BEDROCK_REGIONS)
    require(not outside, f"Bedrock was called in regions outside the EU allow-list: {outside}")


# --- MCP Fallback Testing ----------------------------------------------------------------------


@pytest.fixture
def injected_faults(
    emulator_admin: EmulatorAdmin, target: Any, http: Any, support_token: str
) -> Iterator[list[str]]:
    """Fault rules this scenario injected; removed afterwards, and circuits it opened reset."""
    added: list[str] = []
    yield added
    for rule_id in added:
        emulator_admin.remove_fault(rule_id)
    if added:
        for slot in serving_slots(http, target):
            url = target.endpoints.slot(slot)
            if url:
                ServiceAdmin(http, url, support_token).reset_circuit("bedrock")


@given("Bedrock answers every request with ServiceUnavailable")
def bedrock_unavailable(
    emulator_admin: EmulatorAdmin, injected_faults: list[str], evidence: EvidenceRecorder
) -> None:
    """Every model call fails at Bedrock (the emulator) with ServiceUnavailable."""
    injected_faults.extend(
        emulator_admin.add_fault({"kind": "error", "error": "service_unavailable", "rate": 1.0})
    )
    evidence.data("emulator faults", emulator_admin.faults())


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


@when("Bedrock recovers", target_fixture="recovered_at")
def bedrock_recovers(emulator_admin: EmulatorAdmin, injected_faults: list[str]) -> float:
    """The injected fault is removed."""
    while injected_faults:
        emulator_admin.remove_fault(injected_faults.pop())
    return time.monotonic()


@then("emergency operations are answered through route direct again within the circuit reset time")
def direct_again(
    recovered_at: float,
    sender: Sender,
    target: Any,
    http: Any,
    support_token: str,
    evidence: EvidenceRecorder,
) -> None:
    """Within the circuit's reset timeout (read from the service) emergency operations go direct again."""
    url = target.endpoints.slot(target.new_slot)
    if url is None:
        inconclusive("circuit reset time", f"slot {target.new_slot} is not reachable")
    circuit = ServiceAdmin(http, url, support_token).circuits()["bedrock"]
    limit = float(circuit["reset_timeout_s"])
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


@pytest.fixture
def received_cursors(emulator_admin: EmulatorAdmin, mcp_admin: Any) -> dict[str, int]:
    """Where the emulator's and the MCP server's request logs stood before the scenario."""
    return {"bedrock": emulator_admin.last_seq(), "mcp": mcp_admin.last_seq()}


@when(
    "operations of every type containing personal data are sent through the load balancer",
    target_fixture="pii_replies",
)
def pii_operations(
    sender: Sender, received_cursors: dict[str, int], evidence: EvidenceRecorder
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


@then("neither Bedrock nor the MCP server received any of the personal data")
def models_received_no_pii(
    emulator_admin: EmulatorAdmin,
    mcp_admin: Any,
    received_cursors: dict[str, int],
    evidence: EvidenceRecorder,
) -> None:
    """The request logs of Bedrock (emulator) and of the MCP server hold no form of the planted data."""
    _, bedrock = emulator_admin.requests_after(received_cursors["bedrock"])
    _, tools = mcp_admin.requests_after(received_cursors["mcp"])
    evidence.data("received by Bedrock and MCP", {"bedrock": bedrock, "mcp": tools})
    require(bedrock, "Bedrock received nothing: the operations did not travel the direct path")
    require(tools, "the MCP server received nothing: the operations did not travel the MCP path")
    leaked = PII_PROBE.found_in([bedrock, tools])
    require(not leaked, f"personal data reached Bedrock or the MCP server: {leaked}")


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
    sender: Sender,
    violations_before: dict[str, int],
    emulator_admin: EmulatorAdmin,
    evidence: EvidenceRecorder,
) -> dict[str, Any]:
    """An emergency (which would go direct) from a customer in us-east-1."""
    cursor = emulator_admin.last_seq()
    reply = sender.customer("emergency", unique_query("Residency validation"), customer_region="us-east-1")
    evidence.data("operation", reply.to_dict())
    return {"reply": reply, "cursor": cursor}


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


@then("Bedrock received nothing of it")
def bedrock_received_nothing(residency_reply: dict[str, Any], emulator_admin: EmulatorAdmin) -> None:
    """No model call carries the operation's marker."""
    marker = str(residency_reply["reply"].request["query"]).rsplit("[check ", 1)[1].rstrip("]")
    _, received = emulator_admin.requests_after(residency_reply["cursor"])
    require(
        not [r for r in received if marker in str(r.get("body"))], "Bedrock received the refused operation"
    )


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
    """Every @validation scenario of this feature ran in this session and passed."""
    from bedrock_release.suite.gates import require_all_passed  # noqa: PLC0415

    mine = str(request.node.path)
    found = {
        nodeid.split("::", 1)[1]: {"verdict": "pass" if outcome == "passed" else (outcome or "not run")}
        for nodeid, (path, tags, outcome) in scenario_outcomes.items()
        if path == mine and "validation" in tags
    }
    if not found:
        inconclusive("decision-point-3", "no validation scenario of phase 6 ran in this session")
    required = sorted(found)
    evaluated = {name: v for name, v in found.items() if v["verdict"] != "not run"}
    evidence.gate(
        require_all_passed(
            "decision-point-3-validations", required, evaluated, source="this session's phase 6 scenarios"
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
