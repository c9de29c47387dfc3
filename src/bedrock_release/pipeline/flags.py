"""The five feature flags in SSM Parameter Store (docs/contracts.md "Feature flags").

``<flags_path>/<FLAG>`` String parameters holding ``true`` or ``false``; a missing parameter is off.
The pipeline snapshots them before a deploy, sets them one at a time in the plan's order, and a
full rollback restores the snapshot. Every SSM call goes through the store's ``retry``
(``bedrock_release.pipeline.retry``): once by default, again after a throttling or an unanswered
call until the deadline of a rollback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from bedrock_release.pipeline.retry import NO_RETRY, Retry
from bedrock_release.plan import FLAGS

__all__ = ["FlagChange", "FlagStore", "FlagStoreError", "ssm_client"]


class FlagStoreError(RuntimeError):
    """The flag store holds something that is not a flag value, or cannot be reached."""


def ssm_client(region: str, endpoint_url: str = "", **kwargs: Any) -> Any:
    """Return a boto3 SSM client with bounded retries (moto in the sandbox, real SSM elsewhere)."""
    options: dict[str, Any] = {
        "region_name": region,
        "config": Config(retries={"total_max_attempts": 4}, connect_timeout=3, read_timeout=10),
    }
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    return boto3.client("ssm", **options, **kwargs)


@dataclass(frozen=True)
class FlagChange:
    """One flag set: its value before (None: parameter absent) and after, and whether it changed."""

    flag: str
    value: bool
    previous: bool | None

    @property
    def changed(self) -> bool:
        """Return True when the stored value changed (absent counts as off)."""
        return bool(self.previous) != self.value or self.previous is None


def _parse(name: str, raw: str) -> bool:
    if raw == "true":
        return True
    if raw == "false":
        return False
    raise FlagStoreError(f"SSM parameter {name} holds {raw!r}; a flag is 'true' or 'false'")


@dataclass(frozen=True)
class FlagStore:
    """The flags under one SSM path."""

    client: Any
    path: str
    retry: Retry = field(default=NO_RETRY, compare=False)

    def name(self, flag: str) -> str:
        """Return the parameter name of a flag."""
        if flag not in FLAGS:
            raise ValueError(f"{flag!r} is not one of the plan's flags: {', '.join(FLAGS)}")
        return f"{self.path.rstrip('/')}/{flag}"

    def get(self, flag: str) -> bool | None:
        """Return a flag's stored value, None when the parameter does not exist."""
        name = self.name(flag)
        try:
            raw = self.retry(lambda: self.client.get_parameter(Name=name), f"SSM get_parameter {name}")
        except self.client.exceptions.ParameterNotFound:
            return None
        return _parse(name, raw["Parameter"]["Value"])

    def snapshot(self) -> dict[str, bool | None]:
        """Return every flag's stored value (None = absent), in the plan's order."""
        return {flag: self.get(flag) for flag in FLAGS}

    def set(self, flag: str, value: bool, *, check_mode: bool = False) -> FlagChange:
        """Set a flag; a no-op (no write) when it already holds the value."""
        previous = self.get(flag)
        change = FlagChange(flag, value, previous)
        if previous is value or check_mode:
            return change
        name, text = self.name(flag), "true" if value else "false"
        self.retry(
            lambda: self.client.put_parameter(Name=name, Value=text, Type="String", Overwrite=True),
            f"SSM put_parameter {name}={text}",
        )
        return change

    def restore(self, snapshot: Mapping[str, bool | None], *, check_mode: bool = False) -> list[FlagChange]:
        """Put every flag back to a snapshot (absent flags are written as off, which means the same)."""
        return [
            self.set(flag, bool(snapshot.get(flag)), check_mode=check_mode)
            for flag in FLAGS
            if flag in snapshot
        ]
