"""Guard that keeps every sandbox listener on the loopback interface."""

from __future__ import annotations

import ipaddress

__all__ = ["LOOPBACK", "require_loopback"]

LOOPBACK = "127.0.0.1"


def require_loopback(host: str) -> str:
    """Return host if it is a loopback address, else raise ValueError."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError as exc:
        raise ValueError(f"host must be a loopback IP address, got {host!r}") from exc
    if not address.is_loopback:
        raise ValueError(f"the sandbox listens on loopback only; refusing {host!r}")
    return host
