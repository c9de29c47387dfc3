"""The watchdog: nothing before a dead deploy's lock expires, then the tier of the interrupted phase."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bedrock_release.pipeline import run as runs
from bedrock_release.pipeline import watchdog
from bedrock_release.pipeline.heartbeat import forget_holder
from bedrock_release.pipeline.journal import Journal, read_state
from bedrock_release.pipeline.lock import DeployLock
from bedrock_release.pipeline.shared_state import SharedState


def _start(runs_dir: Path, releases: Path, shared: SharedState, pid: int) -> runs.RunPaths:
    result = runs.start_run(
        runs.StartRequest(
            runs_dir=runs_dir,
            releases_dir=releases,
            release="1.1.0",
            environment="local",
            time_scale=0.05,
            weights={"blue": 100, "green": 0},
            slot_releases={"blue": "1.0.0", "green": "1.0.0"},
            shared=shared,
            pid=pid,
        )
    )
    assert not result.refused, result.message
    return runs.RunPaths(runs_dir, result.run["run_id"])


def _later(shared: SharedState, seconds: float) -> DeployLock:
    """The lock as seen ``seconds`` from now (the holder's heartbeat stopped now)."""
    return DeployLock(shared, clock=lambda: datetime.now(UTC) + timedelta(seconds=seconds))


def test_nothing_while_the_lock_is_free_alive_or_only_stale(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    assert watchdog.decide(shared_state, tmp_path).action == watchdog.NOTHING
    paths = _start(tmp_path / "a", releases, shared_state, deploy_process.pid)
    alive = watchdog.decide(shared_state, tmp_path / "dog")
    assert alive.action == watchdog.NOTHING
    assert alive.run_id == paths.run_id
    forget_holder(paths.run_dir)  # its heartbeats stop
    stale = watchdog.decide(shared_state, tmp_path / "dog", lock=_later(shared_state, 4))
    assert stale.action == watchdog.NOTHING
    assert "looks stale" in stale.reason
    assert "the operator may still resume" in stale.reason
    assert not (tmp_path / "dog" / paths.run_id).exists(), "nothing fetched before the expiry"


def test_after_the_expiry_the_interrupted_phase_gives_the_tier_and_the_reason(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    paths = _start(tmp_path / "a", releases, shared_state, deploy_process.pid)
    journal = Journal(paths.journal)
    for phase_id in (1, 2):
        journal.phase_started(phase_id)
        journal.phase_finished(phase_id, "passed", duration_s=1, budget_s=10)
    journal.record("traffic_weights_set", {"weights": {"blue": 0, "green": 100}})
    journal.phase_started(3)
    forget_holder(paths.run_dir)
    decision = watchdog.decide(shared_state, tmp_path / "dog", lock=_later(shared_state, 7))
    assert decision.action == watchdog.ROLLBACK
    assert decision.tier == "full"
    assert decision.run_id == paths.run_id
    assert f"the deploy lock of run {paths.run_id} expired" in decision.reason
    assert "stopped in phase 3 (SLO Gate Validation)" in decision.reason
    assert "SLO gate failure" in decision.reason
    assert read_state(tmp_path / "dog" / paths.run_id).current_phase == 3, "the run was fetched from S3"
    calls: list[list[str]] = []

    def fake_run(argv: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, "ok", "")

    code, summary = watchdog.act(
        decision, shared_state, tmp_path / "dog", inventory=Path("inv"), extra_vars={"x": 1}, run=fake_run
    )
    assert code == 0, summary
    (argv,) = calls
    assert argv[1:4] == ["-i", "inv", "playbooks/rollback_full.yml"]
    extra = json.loads(argv[5])
    assert extra == {
        "x": 1,
        "run_id": paths.run_id,
        "rollback_reason": decision.reason,
        "rollback_watchdog": True,
    }


def test_a_rollback_under_way_is_run_again_and_phase_1_is_only_finished(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    paths = _start(tmp_path / "a", releases, shared_state, deploy_process.pid)
    journal = Journal(paths.journal)
    journal.phase_started(1)
    forget_holder(paths.run_dir)
    finish = watchdog.decide(shared_state, tmp_path / "dog", lock=_later(shared_state, 7))
    assert finish.action == watchdog.FINISH
    assert "nothing to roll back" in finish.reason
    journal.record("rollback_started", {"tier": "partial", "trigger": "flag degradation"})
    again = watchdog.decide(replace(shared_state), tmp_path / "a", lock=_later(shared_state, 7))
    assert (again.action, again.tier) == (watchdog.ROLLBACK, "partial")
    assert "interrupted during its partial rollback" in again.reason


def test_a_phase_1_run_is_finished_failed_by_the_watchdog_once_expired(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    paths = _start(tmp_path / "a", releases, shared_state, deploy_process.pid)
    Journal(paths.journal).phase_started(1)
    deploy_process.kill()
    deploy_process.wait()
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    while not DeployLock(shared_state).status().expired:
        assert datetime.now(UTC) < deadline, "the dead deploy's lock did not expire"
        time.sleep(0.2)
    code, decision, summary = watchdog.tick(
        shared_state, tmp_path / "dog", inventory=Path("inv"), extra_vars={}
    )
    assert code == 0, summary
    assert decision.action == watchdog.FINISH
    state = read_state(tmp_path / "dog" / paths.run_id)
    assert state.outcome == "failed"
    assert "watchdog" in state.finish_reason
    assert not DeployLock(shared_state).status().held


def test_a_lock_table_that_does_not_answer_is_reported(tmp_path: Path, shared_state: SharedState) -> None:
    silent = replace(shared_state, endpoint_url="http://127.0.0.1:9")
    code, _decision, summary = watchdog.tick(silent, tmp_path, inventory=Path("inv"), extra_vars={})
    assert code == 1
    assert f"table {shared_state.lock_table} at http://127.0.0.1:9 did not answer" in summary
