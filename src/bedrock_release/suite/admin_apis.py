"""The sandbox's admin APIs the checks drive: the Bedrock emulator's and the MCP server's.

Both exist only in the sandbox (docs/sandbox.md); a target without them makes the checks that need
them inconclusive. Request logs are read with a cursor (``after``) so checks see only their own era.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

__all__ = ["AdminApiError", "EmulatorAdmin", "McpAdmin", "ServiceAdmin"]


class AdminApiError(RuntimeError):
    """An admin call failed; names the URL and the status."""


def _call(session: requests.Session, method: str, url: str, token: str, **kwargs: Any) -> Any:
    try:
        response = session.request(
            method,
            url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=kwargs.pop("timeout", 15),
            **kwargs,
        )
    except requests.RequestException as exc:
        raise AdminApiError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 400:
        raise AdminApiError(f"{method} {url}: HTTP {response.status_code}: {response.text[:200]}")
    return response.json() if response.content else None


@dataclass(frozen=True)
class EmulatorAdmin:
    """``/_emulator/*`` of the Bedrock emulator."""

    session: requests.Session
    base_url: str
    token: str

    def add_fault(self, rule: dict[str, Any]) -> list[str]:
        """Add one fault rule; return its id(s)."""
        return list(
            _call(self.session, "POST", f"{self.base_url}/_emulator/faults", self.token, json=rule)["added"]
        )

    def remove_fault(self, rule_id: str) -> None:
        """Remove one fault rule (already gone is fine)."""
        try:
            _call(self.session, "DELETE", f"{self.base_url}/_emulator/faults/{rule_id}", self.token)
        except AdminApiError as exc:
            if "HTTP 404" not in str(exc):
                raise

    def faults(self) -> dict[str, Any]:
        """Return the fault rules in force."""
        return dict(_call(self.session, "GET", f"{self.base_url}/_emulator/faults", self.token))

    def requests_after(self, after: int) -> tuple[int, list[dict[str, Any]]]:
        """Return (last_seq, requests with seq > after), following pages."""
        out: list[dict[str, Any]] = []
        cursor, last = after, after
        while True:
            page = _call(
                self.session,
                "GET",
                f"{self.base_url}/_emulator/requests",
                self.token,
                params={"after": cursor, "limit": 1000},
            )
            items = page.get("requests", [])
            last = int(page.get("last_seq", last))
            out.extend(items)
            if len(items) < 1000:
                return last, out
            cursor = int(items[-1]["seq"])

    def last_seq(self) -> int:
        """Return the sequence number of the newest logged request."""
        page = _call(
            self.session, "GET", f"{self.base_url}/_emulator/requests", self.token, params={"limit": 1}
        )
        return int(page.get("last_seq", 0))


@dataclass(frozen=True)
class McpAdmin:
    """``/_admin/*`` of the MCP support server."""

    session: requests.Session
    base_url: str
    token: str

    def requests_after(self, after: int) -> tuple[int, list[dict[str, Any]]]:
        """Return (last_seq, tool calls with seq > after)."""
        page = _call(
            self.session, "GET", f"{self.base_url}/_admin/requests", self.token, params={"after": after}
        )
        return int(page.get("last_seq", after)), list(page.get("requests", []))

    def last_seq(self) -> int:
        """Return the sequence number of the newest logged tool call."""
        return self.requests_after(2**62)[0]


@dataclass(frozen=True)
class ServiceAdmin:
    """The admin endpoints of one slot of the support service (bearer SUPPORT_ADMIN_TOKEN)."""

    session: requests.Session
    base_url: str
    token: str

    def circuits(self) -> dict[str, Any]:
        """Return every circuit breaker's snapshot."""
        return dict(_call(self.session, "GET", f"{self.base_url}/admin/circuits", self.token)["circuits"])

    def open_circuit(self, name: str) -> dict[str, Any]:
        """Force a circuit open."""
        return dict(_call(self.session, "POST", f"{self.base_url}/admin/circuits/{name}/open", self.token))

    def reset_circuit(self, name: str) -> dict[str, Any]:
        """Close a circuit and forget its failures."""
        return dict(_call(self.session, "POST", f"{self.base_url}/admin/circuits/{name}/reset", self.token))

    def violations(self) -> dict[str, Any]:
        """Return the recorded compliance violations."""
        return dict(_call(self.session, "GET", f"{self.base_url}/admin/compliance/violations", self.token))

    def audit_page(self, after_seq: int, limit: int = 1000) -> list[dict[str, Any]]:
        """Return audit records after a sequence number."""
        page = _call(
            self.session,
            "GET",
            f"{self.base_url}/admin/audit",
            self.token,
            params={"after_seq": after_seq, "limit": limit},
        )
        return list(page.get("records", []))
