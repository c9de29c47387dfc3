"""Bedrock model invocation logging as AWS does it: one ``ModelInvocationLog`` record per invocation,
delivered to a CloudWatch Logs log group (moto's in the sandbox) after the call, never in its way.

The record has the documented shape ("Monitor model invocation using CloudWatch Logs and Amazon S3"):
``schemaType``, ``schemaVersion``, ``timestamp``, ``accountId``, ``identity {arn}``, ``region``,
``requestId``, ``operation`` (Converse, InvokeModel), ``modelId``, ``input {inputContentType,
inputBodyJson, inputTokenCount}``, ``output {outputContentType, outputBodyJson, outputTokenCount}``; a
failed invocation carries ``errorCode`` and no output. Requests that fail authentication are in no
account's log. Records go to the log group in the invocation's region, as Bedrock's do; the
verification suite reads them back with stock boto3 ``logs`` (bedrock_release.suite.invocation_logs).

Delivery runs in a background thread in batches. A log group that does not exist yet (moto is seeded
after the emulator starts) keeps records pending and retried; records older than ``max_age_s`` are
dropped and counted, as undeliverable logs are lost in AWS.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["DEFAULT_LOG_STREAM", "InvocationLogWriter", "LogDestination", "invocation_record"]

_log = logging.getLogger(__name__)

#: The stream Bedrock writes its invocation logs to.
DEFAULT_LOG_STREAM = "aws/bedrock/modelinvocations"
_OPERATIONS = {"converse": "Converse", "invoke": "InvokeModel"}


def invocation_record(
    *,
    at: datetime,
    region: str,
    account_id: str = "",
    identity_arn: str = "",
    request_id: str,
    operation: str,
    model_id: str,
    request_body: Any,
    input_tokens: int,
    response_body: Any = None,
    output_tokens: int = 0,
    error_code: str | None = None,
) -> dict[str, Any]:
    """One ModelInvocationLog record (``operation`` as the emulator names it: converse or invoke)."""
    record: dict[str, Any] = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "accountId": account_id,
        "identity": {"arn": identity_arn},
        "region": region,
        "requestId": request_id,
        "operation": _OPERATIONS.get(operation, operation),
        "modelId": model_id,
        "input": {
            "inputContentType": "application/json",
            "inputBodyJson": request_body,
            "inputTokenCount": input_tokens,
        },
    }
    if error_code is not None:
        record["errorCode"] = error_code
    else:
        record["output"] = {
            "outputContentType": "application/json",
            "outputBodyJson": response_body,
            "outputTokenCount": output_tokens,
        }
    return record


@dataclass(frozen=True)
class LogDestination:
    """Where invocation logs go: the log group and stream (the group's region is the invocation's)."""

    log_group: str
    log_stream: str = DEFAULT_LOG_STREAM


@dataclass
class _Pending:
    queued_at: float
    timestamp_ms: int
    record: dict[str, Any]


class InvocationLogWriter:
    """Queues records per region and delivers them with PutLogEvents from one background thread."""

    def __init__(
        self,
        destination: LogDestination,
        *,
        client_for: Callable[[str, str], Any] | None = None,
        flush_interval_s: float = 0.2,
        max_age_s: float = 120.0,
        max_pending: int = 50_000,
    ) -> None:
        self.destination = destination
        self._client_for = client_for or _boto3_logs_client
        self._clients: dict[str, Any] = {}
        self._streams: set[str] = set()
        self._interval = flush_interval_s
        self._max_age = max_age_s
        self._max_pending = max_pending
        self._pending: dict[str, list[_Pending]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self.dropped = 0
        self.last_error: str | None = None
        self._identity: tuple[str, str] | None = None
        self._in_flight = 0

    def submit(self, region: str, record: Mapping[str, Any]) -> None:
        """Queue one record for the log group of its region (never blocks, never raises).

        ``accountId`` and ``identity`` are filled in on delivery, from STS for the credentials the
        emulator logs with: asking here would hold up the invocation.
        """
        entry = _Pending(time.monotonic(), int(time.time() * 1000), dict(record))
        with self._lock:
            if sum(len(q) for q in self._pending.values()) >= self._max_pending:
                self.dropped += 1
                return
            self._pending.setdefault(region, []).append(entry)
        self._wake.set()

    def start(self) -> None:
        """Start the delivery thread."""
        self._thread = threading.Thread(target=self._run, name="invocation-log", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Deliver what is pending (bounded) and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def stats(self) -> dict[str, Any]:
        """Delivered, pending and dropped records and the last delivery error (admin API)."""
        with self._lock:
            pending = sum(len(q) for q in self._pending.values()) + self._in_flight
        return {
            "log_group": self.destination.log_group,
            "log_stream": self.destination.log_stream,
            "delivered": self.delivered,
            "pending": pending,
            "dropped": self.dropped,
            "last_error": self.last_error,
        }

    def flush(self) -> None:
        """Deliver every region's pending records once (the thread calls it; tests may too)."""
        with self._lock:
            batches, self._pending = self._pending, {}
            self._in_flight = sum(len(q) for q in batches.values())
        for region, entries in batches.items():
            kept = self._deliver(region, entries)
            with self._lock:
                self._in_flight -= len(entries)
                if kept:
                    self._pending[region] = kept + self._pending.get(region, [])

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self.flush()
            time.sleep(self._interval)  # batch what arrives meanwhile
        self.flush()

    def _deliver(self, region: str, entries: list[_Pending]) -> list[_Pending]:
        """PutLogEvents in time order, at most 10 000 a call; return what is left to retry."""
        now = time.monotonic()
        fresh = sorted(
            (e for e in entries if now - e.queued_at <= self._max_age), key=lambda e: e.timestamp_ms
        )
        self.dropped += len(entries) - len(fresh)
        group, stream = self.destination.log_group, self.destination.log_stream
        while fresh:
            chunk = fresh[:10_000]
            try:
                client = self._clients.get(region) or self._clients.setdefault(
                    region, self._client_for(region, "logs")
                )
                if self._identity is None:
                    who = self._client_for(region, "sts").get_caller_identity()
                    self._identity = (str(who["Account"]), str(who["Arn"]))
                if region not in self._streams:
                    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                        client.create_log_stream(logGroupName=group, logStreamName=stream)
                    self._streams.add(region)
                client.put_log_events(
                    logGroupName=group,
                    logStreamName=stream,
                    logEvents=[{"timestamp": e.timestamp_ms, "message": self._message(e)} for e in chunk],
                )
            except Exception as exc:  # a missing group (not seeded yet), moto restarting: retried later
                self.last_error = f"{region} {group}: {type(exc).__name__}: {exc}"
                self._streams.discard(region)
                _log.warning("invocation log delivery failed (retried): %s", self.last_error)
                return fresh
            self.delivered += len(chunk)
            fresh = fresh[len(chunk) :]
        self.last_error = None
        return []

    def _message(self, entry: _Pending) -> str:
        account, arn = self._identity or ("", "")
        return json.dumps(
            {**entry.record, "accountId": account, "identity": {"arn": arn}}, ensure_ascii=False
        )


def _boto3_logs_client(region: str, service: str) -> Any:
    """A stock boto3 client; its endpoint and credentials come from the environment (moto in the sandbox)."""
    import boto3  # noqa: PLC0415 - only the delivery thread needs boto3
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(
        service,
        region_name=region,
        config=Config(retries={"total_max_attempts": 2}, connect_timeout=2, read_timeout=10, proxies={}),
    )
