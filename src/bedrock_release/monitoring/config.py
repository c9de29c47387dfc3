"""What the monitoring of one environment is called and where it lives, and the AWS clients for it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bedrock_release.monitoring.catalogue import SLOTS

__all__ = ["OPERATIONS_DASHBOARD", "AwsClients", "MonitoringConfig"]

#: The MCP tier's pre-existing operations dashboard (the sandbox seeds one with this name).
OPERATIONS_DASHBOARD = "mcp-support-operations"

_NAME = re.compile(r"^[A-Za-z0-9_.-]*$")
_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class MonitoringConfig:
    """Names, namespace, region, the release's slot and the budget of one environment's monitoring."""

    name_prefix: str
    namespace: str
    region: str
    release_slot: str
    budget_usd: float | None = None
    budget_name: str | None = None
    topic_name: str = ""
    delivery_queue_name: str | None = None
    dashboard_name: str = ""
    operations_dashboard: str = OPERATIONS_DASHBOARD
    features_dir: Path = field(default=_ROOT / "features")

    def __post_init__(self) -> None:
        if not self.namespace:
            raise ValueError("namespace must not be empty")
        if self.release_slot not in SLOTS:
            raise ValueError(f"release_slot must be one of {SLOTS}, got {self.release_slot!r}")
        if not _NAME.match(self.name_prefix):
            raise ValueError(f"name_prefix {self.name_prefix!r} may hold only letters, digits and _.-")
        if self.budget_usd is None and not self.budget_name:
            raise ValueError("give budget_usd or budget_name (read from AWS Budgets)")
        if self.budget_usd is not None and not self.budget_usd > 0:
            raise ValueError(f"budget_usd must be > 0, got {self.budget_usd!r}")
        if not self.topic_name:
            object.__setattr__(self, "topic_name", f"{self.name_prefix}oncall")
        if not self.dashboard_name:
            object.__setattr__(self, "dashboard_name", f"{self.name_prefix}hybrid-routing")
        object.__setattr__(self, "features_dir", Path(self.features_dir))

    @classmethod
    def for_environment(
        cls,
        environment: str,
        *,
        namespace: str,
        region: str,
        release_slot: str,
        delivery_queue: bool = False,
        **kwargs: Any,
    ) -> MonitoringConfig:
        """The project's naming convention: every name starts with ``bedrock-support-<environment>-``."""
        prefix = f"bedrock-support-{environment}-"
        queue = f"{prefix}oncall-delivery-check" if delivery_queue else None
        return cls(
            name_prefix=prefix,
            namespace=namespace,
            region=region,
            release_slot=release_slot,
            delivery_queue_name=kwargs.pop("delivery_queue_name", queue),
            **kwargs,
        )

    @classmethod
    def from_target(
        cls,
        target: Mapping[str, Any],
        *,
        release_slot: str | None = None,
        delivery_queue: bool = False,
        **kwargs: Any,
    ) -> MonitoringConfig:
        """Build from target.json (docs/contracts.md); the release slot defaults to ``slots.idle``."""
        return cls.for_environment(
            str(target["environment"]),
            namespace=str(target["cloudwatch_namespace"]),
            region=str(target["aws_region"]),
            release_slot=release_slot or str(target["slots"]["idle"]),
            delivery_queue=delivery_queue,
            budget_name=kwargs.pop("budget_name", target.get("budget_name")),
            **kwargs,
        )

    @property
    def canary_alarm_name(self) -> str:
        """The test alarm the alerting-path check raises."""
        return f"{self.name_prefix}alerting-canary"

    def alarm_name(self, feature_name: str) -> str:
        """Full CloudWatch alarm name of a feature's alarm name."""
        return f"{self.name_prefix}{feature_name}"

    def with_budget(self, budget_usd: float) -> MonitoringConfig:
        """A copy with the budget resolved."""
        return replace(self, budget_usd=budget_usd)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name_prefix": self.name_prefix,
            "namespace": self.namespace,
            "region": self.region,
            "release_slot": self.release_slot,
            "budget_usd": self.budget_usd,
            "budget_name": self.budget_name,
            "topic_name": self.topic_name,
            "delivery_queue_name": self.delivery_queue_name,
            "dashboard_name": self.dashboard_name,
            "operations_dashboard": self.operations_dashboard,
            "features_dir": str(self.features_dir),
        }


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients monitoring needs, all for one region and one endpoint choice."""

    cloudwatch: Any
    sns: Any
    sqs: Any
    budgets: Any
    sts: Any
    endpoint_url: str | None = None

    @classmethod
    def create(
        cls,
        region: str,
        endpoint_url: str | None = None,
        *,
        session: boto3.session.Session | None = None,
        max_attempts: int = 3,
        read_timeout_s: float = 20.0,
    ) -> AwsClients:
        """Clients; without ``endpoint_url`` boto3 reads AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL."""
        sess = session or boto3.session.Session()
        config = Config(
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=5,
            read_timeout=read_timeout_s,
            # An explicit endpoint is the sandbox on loopback: keep a shell's proxy away from it.
            proxies={} if endpoint_url else None,
        )

        def make(service: str) -> Any:
            kwargs: dict[str, Any] = {"region_name": region, "config": config}
            if endpoint_url:
                kwargs["endpoint_url"] = endpoint_url
            return sess.client(service, **kwargs)

        return cls(
            cloudwatch=make("cloudwatch"),
            sns=make("sns"),
            sqs=make("sqs"),
            budgets=make("budgets"),
            sts=make("sts"),
            endpoint_url=endpoint_url,
        )
