"""Where the shared lock and state of an environment live: one DynamoDB table, one S3 bucket.

Every controller of an environment (an operator's clone, a CI runner, the watchdog's timer) reads the
same inventory variables (``release_lock_table``, ``release_state_bucket``, ``release_lock_heartbeat_s``,
``release_lock_expiry_s``, with ``aws_region`` and ``release_aws_endpoint_url``), so they meet in the
same table and bucket. A run keeps the configuration it started with in its ``target.json``
(``shared_state``), where every later writer of that run (modules, the suite, operators) finds it.

Clients are built from one botocore session per process: the service models load once, in the
controller before Ansible forks its task workers (``warm``), not again in every worker.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bedrock_release.inventory_validation import InvalidValueError

__all__ = [
    "TARGET_KEY",
    "SharedState",
    "SharedStateUnavailableError",
    "aws_error_text",
    "of_run",
    "warm",
]

#: The key of ``target.json`` that holds a run's shared-state configuration.
TARGET_KEY = "shared_state"
#: A holder that missed this many heartbeats in a row has almost surely died (the lock looks stale).
MISSED_BEATS = 3

_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SERVICES = ("dynamodb", "s3")
_botocore_session: Any = None


class SharedStateUnavailableError(RuntimeError):
    """The lock table or the state bucket did not answer; the message names it, the endpoint and why."""


def _number(raw: Mapping[str, Any], key: str, source: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or value is None:
        raise InvalidValueError(f"{source}.{key}", value, "must be a number of seconds")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValueError(f"{source}.{key}", value, "must be a number of seconds") from None
    if not number > 0:
        raise InvalidValueError(f"{source}.{key}", value, "must be > 0")
    return number


def _flag(value: Any, variable: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise InvalidValueError(variable, value, "must be a boolean")


@dataclass(frozen=True)
class SharedState:
    """The lock table, the state bucket, how to reach them, and the lock's heartbeat and expiry."""

    lock_table: str
    bucket: str
    region: str
    endpoint_url: str | None
    heartbeat_s: float
    expiry_s: float
    sandbox: bool = False
    prefix: str = "runs/"

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], source: str = "shared_state") -> SharedState:
        """Validate the inventory's values; InvalidValueError names the variable, its value and the fault."""
        if not isinstance(raw, Mapping):
            raise InvalidValueError(source, raw, "must be a mapping (lock_table, bucket, region, ...)")
        table, bucket = raw.get("lock_table"), raw.get("bucket")
        if not isinstance(table, str) or not _TABLE.match(table):
            raise InvalidValueError(
                f"{source}.lock_table", table, "must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)"
            )
        if not isinstance(bucket, str) or not _BUCKET.match(bucket) or ".." in bucket:
            raise InvalidValueError(
                f"{source}.bucket", bucket, "must be an S3 bucket name (3-63 of a-z 0-9 . -, no '..')"
            )
        region = raw.get("region")
        if not isinstance(region, str) or not region:
            raise InvalidValueError(f"{source}.region", region, "must be an AWS region")
        endpoint = raw.get("endpoint_url") or None
        if endpoint is not None and not (
            isinstance(endpoint, str) and endpoint.startswith(("http://", "https://"))
        ):
            raise InvalidValueError(f"{source}.endpoint_url", endpoint, "must be an http(s) URL or empty")
        heartbeat = _number(raw, "heartbeat_s", source)
        expiry = _number(raw, "expiry_s", source)
        if expiry <= MISSED_BEATS * heartbeat:
            raise InvalidValueError(
                f"{source}.expiry_s",
                raw.get("expiry_s"),
                f"must exceed {MISSED_BEATS} heartbeats ({MISSED_BEATS} x {heartbeat:g} s): a lock must look "
                "stale, so that an operator can resume, before the watchdog may roll the run back",
            )
        prefix = str(raw.get("prefix") or "runs/")
        if not prefix.endswith("/") or prefix.startswith("/"):
            raise InvalidValueError(f"{source}.prefix", prefix, "must be a relative key prefix ending in '/'")
        return cls(
            lock_table=table,
            bucket=bucket,
            region=region,
            endpoint_url=endpoint,
            heartbeat_s=heartbeat,
            expiry_s=expiry,
            sandbox=_flag(raw.get("sandbox", False), f"{source}.sandbox"),
            prefix=prefix,
        )

    @property
    def stale_after_s(self) -> float:
        """Heartbeat age after which the holder is presumed dead (``MISSED_BEATS`` beats missed)."""
        return MISSED_BEATS * self.heartbeat_s

    @property
    def endpoint_text(self) -> str:
        """The endpoint for messages: the override, or AWS's own in the region."""
        return self.endpoint_url or f"AWS's endpoint in {self.region}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (target.json's ``shared_state``, module arguments)."""
        return asdict(self)

    def client(self, service: str) -> Any:
        """A boto3 client of the table's or bucket's service: attempts and waits bounded, no proxies."""
        from botocore.config import Config  # noqa: PLC0415 - botocore is slow to import

        if service not in _SERVICES:
            raise ValueError(f"service must be one of {_SERVICES}, got {service!r}")
        session = _session()
        return session.create_client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            config=Config(
                retries={"total_max_attempts": 3, "mode": "standard"},
                connect_timeout=3,
                read_timeout=10,
                proxies={},
            ),
            **_credentials(self.sandbox),
        )


def _credentials(sandbox: bool) -> dict[str, str]:
    """The environment's keys; in the sandbox its public test keys when none are set; else boto's chain."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        found = {"aws_access_key_id": key, "aws_secret_access_key": secret}
        if os.environ.get("AWS_SESSION_TOKEN"):
            found["aws_session_token"] = os.environ["AWS_SESSION_TOKEN"]
        return found
    if sandbox:
        from bedrock_release.suite.clients import (  # noqa: PLC0415
            SANDBOX_AWS_ACCESS_KEY_ID,
            SANDBOX_AWS_SECRET_ACCESS_KEY,
        )

        return {
            "aws_access_key_id": SANDBOX_AWS_ACCESS_KEY_ID,
            "aws_secret_access_key": SANDBOX_AWS_SECRET_ACCESS_KEY,
        }
    return {}


def _session() -> Any:
    global _botocore_session  # noqa: PLW0603 - one session per process is the point (loaded models)
    if _botocore_session is None:
        import botocore.session  # noqa: PLC0415

        _botocore_session = botocore.session.get_session()
    return _botocore_session


def warm() -> None:
    """Load the DynamoDB and S3 models once (the controller calls this before its workers fork)."""
    session = _session()
    for service in _SERVICES:
        session.get_service_model(service)
        session.get_service_data(service)
    session.get_component("endpoint_resolver")


def aws_error_text(exc: BaseException) -> str:
    """A short reason from a botocore error: the error code and message, or the exception's text."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def of_run(run_dir: str | os.PathLike[str]) -> SharedState | None:
    """The shared-state configuration a run started with (its target.json), None when it has none."""
    target = Path(run_dir) / "target.json"
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise InvalidValueError(str(target), "<unparsable>", f"is not JSON ({exc})") from None
    raw = data.get(TARGET_KEY) if isinstance(data, dict) else None
    return None if raw is None else SharedState.from_mapping(raw, f"{target}: {TARGET_KEY}")
