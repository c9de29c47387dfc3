"""The load profile's tick rule: stages hold until their end; a short load stretches, up to its limit."""

from __future__ import annotations

import pytest

from bedrock_release.load.shape import Stage, stage_at

RAMP = Stage(until_s=2.0, users=5, spawn_rate=5.0)
HOLD = Stage(until_s=10.0, users=20, spawn_rate=10.0)
STAGES = (RAMP, HOLD)


@pytest.mark.parametrize(("t", "expected"), [(0.0, RAMP), (1.99, RAMP), (2.0, HOLD), (9.99, HOLD)])
def test_each_stage_holds_until_its_end_time(t: float, expected: Stage) -> None:
    assert stage_at(STAGES, t, sent=0, target_requests=100, max_s=40.0) == expected


def test_a_load_that_sent_its_planned_requests_ends_with_its_last_stage() -> None:
    assert stage_at(STAGES, 10.0, sent=100, target_requests=100, max_s=40.0) is None


def test_a_short_load_holds_its_last_stage_after_the_planned_end() -> None:
    assert stage_at(STAGES, 10.0, sent=99, target_requests=100, max_s=40.0) == HOLD
    assert stage_at(STAGES, 39.99, sent=0, target_requests=100, max_s=40.0) == HOLD


def test_a_short_load_never_stretches_past_its_limit() -> None:
    assert stage_at(STAGES, 40.0, sent=0, target_requests=100, max_s=40.0) is None
    assert stage_at(STAGES, 1000.0, sent=99, target_requests=100, max_s=40.0) is None


def test_no_target_means_no_stretch() -> None:
    assert stage_at(STAGES, 10.0, sent=0, target_requests=0, max_s=40.0) is None


def test_an_empty_profile_is_done_at_once() -> None:
    assert stage_at((), 0.0, sent=0, target_requests=100, max_s=40.0) is None
