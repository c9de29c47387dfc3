"""What Bedrock and the MCP tier received from the release, proven from the records production has:
Bedrock's model invocation logs (the requests as Bedrock got them) and the service's own audit of
every outbound MCP tool call (``mcp.tool_call``, the arguments as sent).

A check's operations are found again by the marker in their query (``[check <letters>]``, which the
service's redaction leaves intact) in the invocation logs, and by their operation id in the audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from bedrock_release.suite.checks import PII_PROBE, PiiProbe, require
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.invocation_logs import (
    Invocation,
    InvocationLog,
    InvocationLogError,
    InvocationLogSource,
)
from bedrock_release.suite.operations import OperationReply
from bedrock_release.suite.service_audit import AuditRead, HostRecord, ServiceAuditError, read_service_audit
from bedrock_release.suite.target import Target

__all__ = ["OutboundReview", "marker_of", "read_outbound", "require_nothing_leaked", "review_outbound"]


def marker_of(reply: OperationReply) -> str:
    """The check marker of an operation's query (unique_query put it there)."""
    query = str(reply.request.get("query", ""))
    if "[check " not in query:
        raise ValueError(f"the query {query[:60]!r} carries no check marker")
    return query.rsplit("[check ", 1)[1].split("]", 1)[0]


@dataclass(frozen=True)
class OutboundReview:
    """Each operation's outbound call found (or not) in production's records, and any leak in them."""

    invocations: dict[str, list[Invocation]]
    tool_calls: dict[str, list[HostRecord]]
    missing_bedrock: tuple[str, ...]
    missing_mcp: tuple[str, ...]
    leaked: tuple[str, ...]
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Evidence: what Bedrock and the MCP tier received, per operation."""
        return {
            "sources": list(self.sources),
            "bedrock": {
                m: [i.summary() | {"input": i.input_body} for i in v] for m, v in self.invocations.items()
            },
            "mcp": {
                op: [{"host": f"{r.slot}/{r.host}", "seq": r.seq, **r.data} for r in v]
                for op, v in self.tool_calls.items()
            },
            "missing_bedrock": list(self.missing_bedrock),
            "missing_mcp": list(self.missing_mcp),
            "leaked": list(self.leaked),
        }


def review_outbound(
    replies: Sequence[OperationReply], log: InvocationLog, audit: AuditRead, probe: PiiProbe | None = None
) -> OutboundReview:
    """Find each answered operation's call: direct ones in the invocation logs, MCP ones in the audit.

    ``probe``: the personal data the operations carried; every form of it is looked for in what was sent.
    """
    invocations: dict[str, list[Invocation]] = {}
    tool_calls: dict[str, list[HostRecord]] = {}
    missing_bedrock, missing_mcp = [], []
    for reply in replies:
        label = f"{reply.body.get('type')} {reply.operation_id}"
        if reply.route == "direct":
            marker = marker_of(reply)
            found = [i for i in log.with_marker(marker) if i.ok]
            invocations[marker] = found
            if not found:
                missing_bedrock.append(f"{label} [check {marker}]")
        elif reply.route == "mcp":
            calls = audit.of("mcp.tool_call", [str(reply.operation_id)])
            tool_calls[str(reply.operation_id)] = calls
            if not any(c.data.get("outcome") == "ok" for c in calls):
                missing_mcp.append(label)
    # Every record of these operations counts, failed ones too: a refused request was still received.
    sent = [i.input_body for r in replies if r.route for i in log.with_marker(_safe_marker(r))]
    sent += [c.data.get("arguments") for calls in tool_calls.values() for c in calls]
    leaked = tuple(probe.found_in(sent)) if probe is not None else ()
    return OutboundReview(
        invocations,
        tool_calls,
        tuple(missing_bedrock),
        tuple(missing_mcp),
        leaked,
        (log.source, audit.source),
    )


def _safe_marker(reply: OperationReply) -> str:
    try:
        return marker_of(reply)
    except ValueError:
        return "\x00no marker\x00"


def read_outbound(
    replies: Sequence[OperationReply],
    *,
    since: datetime,
    invocation_logs: InvocationLogSource,
    session: requests.Session,
    target: Target,
    token: str,
    slots: Sequence[str],
    probe: PiiProbe | None = None,
) -> OutboundReview:
    """Wait for the direct operations' invocation records, read the hosts' tool calls, review both."""
    markers = [marker_of(r) for r in replies if r.route == "direct"]
    try:
        log = invocation_logs.wait_for(markers, since)
        audit = read_service_audit(session, target, token, slots, actions={"mcp.tool_call"}, since=since)
    except (InvocationLogError, ServiceAuditError, ValueError) as exc:
        inconclusive("what Bedrock and MCP received", str(exc))
    return review_outbound(replies, log, audit, probe)


def require_nothing_leaked(
    replies: Sequence[OperationReply],
    *,
    since: datetime,
    invocation_logs: InvocationLogSource,
    session: requests.Session,
    target: Target,
    token: str,
    slots: Sequence[str],
    evidence: EvidenceRecorder,
) -> OutboundReview:
    """Each PII probe's call is in production's records (both paths travelled) and holds none of the data."""
    review = read_outbound(
        replies,
        since=since,
        invocation_logs=invocation_logs,
        session=session,
        target=target,
        token=token,
        slots=slots,
        probe=PII_PROBE,
    )
    evidence.data("received by Bedrock and MCP", review.to_dict())
    require(review.invocations, "no probe was answered direct: the probe did not travel the Bedrock path")
    require(review.tool_calls, "no probe was answered over MCP: the probe did not travel the MCP path")
    require(
        not review.missing_bedrock,
        f"answered direct but not in Bedrock's invocation logs: {list(review.missing_bedrock)}",
    )
    require(
        not review.missing_mcp,
        f"answered over MCP but no successful tool call is audited: {list(review.missing_mcp)}",
    )
    require(not review.leaked, f"personal data reached Bedrock or the MCP tier: {list(review.leaked)}")
    return review
