"""The load profile's decision each tick: which stage holds now, and when the load is done.

The locustfile's ``LoadTestShape`` calls :func:`stage_at`; it lives here, without locust, so the rule
is tested on its own: stages hold until their end time; after the last one a load that has not yet
sent its planned requests (a machine too slow for the planned rate) holds the last stage until it
has, but never past its stretch limit. Then the load is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """One row of the load profile: ``users`` spawned at ``spawn_rate`` until ``until_s``."""

    until_s: float
    users: int
    spawn_rate: float


def stage_at(
    stages: Sequence[Stage], run_time_s: float, sent: int, target_requests: int, max_s: float
) -> Stage | None:
    """Return the stage that holds at ``run_time_s``, or None once the load is done."""
    for stage in stages:
        if run_time_s < stage.until_s:
            return stage
    if stages and run_time_s < max_s and sent < target_requests:
        return stages[-1]
    return None
