"""Seed moto with what the sandbox starts from: the five flags (false) and the budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from .settings import FLAGS, SANDBOX_AWS_ACCESS_KEY_ID, SANDBOX_AWS_SECRET_ACCESS_KEY, SandboxSettings

__all__ = ["SeedResult", "aws_client", "seed_moto"]


@dataclass(frozen=True)
class SeedResult:
    """What seeding created (existing items are left as they are)."""

    parameters_created: tuple[str, ...]
    budget_created: bool


def aws_client(service: str, settings: SandboxSettings) -> Any:
    """A boto3 client bound to the sandbox's moto, whatever the caller's environment says."""
    return boto3.client(
        service,
        endpoint_url=settings.url("moto"),
        region_name=settings.aws_region,
        aws_access_key_id=SANDBOX_AWS_ACCESS_KEY_ID,
        aws_secret_access_key=SANDBOX_AWS_SECRET_ACCESS_KEY,
        # proxies={} keeps HTTP(S)_PROXY from the caller's shell away from loopback traffic.
        config=Config(proxies={}, retries={"total_max_attempts": 3}, connect_timeout=2, read_timeout=10),
    )


def seed_moto(settings: SandboxSettings) -> SeedResult:
    """Create missing flag parameters (value false) and the budget; never overwrite what exists."""
    ssm = aws_client("ssm", settings)
    created = []
    for flag in FLAGS:
        name = f"{settings.flags_path}/{flag}"
        try:
            ssm.put_parameter(Name=name, Value="false", Type="String", Overwrite=False)
            created.append(name)
        except ssm.exceptions.ParameterAlreadyExists:
            pass  # a flag the pipeline already set keeps its value
    account = aws_client("sts", settings).get_caller_identity()["Account"]
    budgets = aws_client("budgets", settings)
    try:
        budgets.describe_budget(AccountId=account, BudgetName=settings.budget_name)
        budget_created = False
    except budgets.exceptions.NotFoundException:
        budgets.create_budget(
            AccountId=account,
            Budget={
                "BudgetName": settings.budget_name,
                "BudgetLimit": {"Amount": f"{settings.budget_usd:.2f}", "Unit": "USD"},
                "TimeUnit": "MONTHLY",
                "BudgetType": "COST",
            },
        )
        budget_created = True
    return SeedResult(tuple(created), budget_created)
