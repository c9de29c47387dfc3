"""Clients the steps use: HTTP (loopback-safe), boto3 bound to the target, secrets from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from bedrock_release.suite.target import Target

__all__ = [
    "SANDBOX_AWS_ACCESS_KEY_ID",
    "SANDBOX_AWS_SECRET_ACCESS_KEY",
    "Secrets",
    "aws_client",
    "aws_session",
    "http_session",
]

# The sandbox's public test credentials (docs/sandbox.md); used only for the local environment
# when the environment gives none. They are not secrets: the emulator accepts exactly this key.
SANDBOX_AWS_ACCESS_KEY_ID = "AKIASANDBOXEXAMPLE01"
SANDBOX_AWS_SECRET_ACCESS_KEY = "sandbox-secret-access-key-not-a-secret"  # noqa: S105 - public test value


@dataclass(frozen=True)
class Secrets:
    """Admin tokens from the environment only (never files, never target.json); repr hides them."""

    support_admin_token: str | None
    emulator_admin_token: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Secrets:
        """Read SUPPORT_ADMIN_TOKEN and EMULATOR_ADMIN_TOKEN."""
        source = os.environ if env is None else env
        return cls(source.get("SUPPORT_ADMIN_TOKEN") or None, source.get("EMULATOR_ADMIN_TOKEN") or None)

    def __repr__(self) -> str:
        have = [
            n
            for n, v in (("support", self.support_admin_token), ("emulator", self.emulator_admin_token))
            if v
        ]
        return f"Secrets(<hidden: {', '.join(have) or 'none'}>)"


def http_session() -> requests.Session:
    """Return a session that ignores proxy variables (the sandbox is loopback only)."""
    session = requests.Session()
    session.trust_env = False
    return session


def _credentials(target: Target, env: Mapping[str, str]) -> dict[str, str]:
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        out = {"aws_access_key_id": key, "aws_secret_access_key": secret}
        if env.get("AWS_SESSION_TOKEN"):
            out["aws_session_token"] = env["AWS_SESSION_TOKEN"]
        return out
    if target.is_sandbox:
        return {
            "aws_access_key_id": SANDBOX_AWS_ACCESS_KEY_ID,
            "aws_secret_access_key": SANDBOX_AWS_SECRET_ACCESS_KEY,
        }
    return {}  # boto3's own chain (instance role, profile) in a real AWS environment


def aws_client(
    target: Target,
    service: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    max_attempts: int = 2,
    env: Mapping[str, str] | None = None,
) -> Any:
    """Return a boto3 client at the target's endpoint (moto in the sandbox), attempts bounded.

    ``endpoint_url`` defaults to the target's ``aws`` endpoint (``bedrock`` for bedrock-runtime);
    a null endpoint outside the sandbox means AWS's own endpoint.
    """
    import boto3  # noqa: PLC0415 - boto3 is slow to import; unit tests of other modules skip it
    from botocore.config import Config  # noqa: PLC0415

    source = os.environ if env is None else env
    if endpoint_url is None:
        endpoint_url = target.endpoints.bedrock if service == "bedrock-runtime" else target.endpoints.aws
    if endpoint_url is None and target.is_sandbox:
        raise ValueError(f"the target has no endpoint for {service}")
    credentials = _credentials(target, source)
    if access_key_id is not None:
        credentials = {**credentials, "aws_access_key_id": access_key_id}
    default_region = target.bedrock_region if service == "bedrock-runtime" else target.aws_region
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region or default_region,
        config=Config(
            retries={"total_max_attempts": max_attempts},
            connect_timeout=3,
            read_timeout=15,
            proxies={},
        ),
        **credentials,
    )


def aws_session(target: Target, env: Mapping[str, str] | None = None) -> Any:
    """Return a boto3 Session with the target's credentials (sandbox test keys when none are set)."""
    import boto3  # noqa: PLC0415

    credentials = _credentials(target, os.environ if env is None else env)
    return boto3.session.Session(region_name=target.aws_region, **credentials)
