"""HTTP plumbing shared by the public and admin routes: errors, slot headers, bounded bodies, auth."""

from __future__ import annotations

import hmac
import logging
import re
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from support_service.schemas import Problem, RequestRejectedError

__all__ = ["ApiError", "SlotHeadersMiddleware", "actor_from", "read_bounded_body", "token_matches"]

_log = logging.getLogger(__name__)
_ACTOR_SAFE = re.compile(r"[^A-Za-z0-9_.:@/+-]")


class ApiError(Exception):
    """An error answered as ``{"error": ..., "detail": ..., **extra}`` with a status code."""

    def __init__(
        self,
        status_code: int,
        error: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.status_code = status_code
        self.error = error
        self.detail = detail
        self.headers = headers
        self.extra = extra
        super().__init__(detail)

    def response(self) -> JSONResponse:
        """The JSON response."""
        return JSONResponse(
            {"error": self.error, "detail": self.detail, **self.extra}, self.status_code, headers=self.headers
        )


class SlotHeadersMiddleware:
    """Adds X-Slot and X-Release to every response, including a 500 made from an unhandled error."""

    def __init__(self, app: ASGIApp, *, slot: str, release: str) -> None:
        self.app = app
        self.slot = slot
        self.release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["X-Slot"] = self.slot
                headers["X-Release"] = self.release
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            _log.exception("unhandled error on %s", scope.get("path"))
            if started:
                raise
            response = JSONResponse({"error": "internal_error", "detail": "unexpected server error"}, 500)
            await response(scope, receive, send_with_headers)


async def read_bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 once it is larger than ``limit`` bytes."""
    too_large = RequestRejectedError(
        413, "body_too_large", [Problem("body", f"is larger than {limit} bytes")]
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of a presented token with the admin token."""
    return hmac.compare_digest(given.encode(), expected.encode())


def actor_from(request: Request, default: str) -> str:
    """Who is acting: the optional X-Actor header (e.g. the deploy run id), made safe, else ``default``."""
    raw = request.headers.get("x-actor", "").strip()
    cleaned = _ACTOR_SAFE.sub("_", raw)[:100]
    return f"{default}:{cleaned}" if cleaned else default
