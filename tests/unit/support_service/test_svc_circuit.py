"""Circuit breaker transitions with an injectable clock."""

from __future__ import annotations

import pytest
from svc_fakes import ManualClock

from support_service.circuit import CircuitBreaker, CircuitState


def breaker(clock: ManualClock, changes: list | None = None) -> CircuitBreaker:
    return CircuitBreaker(
        "bedrock",
        failure_threshold=3,
        reset_timeout_s=30,
        clock=clock,
        on_change=None if changes is None else (lambda name, old, new: changes.append((name, old, new))),
    )


def test_closed_until_threshold_of_consecutive_failures() -> None:
    clock = ManualClock()
    b = breaker(clock)
    b.record_failure()
    b.record_failure()
    assert b.state() is CircuitState.CLOSED
    b.record_failure()
    assert b.state() is CircuitState.OPEN


def test_a_success_resets_the_consecutive_count() -> None:
    b = breaker(ManualClock())
    b.record_failure()
    b.record_failure()
    b.record_success()
    b.record_failure()
    b.record_failure()
    assert b.state() is CircuitState.CLOSED
    assert b.snapshot().consecutive_failures == 2


def test_half_open_after_reset_timeout_then_success_closes() -> None:
    clock = ManualClock()
    changes: list = []
    b = breaker(clock, changes)
    for _ in range(3):
        b.record_failure()
    clock.advance(29.9)
    assert b.state() is CircuitState.OPEN
    assert b.snapshot().seconds_until_half_open == pytest.approx(0.1)
    clock.advance(0.1)
    assert b.state() is CircuitState.HALF_OPEN
    b.record_success()
    assert b.state() is CircuitState.CLOSED
    assert [(old, new) for _, old, new in changes] == [
        (CircuitState.CLOSED, CircuitState.OPEN),
        (CircuitState.OPEN, CircuitState.HALF_OPEN),
        (CircuitState.HALF_OPEN, CircuitState.CLOSED),
    ]


def test_half_open_failure_reopens_and_restarts_the_timer() -> None:
    clock = ManualClock()
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.advance(30)
    assert b.state() is CircuitState.HALF_OPEN
    b.record_failure()
    assert b.state() is CircuitState.OPEN
    clock.advance(29)
    assert b.state() is CircuitState.OPEN
    clock.advance(1)
    assert b.state() is CircuitState.HALF_OPEN


def test_results_while_open_do_not_change_state() -> None:
    clock = ManualClock()
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    b.record_success()  # a call that started before the circuit opened
    assert b.state() is CircuitState.OPEN
    clock.advance(10)
    b.record_failure()
    clock.advance(20)
    assert b.state() is CircuitState.HALF_OPEN  # the timer was not restarted by the late failure


def test_forced_open_stays_open_until_reset() -> None:
    clock = ManualClock()
    b = breaker(clock)
    b.force_open()
    clock.advance(3600)
    assert b.state() is CircuitState.OPEN
    assert b.snapshot().forced_open
    assert b.snapshot().seconds_until_half_open is None
    b.reset()
    assert b.state() is CircuitState.CLOSED
    assert not b.snapshot().forced_open


def test_gauge_values_follow_the_contract() -> None:
    assert [s.gauge_value for s in (CircuitState.CLOSED, CircuitState.HALF_OPEN, CircuitState.OPEN)] == [
        0,
        1,
        2,
    ]


@pytest.mark.parametrize(("threshold", "timeout"), [(0, 1.0), (1, 0.0)])
def test_invalid_settings_are_refused(threshold: int, timeout: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        CircuitBreaker("x", failure_threshold=threshold, reset_timeout_s=timeout)
