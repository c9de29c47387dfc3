"""Paging on-call when automation has run out (a rollback that itself failed): SNS, journaled.

The page goes to one SNS topic (created if missing; moto in the sandbox, SNS in AWS) with bounded
timeouts, and the journal records ``oncall_paged`` with whom, why, and whether SNS accepted it. A
page that cannot be delivered is recorded as such and never raises: the run still ends in its
known ``failed`` state, and the report and the play's message name on-call as well.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bedrock_release.pipeline.journal import Journal
from bedrock_release.plan import ON_CALL

__all__ = ["DEFAULT_TOPIC", "page_oncall"]

DEFAULT_TOPIC = "bedrock-release-oncall"
_CONFIG = Config(retries={"total_max_attempts": 2}, connect_timeout=3, read_timeout=5)


def page_oncall(
    run_dir: str | os.PathLike[str],
    reason: str,
    *,
    topic: str = DEFAULT_TOPIC,
    region: str,
    endpoint_url: str = "",
    client: Any = None,
) -> dict[str, Any]:
    """Publish the page and journal ``oncall_paged``; return the journaled data."""
    to = [f"{level}: {person}" for level, person in ON_CALL]
    run_id = Path(run_dir).name
    data: dict[str, Any] = {"to": to, "reason": reason, "channel": "sns", "topic": topic, "delivered": False}
    try:
        sns = client or boto3.client(
            "sns",
            region_name=region,
            config=_CONFIG,
            **({"endpoint_url": endpoint_url} if endpoint_url else {}),
        )
        arn = sns.create_topic(Name=topic)["TopicArn"]
        answer = sns.publish(
            TopicArn=arn,
            Subject=f"bedrock-release {run_id}: manual intervention required"[:100],
            Message=f"run {run_id}: {reason}\non-call: {', '.join(to)}",
        )
        data.update(topic_arn=arn, message_id=answer["MessageId"], delivered=True)
    except (BotoCoreError, ClientError, KeyError) as exc:
        data["error"] = f"{type(exc).__name__}: {exc}"[:500]
    Journal(Path(run_dir) / "audit.jsonl").record("oncall_paged", data)
    return data
