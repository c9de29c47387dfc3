"""Circuit breakers of the HybridHealthMonitor (closed / half-open / open).

Written here rather than taken from pybreaker: pybreaker reads wall-clock time with no way to inject a
clock, moves to half-open only lazily inside ``call()`` (the router must see the state without calling),
and its async support targets Tornado. This one is a small thread-safe state machine over an injectable
monotonic clock.

Rules: ``failure_threshold`` consecutive failures open the circuit; after ``reset_timeout_s`` an open
circuit reads as half-open and admits calls; the first result in half-open decides (success closes,
failure re-opens and restarts the timer). A circuit opened by an operator stays open until reset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["CircuitBreaker", "CircuitSnapshot", "CircuitState"]


class CircuitState(StrEnum):
    """Breaker state; ``gauge_value`` is the value of the ``support_circuit_state`` gauge."""

    CLOSED = "closed"
    HALF_OPEN = "half-open"
    OPEN = "open"

    @property
    def gauge_value(self) -> int:
        """0 closed, 1 half-open, 2 open (docs/contracts.md)."""
        return {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}[self]


@dataclass(frozen=True)
class CircuitSnapshot:
    """What /admin/circuits shows about one breaker."""

    name: str
    state: CircuitState
    consecutive_failures: int
    failure_threshold: int
    reset_timeout_s: float
    forced_open: bool
    seconds_until_half_open: float | None


StateListener = Callable[[str, CircuitState, CircuitState], None]


class CircuitBreaker:
    """One circuit breaker; every method is safe to call from any thread."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int,
        reset_timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: StateListener | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_timeout_s <= 0:
            raise ValueError("reset_timeout_s must be positive")
        self.name = name
        self._threshold = failure_threshold
        self._reset_timeout = reset_timeout_s
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._forced = False

    def state(self) -> CircuitState:
        """The current state, moving open to half-open once the reset timeout has passed."""
        with self._lock:
            return self._current()

    def record_success(self) -> None:
        """A call through this circuit succeeded."""
        with self._lock:
            if self._current() is CircuitState.OPEN:
                # A success that started before the circuit opened does not close it.
                return
            self._failures = 0
            self._move(CircuitState.CLOSED)

    def record_failure(self) -> None:
        """A call through this circuit failed."""
        with self._lock:
            state = self._current()
            if state is CircuitState.OPEN:
                return
            self._failures += 1
            if state is CircuitState.HALF_OPEN or self._failures >= self._threshold:
                self._opened_at = self._clock()
                self._move(CircuitState.OPEN)

    def force_open(self) -> None:
        """Open the circuit until an operator resets it."""
        with self._lock:
            self._forced = True
            self._opened_at = self._clock()
            self._move(CircuitState.OPEN)

    def reset(self) -> None:
        """Close the circuit and forget past failures."""
        with self._lock:
            self._forced = False
            self._failures = 0
            self._move(CircuitState.CLOSED)

    def snapshot(self) -> CircuitSnapshot:
        """The breaker's state and settings."""
        with self._lock:
            state = self._current()
            until = None
            if state is CircuitState.OPEN and not self._forced:
                until = max(0.0, self._opened_at + self._reset_timeout - self._clock())
            return CircuitSnapshot(
                name=self.name,
                state=state,
                consecutive_failures=self._failures,
                failure_threshold=self._threshold,
                reset_timeout_s=self._reset_timeout,
                forced_open=self._forced,
                seconds_until_half_open=until,
            )

    def _current(self) -> CircuitState:
        if (
            self._state is CircuitState.OPEN
            and not self._forced
            and self._clock() - self._opened_at >= self._reset_timeout
        ):
            self._move(CircuitState.HALF_OPEN)
        return self._state

    def _move(self, new: CircuitState) -> None:
        old, self._state = self._state, new
        if old is not new and self._on_change is not None:
            self._on_change(self.name, old, new)
