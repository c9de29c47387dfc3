"""One HTTP request of a playbook task (health, version, activation), answered as ``uri`` would.

The pipeline's roles make dozens of these per deploy; as ``uri`` each is a Python process start (about
a second on this machine), in-process (``bedrock.release.http_request``) a few milliseconds. The result keeps
``uri``'s keys - ``status`` (-1 when no answer came), ``json``, ``content``, ``msg`` - so the roles'
conditions read the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

__all__ = ["HttpAnswer", "http_call"]

_METHODS = ("GET", "POST", "PUT", "DELETE")


@dataclass(frozen=True)
class HttpAnswer:
    """Status (-1: no answer), the body as text and, when it is JSON, parsed."""

    url: str
    method: str
    status: int
    content: str = ""
    json: Any = None
    error: str = ""

    @property
    def transient(self) -> bool:
        """Whether the answer may change by itself: none came, or 429, or a server error (5xx)."""
        return self.status in {-1, 429} or self.status >= 500

    def ok(self, accepted: Sequence[int]) -> bool:
        """Whether the status is one of the accepted ones."""
        return self.status in accepted

    def message(self, accepted: Sequence[int]) -> str:
        """``uri``'s wording: OK, or the status and what was expected."""
        if self.ok(accepted):
            return f"OK ({self.status})"
        reason = f": {self.error}" if self.error else ""
        return f"{self.method} {self.url}: status code was {self.status} and not {list(accepted)}{reason}"


def http_call(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    timeout_s: float = 10.0,
    session: Any = None,
) -> HttpAnswer:
    """Send one request; a refused connection or a timeout is status -1 with the reason, never raised."""
    method = method.upper()
    if method not in _METHODS:
        raise ValueError(f"method {method!r} is not one of {', '.join(_METHODS)}")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"url {url!r} is not an http(s) URL")
    if timeout_s <= 0:
        raise ValueError(f"timeout {timeout_s!r} must be positive")
    http = session or requests
    try:
        response = http.request(method, url, headers=dict(headers or {}), json=json_body, timeout=timeout_s)
    except requests.RequestException as exc:
        return HttpAnswer(url, method, -1, error=f"{type(exc).__name__}: {exc}")
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    return HttpAnswer(url, method, response.status_code, response.text, parsed)
