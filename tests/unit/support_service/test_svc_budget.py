"""Cost accounting: price table, budget states, ledger."""

from __future__ import annotations

import pytest

from support_service.budget import (
    DEFAULT_PRICES,
    BudgetState,
    CostLedger,
    ModelPrice,
    budget_state,
    parse_price_overrides,
    price_for,
)

SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def test_cost_from_tokens() -> None:
    price = price_for(SONNET, DEFAULT_PRICES)
    assert price.cost(1000, 1000) == pytest.approx(0.003 + 0.015)
    assert price.cost(120, 80) == pytest.approx(0.12 * 0.003 + 0.08 * 0.015)


def test_cross_region_profile_uses_the_model_price() -> None:
    assert price_for(f"eu.{SONNET}", DEFAULT_PRICES) == DEFAULT_PRICES[SONNET]


def test_unknown_model_is_an_error() -> None:
    with pytest.raises(KeyError, match="SUPPORT_PRICE_TABLE"):
        price_for("acme.unknown-v1", DEFAULT_PRICES)


def test_price_overrides() -> None:
    assert parse_price_overrides("") == {}
    prices = parse_price_overrides('{"acme.m": {"input_per_1k": 0.5, "output_per_1k": 1}}')
    assert prices == {"acme.m": ModelPrice(0.5, 1.0)}


@pytest.mark.parametrize(
    "raw",
    ["[]", '{"m": {"input_per_1k": 1}}', '{"m": {"input_per_1k": -1, "output_per_1k": 1}}', '{"m": 3}'],
)
def test_bad_price_overrides(raw: str) -> None:
    with pytest.raises(ValueError, match="price"):
        parse_price_overrides(raw)


@pytest.mark.parametrize(
    ("spent", "state"),
    [
        (0, BudgetState.OK),
        (39.99, BudgetState.OK),
        (40, BudgetState.SOFT),
        (49.99, BudgetState.SOFT),
        (50, BudgetState.EXHAUSTED),
        (80, BudgetState.EXHAUSTED),
    ],
)
def test_budget_states(spent: float, state: BudgetState) -> None:
    assert budget_state(spent, 50) is state


def test_ledger_totals_per_route() -> None:
    ledger = CostLedger(1.0)
    ledger.add("direct", 0.5)
    ledger.add("direct", 0.3)
    assert ledger.state() is BudgetState.SOFT
    assert ledger.by_route() == {"direct": pytest.approx(0.8)}
    ledger.add("direct", 0.2)
    assert ledger.state() is BudgetState.EXHAUSTED
    with pytest.raises(ValueError, match="negative"):
        ledger.add("direct", -1)
    with pytest.raises(ValueError, match="positive"):
        CostLedger(0)
