"""Readings from AWS APIs (moto in the sandbox) that gates need; failures become reasons, not raises."""

from __future__ import annotations

from typing import Any

__all__ = ["read_budget", "read_flags"]


def read_budget(budgets: Any, sts: Any, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """Return ({name, limit_usd, actual_spend_usd?, time_unit}, None) or (None, why it failed)."""
    try:
        account = sts.get_caller_identity()["Account"]
        budget = budgets.describe_budget(AccountId=account, BudgetName=name)["Budget"]
    except Exception as exc:  # botocore raises many types; every one means "no reading"
        return None, f"AWS Budgets {name}: {type(exc).__name__}: {exc}"
    try:
        limit = float(budget["BudgetLimit"]["Amount"])
    except (KeyError, TypeError, ValueError):
        return None, f"AWS Budgets {name}: no usable BudgetLimit in {budget!r}"
    actual = budget.get("CalculatedSpend", {}).get("ActualSpend", {}).get("Amount")
    out: dict[str, Any] = {
        "name": name,
        "account": account,
        "limit_usd": limit,
        "time_unit": budget.get("TimeUnit"),
        "actual_spend_usd": float(actual) if actual is not None else None,
    }
    return out, None


def read_flags(
    ssm: Any, flags_path: str, names: tuple[str, ...]
) -> tuple[dict[str, str | None] | None, str | None]:
    """Return ({flag: raw value or None when missing}, None) or (None, why SSM could not be read)."""
    out: dict[str, str | None] = {}
    try:
        for flag in names:
            try:
                out[flag] = ssm.get_parameter(Name=f"{flags_path}/{flag}")["Parameter"]["Value"]
            except ssm.exceptions.ParameterNotFound:
                out[flag] = None
    except Exception as exc:
        return None, f"SSM {flags_path}: {type(exc).__name__}: {exc}"
    return out, None
