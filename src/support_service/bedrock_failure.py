"""The failure switch of the DirectBedrockClient: an operator makes the release's own direct calls fail.

It exercises the fallback to MCP and the Bedrock circuit in any environment (plan phases 4 and 6)
without touching Bedrock: an armed switch fails a direct call before anything is sent, as the chosen
kind of Bedrock failure. Off by default; armed through ``POST /admin/bedrock/failure`` for a bounded
number of calls and/or seconds (never open-ended, so a check that dies cannot leave it armed for
ever), cleared with ``DELETE``; every change is audited and ``/health`` shows it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["FAILURE_MODES", "MAX_FAILURE_CALLS", "MAX_FAILURE_S", "BedrockFailureSwitch", "FailureState"]

#: The kinds of Bedrock failure the switch can play (BedrockCallError kinds; docs/contracts.md).
FAILURE_MODES = ("unavailable", "throttled", "timeout")
#: Upper bounds of one arming: an hour, ten thousand calls.
MAX_FAILURE_S = 3600.0
MAX_FAILURE_CALLS = 10_000


@dataclass(frozen=True)
class FailureState:
    """An armed switch: the mode, what is left of its bounds, and how many calls it failed."""

    mode: str
    calls_left: int | None
    until: datetime | None
    failed_calls: int
    armed_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON form (times RFC 3339 UTC)."""
        return {
            "mode": self.mode,
            "calls_left": self.calls_left,
            "until": self.until.isoformat().replace("+00:00", "Z") if self.until else None,
            "failed_calls": self.failed_calls,
            "armed_at": self.armed_at.isoformat().replace("+00:00", "Z"),
        }


class BedrockFailureSwitch:
    """Thread-safe: armed from the admin API, fired from the worker threads that call Bedrock."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._mode: str | None = None
        self._calls_left: int | None = None
        self._deadline: float | None = None
        self._until: datetime | None = None
        self._armed_at: datetime | None = None
        self._failed = 0

    def arm(self, mode: str, *, count: int | None = None, duration_s: float | None = None) -> FailureState:
        """Fail the next ``count`` direct calls and/or all for ``duration_s``; ValueError names the input."""
        if mode not in FAILURE_MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(FAILURE_MODES)}")
        if count is None and duration_s is None:
            raise ValueError("give count and/or duration_s: the switch is never armed without a bound")
        if count is not None and (isinstance(count, bool) or not 1 <= count <= MAX_FAILURE_CALLS):
            raise ValueError(f"count {count!r} must be a whole number from 1 to {MAX_FAILURE_CALLS}")
        if duration_s is not None and not 1 <= duration_s <= MAX_FAILURE_S:
            raise ValueError(f"duration_s {duration_s!r} must be from 1 to {MAX_FAILURE_S:g} seconds")
        with self._lock:
            now = self._wall()
            self._mode, self._calls_left, self._failed, self._armed_at = mode, count, 0, now
            self._deadline = self._clock() + duration_s if duration_s is not None else None
            self._until = now + timedelta(seconds=duration_s) if duration_s is not None else None
            return FailureState(mode, count, self._until, 0, now)

    def clear(self) -> FailureState | None:
        """Disarm; return what was armed (None when it was off)."""
        with self._lock:
            previous = self._state()
            self._mode = None
            return previous

    def fire(self) -> str | None:
        """Return the mode when this call must fail (counting it), None when the switch is off."""
        with self._lock:
            if self._state() is None:
                return None
            self._failed += 1
            if self._calls_left is not None:
                self._calls_left -= 1
            return self._mode

    def state(self) -> FailureState | None:
        """The armed switch, None when it is off (an exhausted or expired switch is off)."""
        with self._lock:
            return self._state()

    def _state(self) -> FailureState | None:
        if self._mode is None:
            return None
        expired = self._deadline is not None and self._clock() >= self._deadline
        if expired or self._calls_left == 0:
            self._mode = None
            return None
        assert self._armed_at is not None  # noqa: S101 - set with the mode
        return FailureState(self._mode, self._calls_left, self._until, self._failed, self._armed_at)
