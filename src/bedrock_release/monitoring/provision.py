"""Creating the on-call topic, the dashboard and the alarms, idempotently.

Each ensure reads what exists, compares it with the definition in a normalised form, and writes only
what differs, so a second run reports ``changed=False``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bedrock_release.monitoring.config import AwsClients, MonitoringConfig
from bedrock_release.monitoring.dashboard import DashboardDefinition, dashboard_definition
from bedrock_release.monitoring.definitions import (
    AlarmDefinition,
    alarm_definitions,
    canary_definition,
    normalise_alarm,
)
from bedrock_release.monitoring.results import ChangeResult, ProvisionResult, TopicResult
from bedrock_release.monitoring.thresholds import Thresholds, load_thresholds

__all__ = [
    "MonitoringError",
    "ensure_alarms",
    "ensure_dashboard",
    "ensure_monitoring",
    "ensure_topic",
    "find_topic",
    "resolve_budget",
]


class MonitoringError(RuntimeError):
    """CloudWatch, SNS, SQS or Budgets refused or answered something unusable."""


def find_topic(sns: Any, name: str) -> str | None:
    """ARN of the topic with this name, or None."""
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            arn = str(topic["TopicArn"])
            if arn.rsplit(":", 1)[-1] == name:
                return arn
    return None


def _queue_policy(queue_arn: str, topic_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnCallTopicDelivers",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }


def _ensure_queue(
    clients: AwsClients, name: str, topic_arn: str, created: list[str], *, check_mode: bool
) -> tuple[str | None, str, bool]:
    sqs = clients.sqs
    changed = False
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        created.append(f"queue {name}")
        if check_mode:
            account = clients.sts.get_caller_identity()["Account"]
            return None, f"arn:aws:sqs:{clients.sqs.meta.region_name}:{account}:{name}", True
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        changed = True
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "Policy"])["Attributes"]
    arn = attrs["QueueArn"]
    wanted = _queue_policy(arn, topic_arn)
    current = json.loads(attrs["Policy"]) if attrs.get("Policy") else None
    if current != wanted:
        if not check_mode:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(wanted, sort_keys=True)})
        changed = True
    return url, arn, changed


def _find_subscription(sns: Any, topic_arn: str, queue_arn: str) -> str | None:
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for sub in page.get("Subscriptions", []):
            if sub.get("Protocol") == "sqs" and sub.get("Endpoint") == queue_arn:
                return str(sub["SubscriptionArn"])
    return None


def ensure_topic(clients: AwsClients, cfg: MonitoringConfig, *, check_mode: bool = False) -> TopicResult:
    """The on-call topic; with ``delivery_queue_name`` also an SQS queue subscribed to it.

    In check mode nothing is written; what would be created is reported, with predicted ARNs.
    """
    created: list[str] = []
    topic_arn = find_topic(clients.sns, cfg.topic_name)
    topic_exists = topic_arn is not None
    if topic_arn is None:
        created.append(f"topic {cfg.topic_name}")
        if check_mode:
            account = clients.sts.get_caller_identity()["Account"]
            topic_arn = f"arn:aws:sns:{cfg.region}:{account}:{cfg.topic_name}"
        else:
            topic_arn = clients.sns.create_topic(Name=cfg.topic_name)["TopicArn"]
            topic_exists = True
    if not cfg.delivery_queue_name:
        return TopicResult(changed=bool(created), topic_arn=topic_arn, created=tuple(created))
    url, queue_arn, queue_changed = _ensure_queue(
        clients, cfg.delivery_queue_name, topic_arn, created, check_mode=check_mode
    )
    sub = _find_subscription(clients.sns, topic_arn, queue_arn) if topic_exists and url else None
    if sub is None:
        created.append(f"subscription {cfg.delivery_queue_name} -> {cfg.topic_name}")
        if not check_mode:
            sub = clients.sns.subscribe(
                TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
            )["SubscriptionArn"]
    return TopicResult(
        changed=bool(created) or queue_changed,
        topic_arn=topic_arn,
        queue_url=url,
        queue_arn=queue_arn,
        subscription_arn=sub,
        created=tuple(created),
    )


def resolve_budget(clients: AwsClients, cfg: MonitoringConfig) -> tuple[float, str]:
    """The allocated budget in USD and where it came from (the configuration, or AWS Budgets)."""
    if cfg.budget_usd is not None:
        return float(cfg.budget_usd), "configuration"
    account = clients.sts.get_caller_identity()["Account"]
    try:
        budget = clients.budgets.describe_budget(AccountId=account, BudgetName=cfg.budget_name)["Budget"]
    except clients.budgets.exceptions.NotFoundException:
        raise MonitoringError(f"budget {cfg.budget_name!r} does not exist in AWS Budgets") from None
    limit = budget.get("BudgetLimit") or {}
    if limit.get("Unit") != "USD":
        raise MonitoringError(f"budget {cfg.budget_name!r} is not in USD: {limit!r}")
    amount = float(limit["Amount"])
    if not amount > 0:
        raise MonitoringError(f"budget {cfg.budget_name!r} has limit {amount!r}; it must be > 0")
    return amount, f"AWS Budgets {cfg.budget_name} (limit {amount:g} USD)"


def ensure_dashboard(cw: Any, definition: DashboardDefinition, *, check_mode: bool = False) -> ChangeResult:
    """Put the dashboard unless an identical body is already there (check mode: only report)."""
    wanted = definition.body()
    existing: Mapping[str, Any] | None
    try:
        existing = json.loads(cw.get_dashboard(DashboardName=definition.name)["DashboardBody"])
    except cw.exceptions.ResourceNotFound:
        existing = None
    except json.JSONDecodeError:
        existing = {}
    if existing == wanted:
        return ChangeResult(changed=False, unchanged=(definition.name,))
    if check_mode:
        return ChangeResult(
            changed=True, **{"created" if existing is None else "updated": (definition.name,)}
        )
    response = cw.put_dashboard(DashboardName=definition.name, DashboardBody=definition.body_json())
    messages = response.get("DashboardValidationMessages") or []
    if messages:
        raise MonitoringError(f"dashboard {definition.name} refused: {messages}")
    if existing is None:
        return ChangeResult(changed=True, created=(definition.name,))
    return ChangeResult(changed=True, updated=(definition.name,))


def _describe(cw: Any, names: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for offset in range(0, len(names), 100):
        response = cw.describe_alarms(
            AlarmNames=list(names[offset : offset + 100]), AlarmTypes=["MetricAlarm"]
        )
        for alarm in response.get("MetricAlarms", []):
            found[alarm["AlarmName"]] = alarm
    return found


def ensure_alarms(
    cw: Any, alarms: Iterable[AlarmDefinition | Mapping[str, Any]], *, check_mode: bool = False
) -> ChangeResult:
    """Put each alarm whose definition differs from what CloudWatch holds (check mode: only report)."""
    requests = [a.put_kwargs() if isinstance(a, AlarmDefinition) else dict(a) for a in alarms]
    existing = _describe(cw, [r["AlarmName"] for r in requests])
    created, updated, unchanged = [], [], []
    for request in requests:
        name = request["AlarmName"]
        current = existing.get(name)
        if current is not None and normalise_alarm(current) == normalise_alarm(request):
            unchanged.append(name)
            continue
        if not check_mode:
            cw.put_metric_alarm(**request)
        (updated if current is not None else created).append(name)
    return ChangeResult(
        changed=bool(created or updated),
        created=tuple(created),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
    )


def ensure_monitoring(
    clients: AwsClients,
    cfg: MonitoringConfig,
    *,
    thresholds: Thresholds | None = None,
    check_mode: bool = False,
) -> ProvisionResult:
    """Topic (and delivery queue), dashboard, the eight alarms and the alerting canary."""
    th = thresholds or load_thresholds(cfg.features_dir)
    budget, budget_source = resolve_budget(clients, cfg)
    topic = ensure_topic(clients, cfg, check_mode=check_mode)
    dashboard = ensure_dashboard(
        clients.cloudwatch, dashboard_definition(cfg, budget_usd=budget, thresholds=th), check_mode=check_mode
    )
    definitions = alarm_definitions(cfg, topic_arn=topic.topic_arn, budget_usd=budget, thresholds=th)
    alarms = ensure_alarms(
        clients.cloudwatch,
        [*definitions, canary_definition(cfg, topic_arn=topic.topic_arn)],
        check_mode=check_mode,
    )
    return ProvisionResult(
        changed=topic.changed or dashboard.changed or alarms.changed,
        topic=topic,
        dashboard=dashboard,
        alarms=alarms,
        budget_usd=budget,
        budget_source=budget_source,
    )
