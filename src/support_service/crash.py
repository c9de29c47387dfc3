"""The ``crash_under_traffic`` drill fault: the slot process dies once real traffic reaches it."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["CrashUnderTrafficMiddleware"]

_log = logging.getLogger(__name__)
_EXIT_CODE = 70  # EX_SOFTWARE: supervisord logs it as an unexpected exit


class CrashUnderTrafficMiddleware:
    """Counts answered requests that came through the load balancer; exits hard after ``after`` of them.

    Health probes and the deploy's direct calls (no ``X-Forwarded-For``) never count, so the release
    passes its component health checks and crashes only under canary traffic, as such defects do.
    """

    def __init__(self, app: ASGIApp, *, after: int, exit_fn: Callable[[int], object] = os._exit) -> None:
        if after < 1:
            raise ValueError(f"after must be >= 1, got {after!r}")
        self.app, self.after, self._exit = app, after, exit_fn
        self._seen = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] != "http" or not any(k == b"x-forwarded-for" for k, _ in scope.get("headers", ())):
            return
        with self._lock:
            self._seen += 1
            crash = self._seen >= self.after
        if crash:
            _log.critical("drill fault crash_under_traffic: exiting after %d proxied requests", self._seen)
            self._exit(_EXIT_CODE)
