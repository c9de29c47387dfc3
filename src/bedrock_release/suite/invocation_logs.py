"""Bedrock model invocation logs, read as production has them: the CloudWatch Logs group to which
Bedrock delivers one ``ModelInvocationLog`` record per invocation (docs/contracts.md "Bedrock model
invocation logs"), through stock boto3 ``logs`` at the target's AWS endpoint.

Bedrock delivers to the log group of the invocation's region, asynchronously: a check waits for the
records it expects, bounded by ``DELIVERY_TIMEOUT_S``, and never for a fixed time. A record that is
not in the documented format is an error naming the log group, stream and event, never skipped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "DELIVERY_TIMEOUT_S",
    "Invocation",
    "InvocationLog",
    "InvocationLogError",
    "InvocationLogSource",
    "parse_invocation",
    "read_invocations",
    "wait_for_markers",
]

#: How long a check waits for Bedrock to deliver the records of the calls it made.
DELIVERY_TIMEOUT_S = 120.0
#: Read from this long before a check's first call: the runner's clock and AWS's may differ a little.
CLOCK_MARGIN = timedelta(seconds=30)


class InvocationLogError(ValueError):
    """The invocation logs cannot be read or a record is not in the documented format."""


@dataclass(frozen=True)
class Invocation:
    """One ModelInvocationLog record."""

    timestamp: datetime
    region: str
    request_id: str
    operation: str
    model_id: str
    account_id: str
    input_body: Any
    input_tokens: int
    output_body: Any
    output_tokens: int
    error_code: str | None

    @property
    def ok(self) -> bool:
        """Whether the model answered (a failed invocation carries an error code)."""
        return self.error_code is None

    def input_text(self) -> str:
        """The request body as text (markers and personal data are looked for in it)."""
        body = self.input_body
        return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)

    def user_texts(self) -> tuple[str, ...]:
        """The text of every user turn (Converse, Anthropic Messages and Titan bodies)."""
        body = self.input_body if isinstance(self.input_body, Mapping) else {}
        if isinstance(body.get("inputText"), str):
            return (body["inputText"],)
        out: list[str] = []
        for message in body.get("messages") or []:
            if not isinstance(message, Mapping) or message.get("role") != "user":
                continue
            content = message.get("content")
            blocks = [{"text": content}] if isinstance(content, str) else content or []
            out += [b["text"] for b in blocks if isinstance(b, Mapping) and isinstance(b.get("text"), str)]
        return tuple(out)

    def summary(self) -> dict[str, Any]:
        """What evidence shows of it (without the bodies)."""
        return {
            "timestamp": self.timestamp.isoformat(),
            "region": self.region,
            "request_id": self.request_id,
            "operation": self.operation,
            "model_id": self.model_id,
            "error_code": self.error_code,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }


def _field(record: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = record.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvocationLogError(f"{where}: {key!r} must be a {kind.__name__}, got {value!r}")
    return value


def parse_invocation(message: str, where: str) -> Invocation:
    """Parse one log event; InvocationLogError names ``where`` and what is wrong."""
    try:
        record = json.loads(message)
    except json.JSONDecodeError as exc:
        raise InvocationLogError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(record, Mapping) or record.get("schemaType") != "ModelInvocationLog":
        raise InvocationLogError(f"{where}: not a ModelInvocationLog record")
    raw_input = _field(record, "input", Mapping, where)
    output = record.get("output")
    error = record.get("errorCode")
    if error is None and not isinstance(output, Mapping):
        raise InvocationLogError(f"{where}: neither an output nor an errorCode")
    try:
        stamp = datetime.fromisoformat(str(_field(record, "timestamp", str, where)).replace("Z", "+00:00"))
    except ValueError:
        raise InvocationLogError(f"{where}: timestamp {record.get('timestamp')!r} is not RFC 3339") from None
    output = output if isinstance(output, Mapping) else {}
    return Invocation(
        timestamp=stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC),
        region=_field(record, "region", str, where),
        request_id=_field(record, "requestId", str, where),
        operation=_field(record, "operation", str, where),
        model_id=_field(record, "modelId", str, where),
        account_id=str(record.get("accountId", "")),
        input_body=raw_input.get("inputBodyJson"),
        input_tokens=int(raw_input.get("inputTokenCount") or 0),
        output_body=output.get("outputBodyJson"),
        output_tokens=int(output.get("outputTokenCount") or 0),
        error_code=str(error) if error is not None else None,
    )


@dataclass(frozen=True)
class InvocationLog:
    """The invocation records of one log group over a time window."""

    group: str
    region: str
    start: datetime
    end: datetime
    invocations: tuple[Invocation, ...]

    @property
    def source(self) -> str:
        """Where the records come from, for evidence."""
        return f"Bedrock model invocation logs, CloudWatch Logs group {self.group} ({self.region})"

    def with_marker(self, marker: str) -> list[Invocation]:
        """The invocations whose request carries the marker."""
        return [i for i in self.invocations if marker in i.input_text()]

    def summary(self) -> dict[str, Any]:
        """Window and counts, for evidence."""
        return {
            "source": self.source,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "invocations": len(self.invocations),
            "failed": sum(1 for i in self.invocations if not i.ok),
        }


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def read_invocations(
    logs: Any, group: str, *, region: str, start: datetime, end: datetime | None = None
) -> InvocationLog:
    """Every record the group holds from ``start`` (minus the clock margin) to ``end`` (now)."""
    if not group:
        raise InvocationLogError(
            "no invocation log group is configured (target bedrock_invocation_log_group)"
        )
    until = end or datetime.now(UTC)
    since = start - CLOCK_MARGIN
    out: list[Invocation] = []
    try:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, startTime=_ms(since), endTime=_ms(until)
        )
        for page in pages:
            for event in page.get("events", []):
                where = f"{group} {event.get('logStreamName')} event {event.get('eventId')}"
                out.append(parse_invocation(str(event.get("message", "")), where))
    except logs.exceptions.ResourceNotFoundException:
        raise InvocationLogError(
            f"log group {group} does not exist in {region}: model invocation logging is not set up"
        ) from None
    except InvocationLogError:
        raise
    except Exception as exc:  # an unreachable or refusing CloudWatch Logs: the check cannot be decided
        raise InvocationLogError(f"{group} ({region}): {type(exc).__name__}: {exc}") from None
    return InvocationLog(group, region, since, until, tuple(out))


def wait_for_markers(
    logs: Any,
    group: str,
    markers: Iterable[str],
    *,
    region: str,
    start: datetime,
    timeout_s: float = DELIVERY_TIMEOUT_S,
    poll_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> InvocationLog:
    """Read until every marker is in a record's request, or ``timeout_s`` passed; return the last read."""
    wanted = set(markers)
    deadline = clock() + timeout_s
    while True:
        log = read_invocations(logs, group, region=region, start=start)
        if all(log.with_marker(m) for m in wanted) or clock() >= deadline:
            return log
        sleep(poll_s)


@dataclass(frozen=True)
class InvocationLogSource:
    """The target's invocation log group with its client (the ``invocation_logs`` fixture)."""

    logs: Any
    group: str
    region: str

    def read(self, start: datetime) -> InvocationLog:
        """Every record since ``start``."""
        return read_invocations(self.logs, self.group, region=self.region, start=start)

    def retention_days(self) -> int | None:
        """The group's retention in days (None: kept for ever)."""
        try:
            found = self.logs.describe_log_groups(logGroupNamePrefix=self.group).get("logGroups", [])
        except Exception as exc:
            raise InvocationLogError(f"{self.group} ({self.region}): {type(exc).__name__}: {exc}") from None
        group = next((g for g in found if g.get("logGroupName") == self.group), None)
        if group is None:
            raise InvocationLogError(f"log group {self.group} does not exist in {self.region}")
        days = group.get("retentionInDays")
        return int(days) if days is not None else None

    def wait_for(self, markers: Iterable[str], start: datetime) -> InvocationLog:
        """Records since ``start`` once each marker has one (or the delivery timeout passed)."""
        return wait_for_markers(self.logs, self.group, markers, region=self.region, start=start)
