"""Cost accounting of direct Bedrock calls: a price table and the budget state the router reads.

Spend is the service's own accounting for the life of the process (one budget period per slot
process), because AWS Budgets reports no spend in the sandbox and lags hours behind in AWS.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "DEFAULT_PRICES",
    "SOFT_LIMIT_SHARE",
    "BudgetState",
    "CostLedger",
    "ModelPrice",
    "budget_state",
    "parse_price_overrides",
    "price_for",
]

SOFT_LIMIT_SHARE = 0.8  # the plan's cost gate: at most 80% of the allocated budget


class BudgetState(StrEnum):
    """Where spend stands against the budget: ok < 80%, soft >= 80%, exhausted >= 100%."""

    OK = "ok"
    SOFT = "soft"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class ModelPrice:
    """On-demand price of one model in USD per 1,000 tokens."""

    input_per_1k: float
    output_per_1k: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """USD cost of one call's token usage."""
        return input_tokens / 1000 * self.input_per_1k + output_tokens / 1000 * self.output_per_1k


# Amazon Bedrock on-demand list prices (USD per 1k tokens) of the models this service may be pointed at.
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "anthropic.claude-3-5-sonnet-20240620-v1:0": ModelPrice(0.003, 0.015),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": ModelPrice(0.003, 0.015),
    "anthropic.claude-3-7-sonnet-20250219-v1:0": ModelPrice(0.003, 0.015),
    "anthropic.claude-3-sonnet-20240229-v1:0": ModelPrice(0.003, 0.015),
    "anthropic.claude-3-haiku-20240307-v1:0": ModelPrice(0.00025, 0.00125),
    "anthropic.claude-3-5-haiku-20241022-v1:0": ModelPrice(0.0008, 0.004),
    "anthropic.claude-3-opus-20240229-v1:0": ModelPrice(0.015, 0.075),
}
_GEO_PREFIXES = ("eu.", "us.", "apac.", "global.")


def parse_price_overrides(raw: str) -> dict[str, ModelPrice]:
    """Parse ``{"model-id": {"input_per_1k": x, "output_per_1k": y}}`` (empty text gives no overrides)."""
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("price table must be a JSON object of model id -> prices")
    prices = {}
    for model, entry in data.items():
        if not isinstance(entry, dict) or set(entry) != {"input_per_1k", "output_per_1k"}:
            raise ValueError(f"price of {model!r} needs exactly input_per_1k and output_per_1k")
        values = [entry["input_per_1k"], entry["output_per_1k"]]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values):
            raise ValueError(f"prices of {model!r} must be non-negative numbers")
        prices[model] = ModelPrice(float(values[0]), float(values[1]))
    return prices


def price_for(model_id: str, table: Mapping[str, ModelPrice]) -> ModelPrice:
    """The price of a model id, also for cross-region inference profiles (``eu.<model>``)."""
    if model_id in table:
        return table[model_id]
    for prefix in _GEO_PREFIXES:
        if model_id.startswith(prefix) and model_id[len(prefix) :] in table:
            return table[model_id[len(prefix) :]]
    raise KeyError(f"no price for model {model_id!r}; add it with SUPPORT_PRICE_TABLE")


def budget_state(spent_usd: float, budget_usd: float) -> BudgetState:
    """Classify spend against the budget."""
    if spent_usd >= budget_usd:
        return BudgetState.EXHAUSTED
    if spent_usd >= SOFT_LIMIT_SHARE * budget_usd:
        return BudgetState.SOFT
    return BudgetState.OK


class CostLedger:
    """Thread-safe running total of what this process spent, per route."""

    def __init__(self, budget_usd: float) -> None:
        if budget_usd <= 0:
            raise ValueError("budget must be positive")
        self.budget_usd = budget_usd
        self._lock = threading.Lock()
        self._by_route: dict[str, float] = {}

    def add(self, route: str, usd: float) -> None:
        """Book the cost of one call."""
        if usd < 0:
            raise ValueError("cost cannot be negative")
        with self._lock:
            self._by_route[route] = self._by_route.get(route, 0.0) + usd

    def spent(self) -> float:
        """Total USD spent so far."""
        with self._lock:
            return sum(self._by_route.values())

    def by_route(self) -> dict[str, float]:
        """USD spent per route."""
        with self._lock:
            return dict(self._by_route)

    def state(self) -> BudgetState:
        """The budget state the router reads."""
        return budget_state(self.spent(), self.budget_usd)
