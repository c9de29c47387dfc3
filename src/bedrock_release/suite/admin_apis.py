"""The admin API of the support service that the checks drive (bearer SUPPORT_ADMIN_TOKEN), per host.

Only the release's own API: the sandbox's emulator and MCP server admin APIs are for drill faults
(bedrock_release.pipeline.drills), never for a check's evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

__all__ = ["AdminApiError", "ServiceAdmin"]


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
class ServiceAdmin:
    """The admin endpoints of one host of the support service (bearer SUPPORT_ADMIN_TOKEN)."""

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

    def fail_bedrock(
        self, mode: str, *, count: int | None = None, duration_s: float | None = None
    ) -> dict[str, Any]:
        """Arm the release's Bedrock failure switch (its direct calls fail as mode; nothing is sent)."""
        body: dict[str, Any] = {"mode": mode}
        body |= {k: v for k, v in (("count", count), ("duration_s", duration_s)) if v is not None}
        return dict(
            _call(self.session, "POST", f"{self.base_url}/admin/bedrock/failure", self.token, json=body)
        )

    def clear_bedrock_failure(self) -> dict[str, Any]:
        """Disarm the failure switch (already off is fine)."""
        return dict(_call(self.session, "DELETE", f"{self.base_url}/admin/bedrock/failure", self.token))

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
