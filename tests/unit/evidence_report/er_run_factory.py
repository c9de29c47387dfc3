"""A realistic run folder for the evidence and report tests: journal, target, locust results, suite output."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from audit_trail import AuditLog
from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window
from bedrock_release.load.record import LoadRecord, RequestLog
from bedrock_release.pipeline.journal import JOURNAL_NAME, Journal
from bedrock_release.plan import FLAGS

RUN_ID = "20261126T150000Z-1.1.0"


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


def journal(run_dir: Path, clock: Clock) -> Journal:
    """A Journal of run_dir whose records carry the clock's times."""
    run_dir.mkdir(parents=True, exist_ok=True)
    j = Journal(run_dir / JOURNAL_NAME)
    j._log = AuditLog(j.path, clock=clock)
    return j


def started(j: Journal) -> None:
    """run_started (blue active, green idle) and the lock."""
    j.record(
        "run_started",
        {
            "run_id": RUN_ID,
            "release": "1.1.0",
            "previous_release": "1.0.0",
            "environment": "local",
            "time_scale": 0.05,
            "operator": "tester@host",
            "fault": None,
            "slots": {"active": "blue", "idle": "green"},
            "weights": {"blue": 100, "green": 0},
        },
    )
    j.record("lock_acquired", {"run_id": RUN_ID, "owner": "tester@host", "pid": 1})


def phase(j: Journal, clock: Clock, phase_id: int, seconds: float = 10.0) -> None:
    """A phase that passed in ``seconds``."""
    j.phase_started(phase_id)
    clock.advance(seconds)
    j.phase_finished(phase_id, "passed", duration_s=seconds, budget_s=100.0)


def step(j: Journal, phase_id: int, name: str) -> None:
    """A verification step that passed."""
    j.record(
        "verification_step",
        {
            "phase": phase_id,
            "step": name,
            "marker": name,
            "rc": 0,
            "verdict": "go",
            "summary": {"tests": 3, "failures": 0, "errors": 0, "reason": "exit 0"},
        },
    )


def _load_results(path: Path, *, seconds: int = 40, seed: int = 7) -> None:
    """A phase 3 results file as the load master merges it (load.record), with errors around t = 20 s."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    started = 1_790_000_000.0
    record, log = LoadRecord(started), RequestLog()
    for t in range(1, seconds + 1):
        for kind, (mu, n) in {"generation": (700, 12), "cached": (40, 20), "routine": (250, 8)}.items():
            for _ in range(n):
                failed = rng.random() < (0.03 if 20 <= t < 25 else 0.002)
                log.record(kind, started + t - 0.5, failed, rng.lognormvariate(0, 0.4) * mu)
    log.final = True
    record.add("worker-1", log.report())
    doc = record.results(
        host="http://127.0.0.1:1",
        verification=True,
        run_tag="t",
        duration_s=float(seconds),
        expected_workers={"worker-1"},
        locust_stats={k: {"requests": v.requests, "failures": v.failures} for k, v in record.totals.items()},
        failure_reasons={},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")


def make_run(root: Path, *, rolled_back: bool = True) -> Path:
    """A run that went through phases 1-5 and rolled back (full) in phase 5, or deployed."""
    run_dir = root / "runs" / RUN_ID
    clock = Clock()
    j = journal(run_dir, clock)
    started(j)
    j.record("flags_snapshot", {"values": dict.fromkeys(FLAGS, False), "flags_path": "/x"})
    phase(j, clock, 1, seconds=12)
    step(j, 1, "phase1")
    j.phase_started(2)
    j.record("slot_release_set", {"slot": "green", "release": "1.1.0", "previous_release": "1.0.0"})
    for share in (5, 25, 50, 100):
        clock.advance(6)
        j.record("traffic_weights_set", {"weights": {"blue": 100 - share, "green": share}})
    clock.advance(3)
    j.phase_finished(2, "passed", duration_s=27, budget_s=90)
    j.decision(1, "go", "every component healthy; canary split within tolerance")
    phase(j, clock, 3, seconds=30)
    gate = GateResult(
        name="p95-latency-generation",
        verdict=Verdict.PASS,
        value=912.0,
        threshold=1500.0,
        unit="ms",
        comparison=Comparison.AT_MOST,
        samples=480,
        min_samples=300,
        window=Window("phase 3 load", 30.0),
        source="locust results slo.json",
    )
    j.record("gate_evaluated", {"phase": 3, "marker": "phase3", "gate": gate.to_dict()})
    step(j, 3, "phase3")
    j.decision(2, "go", "all SLO gates pass")
    phase(j, clock, 4, seconds=8)
    j.phase_started(5)
    for flag in FLAGS[:3]:
        clock.advance(6)
        j.flag_set(flag, True, False)
    if rolled_back:
        clock.advance(2)
        j.phase_finished(5, "failed", duration_s=20, budget_s=90, reason="flag window failed")
        j.record(
            "rollback_started",
            {"tier": "full", "trigger": "phase 5 failed", "failure_at": clock.now.isoformat()},
        )
        clock.advance(1)
        for flag in FLAGS[:3]:
            j.flag_set(flag, False, True)
        j.record(
            "rollback_step",
            {"tier": "full", "step": "Disable all hybrid routing feature flags", "status": "done"},
        )
        clock.advance(2)
        j.record("traffic_weights_set", {"weights": {"blue": 100, "green": 0}})
        j.record("rollback_step", {"tier": "full", "step": "Revert traffic", "status": "done"})
        clock.advance(4)
        j.record(
            "rollback_finished",
            {
                "tier": "full",
                "trigger": "phase 5 failed",
                "duration_s": 7.0,
                "target_s": 1800,
                "verified": True,
            },
        )
        j.run_finished("rolled_back", "phase 5 failed")
    else:
        for flag in FLAGS[3:]:
            clock.advance(6)
            j.flag_set(flag, True, False)
        j.phase_finished(5, "passed", duration_s=30, budget_s=90)
        phase(j, clock, 6, seconds=10)
        j.decision(3, "go", "validation passed")
        phase(j, clock, 7, seconds=5)
        j.run_finished("deployed", "all seven phases passed")
    _load_results(run_dir / "results" / "load" / "slo-20261126T150100Z-abc123.json")
    (run_dir / "target.json").write_text(json.dumps({"schema": 1, "run_id": RUN_ID}), encoding="utf-8")
    for folder, name, text in (
        ("junit", "phase3.xml", "<testsuites><testsuite name='x' tests='1'/></testsuites>"),
        ("cucumber", "phase3.json", "[]"),
        ("allure-results", "abc-result.json", json.dumps({"name": "gate", "status": "passed", "labels": []})),
        ("logs", "phase3.log", "$ pytest\n1 passed\n"),
    ):
        (run_dir / folder).mkdir(parents=True, exist_ok=True)
        (run_dir / folder / name).write_text(text, encoding="utf-8")
    assert (run_dir / JOURNAL_NAME).is_file()
    return run_dir
