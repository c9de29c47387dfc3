"""Bearer-token check shared by the admin endpoints of the emulator and the MCP server."""

from __future__ import annotations

import hmac

__all__ = ["bearer_ok"]


def bearer_ok(authorization: str | None, token: str) -> bool:
    """Whether an Authorization header carries exactly this bearer token."""
    if not authorization or not token:
        return False
    scheme, _, value = authorization.partition(" ")
    # compare_digest: the admin token must not leak through response timing.
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())
