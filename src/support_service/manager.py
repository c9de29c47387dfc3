"""BedrockSupportManager: runs one support operation end to end.

Order of work: refuse while components are staged; redact (before anything else sees the text);
consult the cache; decide the route (pure, ``routing.decide``); execute it, falling back from a failed
direct call to MCP when ENABLE_DIRECT_BEDROCK_FALLBACK is on (MCP failures never fall back to direct:
that would bypass the router's cost and compliance reasons, and MCP-only mode must stay the old
system); account cost; append the audit record; report metrics. An operation whose audit record
cannot be written is not answered. Every outbound MCP tool call has its own audit record
(``mcp.tool_call``: tool, redacted arguments and their SHA-256, outcome, latency), the production
record of what the MCP tier received.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from support_service.audit import Auditor
from support_service.bedrock import BedrockCallError, DirectBedrockClient, ResidencyRefusedError
from support_service.budget import CostLedger
from support_service.cache import CachedAnswer, CacheLookup, PerformanceOptimizer
from support_service.circuit import CircuitState
from support_service.compliance import ComplianceValidator, PiiBlockedError, ViolationRule
from support_service.components import ComponentRegistry, ProbeResult
from support_service.faults import DrillFaults
from support_service.flags import FlagSnapshot
from support_service.health import BEDROCK_CIRCUIT, MCP_CIRCUIT, HybridHealthMonitor
from support_service.mcp_router import McpCallError, MCPRouter
from support_service.routing import Decision, Reason, Residency, Route, RoutingInputs, cache_eligible, decide
from support_service.schemas import OperationRequest
from support_service.telemetry import Telemetry

__all__ = ["BedrockSupportManager", "OperationResult"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OperationResult:
    """The HTTP status and JSON body of one operation."""

    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class _Answer:
    route: Route
    reason: Reason
    answer: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class _Failure:
    status_code: int
    error: str
    detail: str


@dataclass
class _Context:
    """What one operation collects on its way (mutable while it runs, then audited)."""

    operation_id: str
    request: OperationRequest
    flags: FlagSnapshot
    verification: bool
    redacted_query: str
    redactions: tuple[str, ...]
    customer: str | None
    started: float
    decisions: list[Decision] = field(default_factory=list)
    cache: CacheLookup | None = None
    fallback_error: str | None = None


class BedrockSupportManager:
    """Orchestrates the components for each support operation."""

    def __init__(
        self,
        *,
        slot: str,
        release: str,
        registry: ComponentRegistry,
        compliance: ComplianceValidator,
        optimizer: PerformanceOptimizer,
        ledger: CostLedger,
        health: HybridHealthMonitor,
        bedrock: DirectBedrockClient,
        mcp: MCPRouter,
        flags: Callable[[], FlagSnapshot],
        telemetry: Telemetry,
        auditor: Auditor,
        faults: DrillFaults,
        rng: random.Random | None = None,
    ) -> None:
        self.slot = slot
        self.release = release
        self._registry = registry
        self._compliance = compliance
        self._optimizer = optimizer
        self._ledger = ledger
        self._health = health
        self._bedrock = bedrock
        self._mcp = mcp
        self._flags = flags
        self._telemetry = telemetry
        self._auditor = auditor
        self._faults = faults
        self._rng = rng or random.Random()  # noqa: S311 - drill fault sampling, not security
        self.last_audit_ok = True

    async def handle(self, request: OperationRequest, *, verification: bool = False) -> OperationResult:
        """Run one operation; never raises (unexpected errors become a 500 that is audited)."""
        redaction = self._compliance.redact(request.query)
        ctx = _Context(
            operation_id=uuid.uuid4().hex,
            request=request,
            flags=FlagSnapshot.all_on() if verification else self._flags(),
            verification=verification,
            redacted_query=redaction.text,
            redactions=tuple(kind.value for kind in redaction.kinds),
            customer=self._compliance.redact(request.customer_id).text if request.customer_id else None,
            started=time.perf_counter(),
        )
        inactive = self._registry.inactive()
        if inactive:
            detail = f"components not active yet: {', '.join(inactive)}; activate them in order first"
            return await self._finish(ctx, _Failure(503, "components_not_active", detail))
        try:
            outcome = await self._route_and_execute(ctx)
        except Exception as exc:  # the 500 path still audits and counts the operation
            _log.exception("support operation %s failed", ctx.operation_id)
            outcome = _Failure(500, "internal_error", f"{type(exc).__name__}: {exc}")
        return await self._finish(ctx, outcome)

    def probe(self) -> ProbeResult:
        """Healthy while the audit trail accepts records."""
        if not self.last_audit_ok:
            return ProbeResult(False, "the last audit append failed; operations are refused until it works")
        return ProbeResult(True, "audit trail writable")

    async def _route_and_execute(self, ctx: _Context) -> _Answer | _Failure:
        op = ctx.request.type
        flags = ctx.flags
        ctx.cache = self._optimizer.lookup(op.value, ctx.redacted_query, consult=cache_eligible(op, flags))
        residency = self._compliance.residency(ctx.request.customer_region)
        circuit = self._health.bedrock_state() if flags.hybrid_health_monitoring else CircuitState.CLOSED
        decision = decide(
            RoutingInputs(
                operation=op,
                flags=flags,
                bedrock_circuit=circuit,
                budget=self._ledger.state(),
                residency=residency,
                cache_hit=ctx.cache.hit,
            )
        )
        self._decided(ctx, decision)
        if decision.reason is Reason.COMPLIANCE_RESIDENCY:
            self._residency_violation(ctx, residency)
        fault = self._faults.operation_failure(flags, self._rng)
        if fault:
            return _Failure(500, "internal_error", f"drill fault: {fault}")
        if decision.route is Route.CACHE and ctx.cache.answer is not None:
            return _Answer(Route.CACHE, decision.reason, ctx.cache.answer.answer)
        if decision.route is Route.DIRECT:
            outcome = await self._direct(ctx, decision)
        else:
            outcome = await self._via_mcp(ctx, decision)
        if isinstance(outcome, _Answer) and ctx.cache.consulted:
            self._optimizer.store(ctx.cache.key, CachedAnswer(outcome.answer, outcome.route.value))
        return outcome

    async def _direct(self, ctx: _Context, decision: Decision) -> _Answer | _Failure:
        breaker = self._health.circuit(BEDROCK_CIRCUIT)
        tracked = ctx.flags.hybrid_health_monitoring
        try:
            reply = await anyio.to_thread.run_sync(
                self._bedrock.converse, ctx.request.type.value, ctx.redacted_query
            )
        except ResidencyRefusedError:
            # The client's own residency check is the last line; nothing was sent, MCP answers instead.
            return await self._via_mcp(
                ctx, self._decided(ctx, Decision(Route.MCP, Reason.COMPLIANCE_RESIDENCY))
            )
        except PiiBlockedError as exc:
            return _Failure(422, "compliance_blocked", str(exc))
        except BedrockCallError as exc:
            if tracked:
                breaker.record_failure()
            if not ctx.flags.direct_bedrock_fallback:
                return _Failure(
                    502, "bedrock_failed", f"direct Bedrock call failed ({exc.kind}); fallback is off"
                )
            if self._faults.fallback_broken:
                raise RuntimeError("drill fault: fallback_broken") from exc
            ctx.fallback_error = exc.kind
            return await self._via_mcp(
                ctx, self._decided(ctx, Decision(Route.MCP, Reason.FALLBACK_FROM_DIRECT))
            )
        if tracked:
            breaker.record_success()
        self._ledger.add(Route.DIRECT.value, reply.cost_usd)
        self._telemetry.bedrock_usage(
            reply.input_tokens, reply.output_tokens, reply.cost_usd, Route.DIRECT.value
        )
        return _Answer(
            Route.DIRECT,
            decision.reason,
            reply.answer,
            reply.input_tokens,
            reply.output_tokens,
            reply.cost_usd,
        )

    async def _via_mcp(self, ctx: _Context, decision: Decision) -> _Answer | _Failure:
        breaker = self._health.circuit(MCP_CIRCUIT)
        tracked = ctx.flags.hybrid_health_monitoring
        if tracked and breaker.state() is CircuitState.OPEN:
            return _Failure(503, "mcp_unavailable", "the MCP circuit is open; retry later")
        started = time.perf_counter()
        try:
            reply = await self._mcp.call(ctx.request.type.value, ctx.redacted_query)
        except PiiBlockedError as exc:
            return _Failure(422, "compliance_blocked", str(exc))  # nothing was sent: no tool call to audit
        except McpCallError as exc:
            if tracked and exc.is_outage:
                breaker.record_failure()
            if exc.call is not None:
                call = exc.call
                await self._tool_call(
                    ctx,
                    tool=call.name,
                    arguments=call.arguments,
                    outcome=exc.kind,
                    started=started,
                    error=str(exc),
                )
            prefix = (
                f"fallback from direct ({ctx.fallback_error}) also failed: " if ctx.fallback_error else ""
            )
            return _Failure(502, "mcp_failed", prefix + str(exc))
        if tracked:
            breaker.record_success()
        await self._tool_call(ctx, tool=reply.tool, arguments=reply.arguments, outcome="ok", started=started)
        return _Answer(Route.MCP, decision.reason, reply.answer)

    async def _tool_call(
        self,
        ctx: _Context,
        *,
        tool: str,
        arguments: dict[str, str],
        outcome: str,
        started: float,
        error: str | None = None,
    ) -> None:
        """Audit one outbound MCP tool call as sent (arguments are redacted), whatever its outcome."""
        canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        record: dict[str, Any] = {
            "operation_id": ctx.operation_id,
            "tool": tool,
            "arguments": arguments,
            "arguments_sha256": hashlib.sha256(canonical.encode()).hexdigest(),
            "outcome": outcome,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        if error is not None:
            record["error"] = error
        await self._auditor.record("system", "mcp.tool_call", record)

    def _decided(self, ctx: _Context, decision: Decision) -> Decision:
        ctx.decisions.append(decision)
        self._telemetry.decision(ctx.request.type.value, decision.route.value, decision.reason.value)
        return decision

    def _residency_violation(self, ctx: _Context, residency: Residency) -> None:
        rule = (
            ViolationRule.BEDROCK_REGION
            if residency is Residency.BEDROCK_REGION
            else ViolationRule.CUSTOMER_REGION
        )
        self._compliance.record(
            rule,
            {
                "operation_id": ctx.operation_id,
                "customer_region": ctx.request.customer_region,
                "bedrock_region": self._compliance.bedrock_region,
                "blocked": "direct Bedrock; answered over MCP",
            },
        )

    async def _finish(self, ctx: _Context, outcome: _Answer | _Failure) -> OperationResult:
        latency_ms = round((time.perf_counter() - ctx.started) * 1000, 3)
        op = ctx.request.type.value
        last = ctx.decisions[-1] if ctx.decisions else None
        body: dict[str, Any] = {
            "operation_id": ctx.operation_id,
            "type": op,
            "route": outcome.route.value
            if isinstance(outcome, _Answer)
            else (last.route.value if last else None),
            "reason": outcome.reason.value
            if isinstance(outcome, _Answer)
            else (last.reason.value if last else None),
            "redactions": list(ctx.redactions),
            "cache": ctx.cache.result if ctx.cache else "bypass",
            "latency_ms": latency_ms,
            "release": self.release,
            "slot": self.slot,
            "verification": ctx.verification,
        }
        if ctx.fallback_error:
            body["fallback"] = {"from": Route.DIRECT.value, "error": ctx.fallback_error}
        if isinstance(outcome, _Answer):
            status_code = 200
            body |= {
                "answer": outcome.answer,
                "tokens": {"input": outcome.input_tokens, "output": outcome.output_tokens},
                "cost_usd": outcome.cost_usd,
            }
        else:
            status_code = outcome.status_code
            body |= {"error": outcome.error, "detail": outcome.detail}
        record = {
            **{k: v for k, v in body.items() if k != "answer"},
            "status": status_code,
            "customer_region": ctx.request.customer_region,
            "customer_id": ctx.customer,
            "query_redacted": ctx.redacted_query,
            "decisions": [{"route": d.route.value, "reason": d.reason.value} for d in ctx.decisions],
            "flags": ctx.flags.by_name(),
        }
        if isinstance(outcome, _Answer):
            # The answer may quote tool data about a customer: only its fingerprint goes into the trail.
            record["answer_sha256"] = hashlib.sha256(outcome.answer.encode()).hexdigest()
            record["answer_chars"] = len(outcome.answer)
        actor = f"customer:{ctx.customer}" if ctx.customer else "anonymous"
        try:
            await self._auditor.record(actor, "support.operation", record)
            self.last_audit_ok = True
        except Exception:
            _log.exception("audit append failed; operation %s is not answered", ctx.operation_id)
            self.last_audit_ok = False
            status_code = 503
            body = {
                key: body[key]
                for key in ("operation_id", "type", "route", "reason", "release", "slot", "verification")
            } | {"error": "audit_unavailable", "detail": "the audit trail could not record this operation"}
        route_label = body["route"] or "none"
        self._telemetry.operation(
            op, route_label, "ok" if status_code == 200 else "error", time.perf_counter() - ctx.started
        )
        return OperationResult(status_code, body)
