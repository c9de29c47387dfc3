"""Helpers of the pipeline's unit tests: a run journal written record by record, with a settable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from audit_trail import AuditLog
from bedrock_release.pipeline.journal import JOURNAL_NAME, Journal


class Clock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


def journal(run_dir: Path, clock: Clock | None = None) -> Journal:
    """A Journal of run_dir whose records carry the given clock's times."""
    run_dir.mkdir(parents=True, exist_ok=True)
    j = Journal(run_dir / JOURNAL_NAME)
    if clock is not None:
        j._log = AuditLog(j.path, clock=clock)
    return j


def started(j: Journal, *, release: str = "1.1.0", scale: float = 0.05, **extra: Any) -> None:
    """Record run_started (blue active, green idle) and the lock."""
    j.record(
        "run_started",
        {
            "run_id": "20261126T150000Z-" + release,
            "release": release,
            "previous_release": "1.0.0",
            "environment": "local",
            "time_scale": scale,
            "operator": "tester@host",
            "fault": None,
            "slots": {"active": "blue", "idle": "green"},
            **extra,
        },
    )
    j.record("lock_acquired", {"run_id": "20261126T150000Z-" + release, "owner": "tester@host", "pid": 1})


def phase(j: Journal, clock: Clock, phase_id: int, status: str = "passed", seconds: float = 10.0) -> None:
    """Record one phase that took ``seconds``."""
    j.phase_started(phase_id)
    clock.advance(seconds)
    j.phase_finished(
        phase_id, status, duration_s=seconds, budget_s=100.0, reason="" if status == "passed" else "x"
    )


def step(j: Journal, phase_id: int, name: str, rc: int = 0, tests: int = 3) -> None:
    """Record a verification step."""
    failures = 0 if rc == 0 else 1
    j.record(
        "verification_step",
        {
            "phase": phase_id,
            "step": name,
            "marker": name,
            "rc": rc,
            "verdict": "go" if rc == 0 and tests else "no-go",
            "summary": {"tests": tests, "failures": failures, "errors": 0, "reason": f"exit {rc}"},
        },
    )
