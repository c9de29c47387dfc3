"""Trying a backend call again after a transient failure, with backoff, until a deadline.

A rollback is the last thing the automation does for a release; giving up on a load balancer, SSM or
a slot that is only busy for a moment leaves production half rolled back. Every backend call of a
rollback step therefore goes through ``Retry``: a failure that says "not now" (no answer, a timeout,
HTTP 429 or 5xx, AWS throttling or a 5xx error code) is tried again after an exponentially growing,
jittered wait, until the rollback's deadline (its tier's time target, counted from the failure,
``bedrock_release.pipeline.rollbacks``). A failure that says "never" (access denied, a bad request, a
missing resource) is raised at once: waiting would only delay the page. Each retry can be journaled
(``backend_retry``), so a person reading the run sees what was waited for and why.
"""

from __future__ import annotations

import os
import random
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import requests
from botocore import exceptions as botocore_errors

from bedrock_release.pipeline.journal import Journal

__all__ = [
    "NO_RETRY",
    "Attempt",
    "Backoff",
    "Retry",
    "RetryExhaustedError",
    "TransientError",
    "is_transient",
    "journal_retries",
    "parse_until",
    "remaining_s",
    "retry_until",
]

T = TypeVar("T")

#: AWS error codes that mean "busy or briefly broken, try again" (botocore's own retry list and more).
_TRANSIENT_AWS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "PriorRequestNotComplete",
        "SlowDown",
        "EC2ThrottledException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


class TransientError(RuntimeError):
    """A failure worth trying again: the backend did not answer, was busy, or throttled the call."""


def _http_status_transient(status: int) -> bool:
    return status == 429 or status >= 500


def is_transient(exc: BaseException) -> bool:
    """Return whether a failure may go away by itself (so the call is worth repeating)."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, botocore_errors.ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return error.get("Code") in _TRANSIENT_AWS_CODES or _http_status_transient(status)
    if isinstance(exc, botocore_errors.ConnectionError | botocore_errors.HTTPClientError):
        return True  # endpoint unreachable, connect or read timeout, connection closed
    if isinstance(exc, urllib.error.HTTPError):
        return _http_status_transient(exc.code)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return _http_status_transient(exc.response.status_code)
    return isinstance(
        exc,
        urllib.error.URLError | requests.ConnectionError | requests.Timeout | TimeoutError | ConnectionError,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _sentence(exc: BaseException, limit: int = 300) -> str:
    """One line naming the failure (a backend's HTML error page must not end up in a report)."""
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_until(text: str | None) -> datetime | None:
    """Return the deadline of an RFC 3339 time (``...Z``); None for an empty value (no retries)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"retry_until = {text!r}: not an RFC 3339 time such as 2026-11-27T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"retry_until = {text!r}: the time needs its zone (Z or +00:00)")
    return moment.astimezone(UTC)


def remaining_s(until: datetime | None, clock: Callable[[], datetime] = _now) -> float:
    """Return the seconds left until the deadline (0 when there is none or it has passed)."""
    return max(0.0, (until - clock()).total_seconds()) if until else 0.0


@dataclass(frozen=True)
class Backoff:
    """Waits between attempts: first, first*factor, ... at most max_s, each jittered into [w/2, w]."""

    first_s: float = 0.5
    factor: float = 2.0
    max_s: float = 8.0

    def __post_init__(self) -> None:
        if not (self.first_s > 0 and self.factor >= 1 and self.max_s >= self.first_s):
            raise ValueError(f"backoff {self}: needs first_s > 0, factor >= 1 and max_s >= first_s")

    def wait_s(self, attempt: int, draw: Callable[[], float]) -> float:
        """Return the wait after the ``attempt``-th failure (1-based); ``draw`` gives a number in [0, 1)."""
        ceiling = min(self.max_s, self.first_s * self.factor ** (attempt - 1))
        # Half fixed, half random ("equal jitter"): never a busy loop, and two controllers retrying
        # the same backend do not stay in step.
        return ceiling / 2 + draw() * ceiling / 2


@dataclass(frozen=True)
class Attempt:
    """One failed attempt that is tried again: what, which attempt, why, how long until the next."""

    what: str
    attempt: int
    error: str
    wait_s: float
    until: datetime

    def to_dict(self) -> dict[str, Any]:
        """Return the journal's ``backend_retry`` data."""
        return {
            "what": self.what,
            "attempt": self.attempt,
            "error": self.error,
            "wait_s": round(self.wait_s, 3),
            "until": self.until.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }


class RetryExhaustedError(RuntimeError):
    """A transient failure that outlasted the deadline; names the call, the attempts and the last error."""

    def __init__(
        self, what: str, attempts: int, elapsed_s: float, until: datetime, last: BaseException
    ) -> None:
        self.what, self.attempts, self.elapsed_s, self.until, self.last = (
            what,
            attempts,
            elapsed_s,
            until,
            last,
        )
        deadline = until.isoformat(timespec="seconds").replace("+00:00", "Z")
        super().__init__(
            f"{what}: still failing after {attempts} attempts over {elapsed_s:.1f} s, tried again until "
            f"{deadline} (the rollback's time target): {_sentence(last)}"
        )


@dataclass(frozen=True)
class Retry:
    """Runs a call, trying a transient failure again with backoff until ``until`` (None: once)."""

    until: datetime | None = None
    on_retry: Callable[[Attempt], None] | None = None
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], datetime] = _now
    sleep: Callable[[float], None] = time.sleep
    draw: Callable[[], float] = random.random
    transient: Callable[[BaseException], bool] = is_transient

    def __call__(self, fn: Callable[[], T], what: str) -> T:
        """Return ``fn()``; raise its error if permanent, RetryExhaustedError once the deadline is past."""
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except Exception as exc:
                if self.until is None or not self.transient(exc):
                    raise
                left = remaining_s(self.until, self.clock)
                if left <= 0:
                    elapsed = (self.clock() - started).total_seconds()
                    raise RetryExhaustedError(what, attempt, elapsed, self.until, exc) from exc
                wait = min(self.backoff.wait_s(attempt, self.draw), left)
                if self.on_retry is not None:
                    self.on_retry(Attempt(what, attempt, _sentence(exc), wait, self.until))
                self.sleep(wait)


#: A call made once: its error is raised as it is (what every call outside a rollback does).
NO_RETRY = Retry()


def journal_retries(run_dir: str | os.PathLike[str] | None) -> Callable[[Attempt], None] | None:
    """Return a hook that journals every retry as ``backend_retry`` in the run (None without a run)."""
    if not run_dir:
        return None
    journal = Journal(Path(run_dir) / "audit.jsonl")

    def record(attempt: Attempt) -> None:
        journal.record("backend_retry", attempt.to_dict())

    return record


def retry_until(until: str | None, run_dir: str | os.PathLike[str] | None = None) -> Retry:
    """Return the Retry of a module's ``retry_until`` option, journaling into ``run_dir`` (if any)."""
    deadline = parse_until(until)
    return Retry(until=deadline, on_retry=journal_retries(run_dir)) if deadline else NO_RETRY
