"""SigV4 Authorization header check: the caller must sign with the sandbox's access key."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BedrockError, ErrorKind

__all__ = ["Caller", "authenticate"]

_SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]{16,128})/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Caller:
    """Who signed a request and for which region."""

    access_key: str
    region: str
    service: str


def authenticate(authorization: str | None, access_key: str) -> Caller:
    """Parse the SigV4 header and accept only the sandbox access key, else AccessDenied."""
    if not authorization:
        raise BedrockError(
            ErrorKind.ACCESS_DENIED, "Missing Authentication Token: a SigV4 signature is required."
        )
    match = _SIGV4.match(authorization.strip())
    if match is None:
        # Bearer (API key) auth exists for Bedrock, but the sandbox accepts SigV4 only.
        raise BedrockError(ErrorKind.ACCESS_DENIED, "Authorization header is not a SigV4 signature.")
    if match["key"] != access_key:
        raise BedrockError(ErrorKind.ACCESS_DENIED, "The security token included in the request is invalid.")
    if match["service"] != "bedrock":
        raise BedrockError(
            ErrorKind.ACCESS_DENIED,
            f"Credential should be scoped to service 'bedrock', not {match['service']!r}.",
        )
    # The signature itself is not recomputed: the emulator proves who called, not wire integrity.
    return Caller(access_key=match["key"], region=match["region"], service=match["service"])
