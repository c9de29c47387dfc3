"""Steps of features/health_checks.feature (phase 4): the plan's seven health checks, done for real."""

# ruff: noqa: PLR0917 - pytest-bdd passes fixtures to steps as positional parameters

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_bdd import parsers, then, when

from bedrock_release.suite.admin_apis import ServiceAdmin
from bedrock_release.suite.checks import EU_BEDROCK_REGIONS, PII_PROBE, require, unique_query
from bedrock_release.suite.clients import aws_client
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.operations import OPERATION_TYPES, OperationReply, Sender
from bedrock_release.suite.outbound import require_nothing_leaked

_UNKNOWN_KEY = "AKIAUNKNOWNCHECK0001"
_REFUSALS = {"AccessDeniedException", "UnrecognizedClientException"}  # AWS names an unknown key so


def _converse(client: Any, model_id: str, text: str) -> dict[str, Any]:
    return dict(client.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": text}]}]))


# --- Direct Bedrock Connection -----------------------------------------------------------------


@when("a Converse request is sent to Bedrock with the release's credentials", target_fixture="converse_reply")
def converse_with_release_credentials(
    bedrock_runtime: Any, target: Any, evidence: EvidenceRecorder
) -> dict[str, Any]:
    """A real Converse call with the credentials the release uses."""
    started = time.perf_counter()
    reply = _converse(bedrock_runtime, target.bedrock_model_id, unique_query("Health check: say hello"))
    reply.pop("ResponseMetadata", None)
    evidence.data("Converse reply", {"elapsed_ms": round((time.perf_counter() - started) * 1000, 1), **reply})
    return reply


@then("Bedrock answers with a message and its token usage")
def bedrock_answers(converse_reply: dict[str, Any]) -> None:
    """The answer has assistant text and non-zero input and output tokens."""
    message = converse_reply.get("output", {}).get("message", {})
    text = " ".join(part.get("text", "") for part in message.get("content", []))
    usage = converse_reply.get("usage", {})
    require(message.get("role") == "assistant" and text.strip(), f"Converse answered without text: {message}")
    require(
        usage.get("inputTokens", 0) > 0 and usage.get("outputTokens", 0) > 0,
        f"Converse answered without token usage: {usage}",
    )


@then("a Converse request with unknown credentials is refused as access denied")
def unknown_credentials_refused(target: Any, evidence: EvidenceRecorder) -> None:
    """The same call signed with a key Bedrock does not know is refused, not answered."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    client = aws_client(target, "bedrock-runtime", access_key_id=_UNKNOWN_KEY, max_attempts=1)
    try:
        _converse(client, target.bedrock_model_id, "Health check with unknown credentials")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        evidence.data(
            "refusal",
            {"code": code, "status": exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")},
        )
        require(code in _REFUSALS, f"unknown credentials were refused with {code}, not as access denied")
        return
    raise AssertionError("Bedrock answered a Converse request signed with unknown credentials")


@then("the Bedrock region of the release is in the EU allow-list")
def bedrock_region_in_eu(target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """The release's Bedrock region is an allowed EU region, and its DirectBedrockClient says so."""
    require(
        target.bedrock_region in EU_BEDROCK_REGIONS,
        f"Bedrock region {target.bedrock_region} is not in the EU allow-list {', '.join(EU_BEDROCK_REGIONS)}",
    )
    url = target.endpoints.slot(target.new_slot)
    if url is None:
        inconclusive("Bedrock region", f"slot {target.new_slot} is not reachable")
    component = http.get(f"{url}/health/components/DirectBedrockClient", timeout=15).json()
    evidence.data("DirectBedrockClient health", component)
    require(
        component.get("healthy") is True, f"DirectBedrockClient of the new release: {component.get('detail')}"
    )
    require(
        target.bedrock_region in str(component.get("detail", "")),
        f"DirectBedrockClient reports {component.get('detail')!r}, not region {target.bedrock_region}",
    )


# --- MCP Router Health -------------------------------------------------------------------------


@when(
    parsers.parse('the support tools are listed over MCP and "{tool}" is called'), target_fixture="mcp_call"
)
def mcp_tool_called(tool: str, mcp_client: Any, evidence: EvidenceRecorder) -> Any:
    """List the tools and call one with the real MCP SDK client over streamable HTTP."""
    result = mcp_client.list_and_call(tool, {"query": "rotate the API key"})
    evidence.data("MCP exchange", result.to_dict())
    return result


@then(parsers.parse("the tool call round-trips with a structured result within {limit_ms:d} ms"))
def mcp_round_trip(limit_ms: int, mcp_call: Any) -> None:
    """The tool was listed, answered without error, with structured content, in time."""
    require(
        mcp_call.tool in mcp_call.tools, f"{mcp_call.tool} is not among the listed tools {mcp_call.tools}"
    )
    require(not mcp_call.is_error, f"{mcp_call.tool} answered with an error: {mcp_call.text}")
    require(mcp_call.structured, f"{mcp_call.tool} answered without a structured result")
    require(
        mcp_call.elapsed_ms <= limit_ms,
        f"{mcp_call.tool} round trip took {mcp_call.elapsed_ms:.0f} ms, more than {limit_ms} ms",
    )


# --- Intelligent Router Status -----------------------------------------------------------------


@when("one verification operation of each type is sent to the new release", target_fixture="router_replies")
def one_operation_of_each_type(
    sender: Sender, target: Any, evidence: EvidenceRecorder
) -> dict[str, OperationReply]:
    """Each type once, in the verification context (all flags on), straight to the new slot."""
    replies = {
        op: sender.verification(op, unique_query(f"Router health check ({op})"), slot=target.new_slot)
        for op in OPERATION_TYPES
    }
    evidence.data("operations", {op: r.to_dict() for op, r in replies.items()})
    return replies


@then("each operation is routed as the routing matrix prescribes")
def routed_as_matrix(router_replies: dict[str, OperationReply], datatable: list[list[str]]) -> None:
    """Compare each answered operation's route with the table (docs/routing-matrix.md)."""
    header, *rows = datatable
    column = {name: index for index, name in enumerate(header)}
    wrong = []
    for row in rows:
        op, route = row[column["type"]], row[column["route"]]
        reply = router_replies[op]
        if not reply.ok or reply.route != route:
            wrong.append(f"{op}: HTTP {reply.status}, route {reply.route} ({reply.reason}), expected {route}")
    require(not wrong, "routed against the routing matrix: " + "; ".join(wrong))


@when("the Bedrock client of the new release fails every call (its failure switch)")
def bedrock_fails(failure_switches: Any, target: Any, evidence: EvidenceRecorder) -> None:
    """Arm the release's own failure switch on every host of the new slot: direct calls fail, unsent."""
    try:
        evidence.data("Bedrock failure switch armed", failure_switches.arm(target, [target.new_slot]))
    except ValueError as exc:
        inconclusive("Bedrock failure switch", str(exc))


@then("an emergency verification operation is answered through MCP as a fallback from direct")
def emergency_falls_back(sender: Sender, target: Any, evidence: EvidenceRecorder) -> None:
    """The failed direct call is answered over MCP, and the answer says it fell back."""
    reply = sender.verification("emergency", unique_query("Router fallback check"), slot=target.new_slot)
    evidence.data("fallback operation", reply.to_dict())
    require(reply.ok, f"the emergency operation failed: HTTP {reply.status} {reply.body}")
    require(
        reply.route == "mcp" and reply.reason == "fallback_from_direct",
        f"answered through {reply.route} ({reply.reason}), not mcp (fallback_from_direct)",
    )
    require(reply.body.get("fallback", {}).get("from") == "direct", f"no fallback record in {reply.body}")


@then("Bedrock is healthy again after the failure switch is cleared")
def bedrock_healthy_again(
    failure_switches: Any, bedrock_runtime: Any, target: Any, sender: Sender, evidence: EvidenceRecorder
) -> None:
    """With the switch off, Bedrock answers and the router sends an emergency operation direct again."""
    evidence.data("Bedrock failure switch cleared", failure_switches.clear())
    reply = _converse(bedrock_runtime, target.bedrock_model_id, unique_query("Health check after the fault"))
    require(reply.get("output", {}).get("message"), "Bedrock does not answer after the fault was cleared")
    operation = sender.verification("emergency", unique_query("Router recovery check"), slot=target.new_slot)
    evidence.data("recovery operation", operation.to_dict())
    require(
        operation.ok and operation.route == "direct",
        f"after the fault, emergency is answered through {operation.route} ({operation.reason}), not direct",
    )


# --- Circuit Breaker Status --------------------------------------------------------------------


@pytest.fixture
def new_slot_admin(target: Any, http: Any, support_token: str) -> Iterator[ServiceAdmin]:
    """Admin API of the new slot; the Bedrock circuit is reset afterwards whatever happened."""
    url = target.endpoints.slot(target.new_slot)
    if url is None:
        inconclusive("circuit breaker", f"slot {target.new_slot} is not reachable")
    admin = ServiceAdmin(http, url, support_token)
    yield admin
    admin.reset_circuit("bedrock")


@when("the Bedrock circuit breaker of the new release is forced open")
def force_circuit_open(new_slot_admin: ServiceAdmin, evidence: EvidenceRecorder) -> None:
    """Open the circuit through the admin API."""
    evidence.data("circuit forced open", new_slot_admin.open_circuit("bedrock"))


@then("a critical verification operation is routed to MCP because the circuit is open")
def critical_to_mcp(sender: Sender, target: Any, evidence: EvidenceRecorder) -> None:
    """With the circuit open, critical operations go to MCP without trying Bedrock."""
    reply = sender.verification("critical", unique_query("Circuit open check"), slot=target.new_slot)
    evidence.data("operation", reply.to_dict())
    require(
        reply.ok and reply.route == "mcp" and reply.reason == "circuit_open",
        f"answered HTTP {reply.status} through {reply.route} ({reply.reason}), not mcp (circuit_open)",
    )


@when("the circuit breaker is reset and Bedrock answers")
def reset_circuit(
    new_slot_admin: ServiceAdmin, bedrock_runtime: Any, target: Any, evidence: EvidenceRecorder
) -> None:
    """Reset the circuit, and confirm Bedrock itself answers."""
    evidence.data("circuit reset", new_slot_admin.reset_circuit("bedrock"))
    reply = _converse(bedrock_runtime, target.bedrock_model_id, unique_query("Circuit recovery check"))
    require(reply.get("output", {}).get("message"), "Bedrock does not answer")


@then("the Bedrock circuit breaker is closed")
def circuit_closed(new_slot_admin: ServiceAdmin, evidence: EvidenceRecorder) -> None:
    """The admin API reports the circuit closed."""
    circuits = new_slot_admin.circuits()
    evidence.data("circuits", circuits)
    state = circuits.get("bedrock", {}).get("state")
    require(state == "closed", f"the Bedrock circuit is {state}, not closed")


@then("a critical verification operation is routed direct again")
def critical_direct_again(sender: Sender, target: Any, evidence: EvidenceRecorder) -> None:
    """Critical operations go direct to Bedrock again."""
    reply = sender.verification("critical", unique_query("Circuit closed check"), slot=target.new_slot)
    evidence.data("operation", reply.to_dict())
    require(
        reply.ok and reply.route == "direct" and reply.reason == "priority_direct",
        f"answered HTTP {reply.status} through {reply.route} ({reply.reason}), not direct (priority_direct)",
    )


# --- Compliance Validator ----------------------------------------------------------------------


@pytest.fixture
def probe_started() -> datetime:
    """When this scenario's probe began (its outbound calls are read from here on)."""
    return datetime.now(UTC)


@when(
    "a verification operation of every type containing an email address, a phone number, an IBAN "
    "and a card number is sent",
    target_fixture="pii_replies",
)
def pii_probe_sent(
    sender: Sender, target: Any, probe_started: datetime, evidence: EvidenceRecorder
) -> list[OperationReply]:
    """Each type once, so the probe travels both the direct and the MCP path."""
    replies = [
        sender.verification(
            op, unique_query(PII_PROBE.text(f"Compliance check ({op})")), slot=target.new_slot
        )
        for op in OPERATION_TYPES
    ]
    evidence.data("operations", [r.to_dict() for r in replies])
    return replies


@then("no answer contains any of that personal data")
def answers_clean(pii_replies: list[OperationReply]) -> None:
    """Every answer is clean, and the service reports each kind it redacted."""
    for reply in pii_replies:
        require(reply.ok, f"{reply.body.get('type')} operation failed: HTTP {reply.status} {reply.body}")
        leaked = PII_PROBE.found_in([reply.body])
        require(not leaked, f"the {reply.body.get('type')} answer contains personal data: {leaked}")
        missing = sorted(set(PII_PROBE.kinds()) - set(reply.body.get("redactions", [])))
        require(not missing, f"the {reply.body.get('type')} answer does not report redacting {missing}")


@then(
    "Bedrock's invocation logs and the release's audit of its MCP tool calls hold none of that personal data"
)
def nothing_reached_models(
    pii_replies: list[OperationReply],
    probe_started: datetime,
    invocation_logs: Any,
    target: Any,
    http: Any,
    support_token: str,
    evidence: EvidenceRecorder,
) -> None:
    """Bedrock's invocation logs and the service's tool-call audit hold each call, redacted only."""
    require_nothing_leaked(
        pii_replies,
        since=probe_started,
        invocation_logs=invocation_logs,
        session=http,
        target=target,
        token=support_token,
        slots=[target.new_slot],
        evidence=evidence,
    )


# --- Audit Trail System ------------------------------------------------------------------------


@then("the operations sent by these health checks are in the audit trail")
def health_check_operations_audited(
    sent_operations: Any, target: Any, http: Any, support_token: str, evidence: EvidenceRecorder
) -> None:
    """Every operation phase 4 sent in this session has its record in the audit trail of its slot."""
    from bedrock_release.suite.audit_trails import operations_missing  # noqa: PLC0415

    replies = sent_operations.of_phase(4)
    if not replies:
        inconclusive("audit completeness", "no health check sent an operation in this session")
    missing, summary = operations_missing(http, target, support_token, replies)
    evidence.data("audit completeness", summary)
    require(
        not missing, f"{len(missing)} of {len(replies)} operations are not in the audit trail: {missing[:5]}"
    )


# --- Monitoring Systems ------------------------------------------------------------------------


@then("the metrics of the new release are readable from CloudWatch")
def metrics_readable(monitoring: Any, target: Any, evidence: EvidenceRecorder) -> None:
    """The new slot's metrics are listed in CloudWatch and have datapoints."""
    from bedrock_release import monitoring as mon  # noqa: PLC0415

    config, clients = monitoring
    since = mon.release_live_since(target.journal, target.new_slot) if target.journal else None
    result = mon.check_metrics_readable(clients.cloudwatch, config.namespace, target.new_slot, since=since)
    evidence.data("CloudWatch metrics", result.to_dict())
    require(result.ok, result.message())


@then("an alarm raised through the alerting path reaches its notification topic")
def alert_delivered(monitoring: Any, target: Any, evidence: EvidenceRecorder) -> None:
    """A canary alarm goes to ALARM and its notification arrives through the on-call topic."""
    from bedrock_release import monitoring as mon  # noqa: PLC0415

    config, clients = monitoring
    result = mon.check_alert_delivery(clients, config, emulate_cloudwatch_action=target.is_sandbox)
    evidence.data("alert delivery", result.to_dict())
    require(result.ok, result.message())


@then("the existing operations dashboard is readable")
def operations_dashboard_readable(monitoring: Any, evidence: EvidenceRecorder) -> None:
    """The MCP tier's existing dashboard exists, parses and has widgets."""
    from bedrock_release import monitoring as mon  # noqa: PLC0415

    _, clients = monitoring
    result = mon.check_dashboard_readable(clients.cloudwatch)
    evidence.data("operations dashboard", result.to_dict())
    require(result.ok, result.message())
