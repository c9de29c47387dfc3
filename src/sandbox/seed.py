"""Seed moto with what the sandbox starts from: the five flags (false), the budget, the MCP tier's
operations dashboard (it predates the release; plan phase 4 checks that it is readable), the log group
of the Bedrock model invocation logs (the emulator writes to it, as Bedrock does once logging is on), and
the shared deploy lock's DynamoDB table and the runs' S3 bucket (versioned, as production's should be)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from .settings import FLAGS, SANDBOX_AWS_ACCESS_KEY_ID, SANDBOX_AWS_SECRET_ACCESS_KEY, SandboxSettings

__all__ = ["OPERATIONS_DASHBOARD", "SeedResult", "aws_client", "operations_dashboard_body", "seed_moto"]

OPERATIONS_DASHBOARD = "mcp-support-operations"


@dataclass(frozen=True)
class SeedResult:
    """What seeding created (existing items are left as they are)."""

    parameters_created: tuple[str, ...]
    budget_created: bool
    dashboard_created: bool = False
    invocation_log_group_created: bool = False
    lock_table_created: bool = False
    state_bucket_created: bool = False


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
    cloudwatch = aws_client("cloudwatch", settings)
    try:
        cloudwatch.get_dashboard(DashboardName=OPERATIONS_DASHBOARD)
        dashboard_created = False
    except cloudwatch.exceptions.ResourceNotFound:
        cloudwatch.put_dashboard(
            DashboardName=OPERATIONS_DASHBOARD, DashboardBody=json.dumps(operations_dashboard_body(settings))
        )
        dashboard_created = True
    logs = aws_client("logs", settings)
    try:
        logs.create_log_group(logGroupName=settings.bedrock_invocation_log_group)
        log_group_created = True
    except logs.exceptions.ResourceAlreadyExistsException:
        log_group_created = False
    return SeedResult(
        tuple(created),
        budget_created,
        dashboard_created,
        log_group_created,
        _seed_lock_table(settings),
        _seed_state_bucket(settings),
    )


def _seed_lock_table(settings: SandboxSettings) -> bool:
    """The deploy lock's table: one item per lock, keyed by lock_id (bedrock_release.pipeline.lock)."""
    dynamodb = aws_client("dynamodb", settings)
    try:
        dynamodb.create_table(
            TableName=settings.lock_table,
            KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except dynamodb.exceptions.ResourceInUseException:
        return False  # a lock the pipeline holds stays held
    return True


def _seed_state_bucket(settings: SandboxSettings) -> bool:
    """The runs' bucket (journals, evidence bundles); versioned, so no upload ever erases an earlier one."""
    s3 = aws_client("s3", settings)
    try:
        s3.create_bucket(
            Bucket=settings.state_bucket,
            CreateBucketConfiguration={"LocationConstraint": settings.aws_region},
        )
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        return False
    s3.put_bucket_versioning(Bucket=settings.state_bucket, VersioningConfiguration={"Status": "Enabled"})
    return True


def operations_dashboard_body(settings: SandboxSettings) -> dict[str, Any]:
    """The MCP tier's operations dashboard: MCP-routed traffic and latency (the pre-hybrid view)."""
    ns, region = settings.cloudwatch_namespace, settings.aws_region
    ops = ("emergency", "critical", "generation", "routine")

    def widget(title: str, metrics: list[list[Any]], x: int) -> dict[str, Any]:
        properties: dict[str, Any] = {"title": title, "view": "timeSeries", "region": region}
        properties["metrics"] = metrics
        return {"type": "metric", "x": x, "y": 0, "width": 12, "height": 6, "properties": properties}

    requests = [
        [ns, "Requests", "Operation", op, "Route", "mcp", "Status", "ok", {"stat": "Sum"}] for op in ops
    ]
    latency = [[ns, "RequestLatency", "Operation", op, "Route", "mcp", {"stat": "p95"}] for op in ops]
    return {
        "widgets": [
            widget("MCP support operations", requests, 0),
            widget("MCP support latency (p95)", latency, 12),
        ]
    }
