"""Wait until every slot reports the expected flag values (GET /v1/flags), polled in one process.

The flag activation and the rollbacks wait for this after each flag store write: the slots poll SSM
every second, so the wait is about one poll interval. Polled here every 0.1 s (a loopback GET costs a
few milliseconds) instead of an Ansible ``uri`` retry loop, which starts a Python process per try.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = ["SlotFlags", "SlotFlagsWait", "read_slot_flags", "wait_for_slot_flags"]


@dataclass(frozen=True)
class SlotFlags:
    """What one slot reported: its flag values and flag store state, or why it could not be read."""

    url: str
    values: dict[str, bool] = field(default_factory=dict)
    store: str = ""
    error: str = ""
    store_error: str = ""

    def mismatches(self, expected: Mapping[str, bool], store_ok: bool) -> list[str]:
        """Return what differs from the expectation, in words (empty: as expected)."""
        if self.error:
            return [self.error]
        wrong = [
            f"{flag}={self.values.get(flag)} (expected {want})"
            for flag, want in expected.items()
            if self.values.get(flag) is not want
        ]
        if store_ok and self.store != "ok":
            wrong.append(f"flag store {self.store or 'unknown'} (expected ok)")
        return wrong


@dataclass(frozen=True)
class SlotFlagsWait:
    """The outcome of a wait: the last report of every slot and how long it took."""

    ok: bool
    elapsed_s: float
    polls: int
    slots: tuple[SlotFlags, ...]
    problems: dict[str, list[str]]

    def message(self) -> str:
        """One line a person reads."""
        if self.ok:
            return f"{len(self.slots)} slot(s) report the expected flags after {self.elapsed_s:.2f} s"
        detail = "; ".join(f"{url}: {', '.join(p)}" for url, p in self.problems.items())
        head = f"after {self.elapsed_s:.1f} s ({self.polls} polls) not every slot reports the expected flags"
        return f"{head}: {detail}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the module's result)."""
        return {
            "ok": self.ok,
            "elapsed_s": round(self.elapsed_s, 3),
            "polls": self.polls,
            "slots": {s.url: {"values": s.values, "store": s.store, "error": s.error} for s in self.slots},
            "problems": self.problems,
        }


def read_slot_flags(session: Any, url: str, timeout_s: float = 2.0) -> SlotFlags:
    """GET ``<url>/v1/flags`` once; an unreachable slot or a malformed answer is an error, never raised."""
    try:
        response = session.get(f"{url.rstrip('/')}/v1/flags", timeout=timeout_s)
        body = response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError) as exc:
        return SlotFlags(url, error=f"unreachable: {type(exc).__name__}")
    if not isinstance(body, dict) or not isinstance(body.get("values"), dict):
        return SlotFlags(url, error=f"no flag values in the answer (HTTP {response.status_code})")
    values = {str(k): v for k, v in body["values"].items() if isinstance(v, bool)}
    return SlotFlags(url, values, str(body.get("store") or ""), store_error=str(body.get("last_error") or ""))


def wait_for_slot_flags(
    urls: Sequence[str],
    expected: Mapping[str, bool],
    *,
    timeout_s: float,
    store_ok: bool = True,
    interval_s: float = 0.1,
    session: Any = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SlotFlagsWait:
    """Poll every slot until all report ``expected`` (and a healthy store), or ``timeout_s`` passes."""
    if not urls:
        raise ValueError("slot_urls: at least one slot URL is needed")
    if timeout_s <= 0 or interval_s <= 0:
        raise ValueError("timeout_s and interval_s must be positive")
    http = session or requests.Session()
    started = clock()
    polls = 0
    while True:
        polls += 1
        reports = tuple(read_slot_flags(http, url) for url in urls)
        problems = {r.url: r.mismatches(expected, store_ok) for r in reports}
        problems = {url: p for url, p in problems.items() if p}
        elapsed = clock() - started
        if not problems or elapsed >= timeout_s:
            return SlotFlagsWait(not problems, elapsed, polls, reports, problems)
        sleep(min(interval_s, max(0.0, timeout_s - elapsed)))
