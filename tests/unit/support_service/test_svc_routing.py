"""The routing matrix (docs/routing-matrix.md): every rule as table rows, then invariants over all inputs."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from support_service.budget import BudgetState
from support_service.circuit import CircuitState
from support_service.flags import FlagSnapshot
from support_service.routing import (
    Decision,
    Operation,
    Reason,
    Residency,
    Route,
    RoutingInputs,
    cache_eligible,
    decide,
)

E, C, G, R = Operation.EMERGENCY, Operation.CRITICAL, Operation.GENERATION, Operation.ROUTINE
OFF = FlagSnapshot()
SM = FlagSnapshot(bedrock_support_mode=True)
SM_IR = replace(SM, intelligent_routing=True)
SM_HM = replace(SM, hybrid_health_monitoring=True)
SM_IR_HM = replace(SM_IR, hybrid_health_monitoring=True)
PO = FlagSnapshot(performance_optimization=True)
ALL = FlagSnapshot.all_on()
ALL_BUT_SM = replace(ALL, bedrock_support_mode=False)


def row(rule, op, flags, route, reason, **conditions):
    return pytest.param(
        RoutingInputs(operation=op, flags=flags, **conditions), Decision(route, reason), id=rule
    )


MATRIX = [
    # R1: cache hit for routine and generation with optimisation on
    row("R1-routine-hit", R, PO, Route.CACHE, Reason.CACHE_HIT, cache_hit=True),
    row("R1-generation-hit-all-on", G, ALL, Route.CACHE, Reason.CACHE_HIT, cache_hit=True),
    row(
        "R1-hit-wins-over-open-circuit",
        G,
        ALL,
        Route.CACHE,
        Reason.CACHE_HIT,
        cache_hit=True,
        bedrock_circuit=CircuitState.OPEN,
    ),
    row("R1-not-for-emergency", E, ALL, Route.DIRECT, Reason.PRIORITY_DIRECT, cache_hit=True),
    row("R1-not-for-critical", C, PO, Route.MCP, Reason.MCP_ONLY_MODE, cache_hit=True),
    row(
        "R1-not-without-PO",
        R,
        replace(ALL, performance_optimization=False),
        Route.MCP,
        Reason.CHEAPEST_ADEQUATE,
        cache_hit=True,
    ),
    # R2: support mode off is MCP-only mode
    row("R2-all-off-emergency", E, OFF, Route.MCP, Reason.MCP_ONLY_MODE),
    row("R2-all-off-critical", C, OFF, Route.MCP, Reason.MCP_ONLY_MODE),
    row("R2-all-off-generation", G, OFF, Route.MCP, Reason.MCP_ONLY_MODE),
    row("R2-all-off-routine", R, OFF, Route.MCP, Reason.MCP_ONLY_MODE),
    row("R2-all-off-ignores-cache-hit", R, OFF, Route.MCP, Reason.MCP_ONLY_MODE, cache_hit=True),
    row(
        "R2-IR-alone-changes-nothing",
        G,
        FlagSnapshot(intelligent_routing=True),
        Route.MCP,
        Reason.MCP_ONLY_MODE,
    ),
    row("R2-all-but-SM-emergency", E, ALL_BUT_SM, Route.MCP, Reason.MCP_ONLY_MODE),
    row("R2-all-but-SM-generation-miss", G, ALL_BUT_SM, Route.MCP, Reason.MCP_ONLY_MODE),
    # R3-R6: emergency and critical with support mode
    row(
        "R3-customer-region",
        E,
        SM,
        Route.MCP,
        Reason.COMPLIANCE_RESIDENCY,
        residency=Residency.CUSTOMER_REGION,
    ),
    row(
        "R3-bedrock-region", C, SM, Route.MCP, Reason.COMPLIANCE_RESIDENCY, residency=Residency.BEDROCK_REGION
    ),
    row(
        "R3-before-circuit-and-budget",
        E,
        SM_HM,
        Route.MCP,
        Reason.COMPLIANCE_RESIDENCY,
        residency=Residency.CUSTOMER_REGION,
        bedrock_circuit=CircuitState.OPEN,
        budget=BudgetState.EXHAUSTED,
    ),
    row("R4-circuit-open", E, SM_HM, Route.MCP, Reason.CIRCUIT_OPEN, bedrock_circuit=CircuitState.OPEN),
    row(
        "R4-before-budget",
        C,
        SM_HM,
        Route.MCP,
        Reason.CIRCUIT_OPEN,
        bedrock_circuit=CircuitState.OPEN,
        budget=BudgetState.EXHAUSTED,
    ),
    row(
        "R4-ignored-without-HM",
        E,
        SM,
        Route.DIRECT,
        Reason.PRIORITY_DIRECT,
        bedrock_circuit=CircuitState.OPEN,
    ),
    row("R5-budget-exhausted", E, SM, Route.MCP, Reason.BUDGET_EXHAUSTED, budget=BudgetState.EXHAUSTED),
    row(
        "R5-budget-exhausted-critical",
        C,
        SM_HM,
        Route.MCP,
        Reason.BUDGET_EXHAUSTED,
        budget=BudgetState.EXHAUSTED,
    ),
    row("R6-emergency", E, SM, Route.DIRECT, Reason.PRIORITY_DIRECT),
    row("R6-critical", C, SM, Route.DIRECT, Reason.PRIORITY_DIRECT),
    row(
        "R6-half-open-probes",
        E,
        SM_HM,
        Route.DIRECT,
        Reason.PRIORITY_DIRECT,
        bedrock_circuit=CircuitState.HALF_OPEN,
    ),
    row(
        "R6-soft-budget-still-direct", C, SM_HM, Route.DIRECT, Reason.PRIORITY_DIRECT, budget=BudgetState.SOFT
    ),
    row("R6-all-on", E, ALL, Route.DIRECT, Reason.PRIORITY_DIRECT),
    # R7: routine stays on MCP with support mode
    row("R7-routine-SM", R, SM, Route.MCP, Reason.CHEAPEST_ADEQUATE),
    row("R7-routine-all-on-miss", R, ALL, Route.MCP, Reason.CHEAPEST_ADEQUATE),
    # R8: generation without intelligent routing
    row("R8-generation-SM-only", G, SM, Route.MCP, Reason.INTELLIGENT_ROUTING_OFF),
    row("R8-generation-SM-HM", G, SM_HM, Route.MCP, Reason.INTELLIGENT_ROUTING_OFF),
    # R9-R13: generation with intelligent routing
    row(
        "R9-generation-residency",
        G,
        SM_IR,
        Route.MCP,
        Reason.COMPLIANCE_RESIDENCY,
        residency=Residency.CUSTOMER_REGION,
    ),
    row(
        "R9-generation-bedrock-region",
        G,
        SM_IR,
        Route.MCP,
        Reason.COMPLIANCE_RESIDENCY,
        residency=Residency.BEDROCK_REGION,
        budget=BudgetState.SOFT,
    ),
    row(
        "R10-generation-circuit-open",
        G,
        SM_IR_HM,
        Route.MCP,
        Reason.CIRCUIT_OPEN,
        bedrock_circuit=CircuitState.OPEN,
    ),
    row(
        "R10-ignored-without-HM",
        G,
        SM_IR,
        Route.DIRECT,
        Reason.GENERATION_DIRECT,
        bedrock_circuit=CircuitState.OPEN,
    ),
    row(
        "R11-generation-exhausted", G, SM_IR, Route.MCP, Reason.BUDGET_EXHAUSTED, budget=BudgetState.EXHAUSTED
    ),
    row("R12-generation-soft", G, SM_IR, Route.MCP, Reason.BUDGET_SOFT_LIMIT, budget=BudgetState.SOFT),
    row(
        "R12-generation-soft-all-on-miss",
        G,
        ALL,
        Route.MCP,
        Reason.BUDGET_SOFT_LIMIT,
        budget=BudgetState.SOFT,
    ),
    row("R13-generation-direct", G, SM_IR, Route.DIRECT, Reason.GENERATION_DIRECT),
    row(
        "R13-half-open-probes",
        G,
        SM_IR_HM,
        Route.DIRECT,
        Reason.GENERATION_DIRECT,
        bedrock_circuit=CircuitState.HALF_OPEN,
    ),
    row("R13-all-on-miss", G, ALL, Route.DIRECT, Reason.GENERATION_DIRECT),
]


@pytest.mark.parametrize(("inputs", "expected"), MATRIX)
def test_matrix_row(inputs: RoutingInputs, expected: Decision) -> None:
    assert decide(inputs) == expected


def test_every_documented_rule_has_rows() -> None:
    rules = {param.id.split("-")[0] for param in MATRIX}
    assert rules == {f"R{n}" for n in range(1, 14)}


def test_cache_eligibility() -> None:
    assert cache_eligible(R, PO)
    assert cache_eligible(G, PO)
    assert not cache_eligible(E, PO)
    assert not cache_eligible(C, ALL)
    assert not cache_eligible(R, replace(ALL, performance_optimization=False))


def _all_inputs():
    flag_sets = [FlagSnapshot(*bits) for bits in itertools.product([False, True], repeat=5)]
    for op, flags, circuit, budget, residency, hit in itertools.product(
        Operation, flag_sets, CircuitState, BudgetState, Residency, [False, True]
    ):
        yield RoutingInputs(op, flags, circuit, budget, residency, hit)


ALL_INPUTS = list(_all_inputs())


def test_the_input_space_is_complete() -> None:
    assert len(ALL_INPUTS) == 4 * 32 * 3 * 3 * 3 * 2


def test_all_flags_off_is_mcp_only_mode_for_every_input() -> None:
    for inputs in ALL_INPUTS:
        if inputs.flags == OFF:
            assert decide(inputs) == Decision(Route.MCP, Reason.MCP_ONLY_MODE), inputs


def test_direct_only_when_every_condition_allows_it() -> None:
    seen_direct = 0
    for i in ALL_INPUTS:
        if decide(i).route is not Route.DIRECT:
            continue
        seen_direct += 1
        assert i.flags.bedrock_support_mode
        assert i.residency is Residency.OK
        assert not (i.flags.hybrid_health_monitoring and i.bedrock_circuit is CircuitState.OPEN)
        assert i.budget is not BudgetState.EXHAUSTED
        assert i.operation is not Operation.ROUTINE
        if i.operation is Operation.GENERATION:
            assert i.flags.intelligent_routing
            assert i.budget is BudgetState.OK
    assert seen_direct > 0


def test_cache_only_on_eligible_hits() -> None:
    for i in ALL_INPUTS:
        if decide(i).route is Route.CACHE:
            assert i.cache_hit
            assert cache_eligible(i.operation, i.flags)
        elif cache_eligible(i.operation, i.flags):
            assert not i.cache_hit


def test_circuit_state_is_ignored_without_health_monitoring() -> None:
    for i in ALL_INPUTS:
        if not i.flags.hybrid_health_monitoring and i.bedrock_circuit is CircuitState.CLOSED:
            for state in (CircuitState.HALF_OPEN, CircuitState.OPEN):
                assert decide(replace(i, bedrock_circuit=state)) == decide(i)


def test_fallback_flag_never_changes_the_decision() -> None:
    for i in ALL_INPUTS:
        if not i.flags.direct_bedrock_fallback:
            assert decide(replace(i, flags=replace(i.flags, direct_bedrock_fallback=True))) == decide(i)


def test_decide_never_returns_the_execution_only_reason() -> None:
    assert all(decide(i).reason is not Reason.FALLBACK_FROM_DIRECT for i in ALL_INPUTS)
