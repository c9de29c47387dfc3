"""IntelligentRouter: the pure routing decision (inputs -> route and reason).

The rule table below is docs/routing-matrix.md; the first matching rule wins. Execution (calling the
chosen path, falling back from direct to MCP) lives in ``manager``; this module never does I/O, so the
matrix test and the "optimal route" comparison of the success metrics call ``decide`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from support_service.budget import BudgetState
from support_service.circuit import CircuitState
from support_service.flags import FlagSnapshot

__all__ = [
    "PRIORITY_OPERATIONS",
    "Decision",
    "Operation",
    "Reason",
    "Residency",
    "Route",
    "RoutingInputs",
    "cache_eligible",
    "decide",
]


class Operation(StrEnum):
    """The operation types of the support API."""

    EMERGENCY = "emergency"
    CRITICAL = "critical"
    GENERATION = "generation"
    ROUTINE = "routine"


class Route(StrEnum):
    """Where an operation is answered."""

    MCP = "mcp"
    DIRECT = "direct"
    CACHE = "cache"


class Residency(StrEnum):
    """Whether direct Bedrock may process this operation's data (EU data residency)."""

    OK = "ok"
    BEDROCK_REGION = "bedrock_region"  # the configured Bedrock region is not in the allowed EU list
    CUSTOMER_REGION = "customer_region"  # the customer's region does not permit processing in that region


class Reason(StrEnum):
    """Why a route was chosen; the ``reason`` label of ``support_route_decisions_total``."""

    MCP_ONLY_MODE = "mcp_only_mode"
    CACHE_HIT = "cache_hit"
    PRIORITY_DIRECT = "priority_direct"
    GENERATION_DIRECT = "generation_direct"
    CHEAPEST_ADEQUATE = "cheapest_adequate"
    INTELLIGENT_ROUTING_OFF = "intelligent_routing_off"
    COMPLIANCE_RESIDENCY = "compliance_residency"
    CIRCUIT_OPEN = "circuit_open"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BUDGET_SOFT_LIMIT = "budget_soft_limit"
    # Set by execution, never by ``decide``: the direct call failed and MCP answered instead.
    FALLBACK_FROM_DIRECT = "fallback_from_direct"


PRIORITY_OPERATIONS = frozenset({Operation.EMERGENCY, Operation.CRITICAL})
_CACHEABLE_OPERATIONS = frozenset({Operation.ROUTINE, Operation.GENERATION})


@dataclass(frozen=True)
class RoutingInputs:
    """Everything one routing decision depends on."""

    operation: Operation
    flags: FlagSnapshot
    bedrock_circuit: CircuitState = CircuitState.CLOSED
    budget: BudgetState = BudgetState.OK
    residency: Residency = Residency.OK
    cache_hit: bool = False


@dataclass(frozen=True)
class Decision:
    """A route and the reason it was chosen."""

    route: Route
    reason: Reason


def cache_eligible(operation: Operation, flags: FlagSnapshot) -> bool:
    """Whether the response cache is consulted: optimisation on, and not an operation that needs freshness."""
    return flags.performance_optimization and operation in _CACHEABLE_OPERATIONS


def _direct_blocker(inputs: RoutingInputs, *, soft_limit_blocks: bool) -> Reason | None:
    """The reason direct Bedrock may not take this operation, checked in order of permanence."""
    if inputs.residency is not Residency.OK:
        return Reason.COMPLIANCE_RESIDENCY
    # Bedrock availability is only tracked while hybrid health monitoring is on; otherwise it is unknown
    # and the direct path is tried (a failure then goes through the fallback rule of execution).
    if inputs.flags.hybrid_health_monitoring and inputs.bedrock_circuit is CircuitState.OPEN:
        return Reason.CIRCUIT_OPEN
    if inputs.budget is BudgetState.EXHAUSTED:
        return Reason.BUDGET_EXHAUSTED
    if soft_limit_blocks and inputs.budget is BudgetState.SOFT:
        return Reason.BUDGET_SOFT_LIMIT
    return None


def decide(inputs: RoutingInputs) -> Decision:
    """Choose the route of one operation (docs/routing-matrix.md, first matching rule wins)."""
    flags = inputs.flags
    if inputs.cache_hit and cache_eligible(inputs.operation, flags):
        return Decision(Route.CACHE, Reason.CACHE_HIT)
    if not flags.bedrock_support_mode:
        # Support mode off is the pre-hybrid system: intelligent routing, fallback and health monitoring
        # alone change nothing about where an operation goes.
        return Decision(Route.MCP, Reason.MCP_ONLY_MODE)
    if inputs.operation in PRIORITY_OPERATIONS:
        blocker = _direct_blocker(inputs, soft_limit_blocks=False)
        return Decision(Route.MCP, blocker) if blocker else Decision(Route.DIRECT, Reason.PRIORITY_DIRECT)
    if inputs.operation is Operation.ROUTINE:
        return Decision(Route.MCP, Reason.CHEAPEST_ADEQUATE)
    if not flags.intelligent_routing:
        return Decision(Route.MCP, Reason.INTELLIGENT_ROUTING_OFF)
    blocker = _direct_blocker(inputs, soft_limit_blocks=True)
    return Decision(Route.MCP, blocker) if blocker else Decision(Route.DIRECT, Reason.GENERATION_DIRECT)
