"""bedrock_release.pipeline.run: a run is admitted, refused with the reason, resumed, loaded, finished - with
the shared lock (DynamoDB) and state (S3) of moto, from one controller and from another."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import boto3
import psutil
import pytest

from bedrock_release.pipeline import run as runs
from bedrock_release.pipeline.heartbeat import read_holder
from bedrock_release.pipeline.journal import Journal, read_state
from bedrock_release.pipeline.lock import DeployLock, LockLostError
from bedrock_release.pipeline.shared_state import SharedState


def _request(
    runs_dir: Path, releases: Path, shared: SharedState, pid: int, **over: object
) -> runs.StartRequest:
    values: dict[str, object] = {
        "runs_dir": runs_dir,
        "releases_dir": releases,
        "release": "1.1.0",
        "environment": "local",
        "time_scale": 0.05,
        "weights": {"blue": 100, "green": 0},
        "slot_releases": {"blue": "1.0.0", "green": "1.0.0"},
        "shared": shared,
        "target": {"endpoints": {"traffic": "http://127.0.0.1:1"}, "aws_region": "eu-central-1"},
        "pid": pid,
    }
    values.update(over)
    return runs.StartRequest(**values)  # type: ignore[arg-type]


def _wait(what: str, check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting until {what}")
        time.sleep(0.1)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _s3_text(shared: SharedState, key: str) -> str:
    s3 = boto3.client("s3", endpoint_url=shared.endpoint_url, region_name=shared.region)
    return s3.get_object(Bucket=shared.bucket, Key=key)["Body"].read().decode()


def _die(proc: subprocess.Popen[bytes], shared: SharedState) -> None:
    """The deploy dies: its heartbeat stops; wait until its lock looks stale."""
    proc.kill()
    proc.wait()
    _wait("the dead deploy's lock looks stale", lambda: DeployLock(shared).status().stale)


def test_admitted_run_has_its_folder_target_shared_lock_latest_and_s3_journal(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    result = runs.start_run(_request(tmp_path, releases, shared_state, deploy_process.pid))
    assert not result.refused, result.message
    run = result.run
    run_id = run["run_id"]
    target = json.loads(Path(run["target_file"]).read_text())
    assert target["schema"] == 1
    assert target["slots"] == {"active": "blue", "idle": "green"}
    assert target["previous_release"] == "1.0.0"
    assert target["journal"] == run["journal"]
    assert target["shared_state"] == shared_state.to_dict()
    assert (tmp_path / "latest").resolve() == Path(run["run_dir"])
    assert json.loads(_s3_text(shared_state, "runs/latest.json")) == {"run_id": run_id}
    assert _s3_text(shared_state, f"runs/{run_id}/audit.jsonl") == Path(run["journal"]).read_text()
    assert json.loads(_s3_text(shared_state, f"runs/{run_id}/target.json"))["run_id"] == run_id
    status = DeployLock(shared_state).status()
    assert status.held
    assert (status.info.run_id, status.info.pid) == (run_id, deploy_process.pid)
    first_beat = status.info.heartbeat_epoch
    _wait(
        "the heartbeat process renews the lock",
        lambda: DeployLock(shared_state).status().info.heartbeat_epoch > first_beat,
    )
    holder = read_holder(Path(run["run_dir"]))
    assert holder is not None
    assert holder.heartbeat_pid
    assert run_id.endswith("-1.1.0")


def test_every_journal_append_is_mirrored_and_heartbeats(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    run = runs.start_run(_request(tmp_path, releases, shared_state, deploy_process.pid)).run
    before = DeployLock(shared_state).status().info.heartbeat_epoch
    Journal(run["journal"]).phase_started(1)
    assert _s3_text(shared_state, f"runs/{run['run_id']}/audit.jsonl") == Path(run["journal"]).read_text()
    assert DeployLock(shared_state).status().info.heartbeat_epoch >= before


def test_release_that_is_not_built_is_refused(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    result = runs.start_run(_request(tmp_path, releases, shared_state, deploy_process.pid, release="9.9.9"))
    assert result.refused
    assert "release 9.9.9 is not built" in result.message
    assert read_state(result.run["run_dir"]).outcome == "no_go"
    assert not (tmp_path / "latest").exists()
    assert not DeployLock(shared_state).status().held


def test_lock_held_by_a_live_deploy_on_another_controller_is_refused_naming_owner_run_and_age(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    first = runs.start_run(
        _request(tmp_path / "a", releases, shared_state, deploy_process.pid, operator="alice@a")
    )
    second = runs.start_run(
        _request(tmp_path / "b", releases, shared_state, deploy_process.pid, operator="bob@b")
    )
    assert second.refused
    assert "another deploy holds the lock" in second.message
    assert f"alice@a (pid {deploy_process.pid}" in second.message
    assert f"run {first.run['run_id']}" in second.message
    assert "age" in second.message
    assert "stale" not in second.message
    assert read_state(second.run["run_dir"]).outcome == "no_go"


def test_a_dead_deploys_lock_is_reported_with_the_commands_to_resume_roll_back_or_break(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    first = runs.start_run(_request(tmp_path / "a", releases, shared_state, deploy_process.pid))
    Journal(first.run["journal"]).phase_started(1)
    _die(deploy_process, shared_state)
    second = runs.start_run(_request(tmp_path / "b", releases, shared_state, 1))
    assert second.refused
    assert "looks stale" in second.message
    assert f"resume_run={first.run['run_id']}" in second.message
    assert "interrupted in phase 1" in second.message
    assert "playbooks/rollback_" in second.message
    assert "bedrock-release lock break --reason" in second.message
    assert DeployLock(shared_state).status().held, "a stale lock is never broken silently"


def test_interrupted_run_is_refused_on_every_controller(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    first = runs.start_run(_request(tmp_path / "a", releases, shared_state, deploy_process.pid))
    runs.release_lock(runs.RunPaths(tmp_path / "a", first.run["run_id"]))
    for controller in ("a", "b"):
        again = runs.start_run(_request(tmp_path / controller, releases, shared_state, deploy_process.pid))
        assert again.refused, controller
        assert "never finished" in again.message
        assert f"RESUME={first.run['run_id']}" in again.message


def test_split_traffic_and_a_release_already_live_are_refused(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    pid = deploy_process.pid
    split = runs.start_run(_request(tmp_path, releases, shared_state, pid, weights={"blue": 50, "green": 50}))
    assert split.refused
    assert "split" in split.message
    live = runs.start_run(
        _request(tmp_path, releases, shared_state, pid, slot_releases={"blue": "1.1.0", "green": "1.0.0"})
    )
    assert live.refused
    assert "already serves 100%" in live.message


def test_resume_from_another_controller_fetches_the_run_takes_the_lock_over_and_fences_the_first(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    a_runs, b_runs = tmp_path / "a", tmp_path / "b"
    first = runs.start_run(_request(a_runs, releases, shared_state, deploy_process.pid, operator="alice@a"))
    run_id = first.run["run_id"]
    a_journal = Journal(first.run["journal"])
    a_journal.phase_started(1)
    _die(deploy_process, shared_state)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) as b_process:
        try:
            resumed = runs.start_run(
                _request(b_runs, releases, shared_state, b_process.pid, resume_run=run_id, operator="bob@b")
            )
            assert not resumed.refused, resumed.message
            assert resumed.run["run_dir"] == str(b_runs / run_id)
            actions = [r.action for r in Journal(b_runs / run_id / "audit.jsonl").records()]
            assert actions[-2:] == ["lock_taken_over", "run_resumed"]
            taken = Journal(b_runs / run_id / "audit.jsonl").records()[-2].data
            assert taken["previous_holder"]["owner"] == "alice@a"
            assert taken["by"] == "bob@b"
            assert "token" not in taken["previous_holder"]
            assert DeployLock(shared_state).status().info.owner == "bob@b"
            fetched = json.loads((b_runs / run_id / "target.json").read_text())
            assert fetched["journal"] == str(b_runs / run_id / "audit.jsonl")
            # The first controller comes back: its next journaled step is refused, nothing overwrites S3.
            with pytest.raises(LockLostError, match="bob@b"):
                a_journal.phase_finished(1, "passed", duration_s=1, budget_s=10)
            remote = _s3_text(shared_state, f"runs/{run_id}/audit.jsonl")
            assert remote == (b_runs / run_id / "audit.jsonl").read_text()
        finally:
            b_process.kill()


def test_resume_refuses_a_live_holder_a_finished_run_and_another_release(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    pid = deploy_process.pid
    first = runs.start_run(_request(tmp_path, releases, shared_state, pid))
    run_id = first.run["run_id"]
    live = runs.start_run(_request(tmp_path, releases, shared_state, pid, resume_run=run_id))
    assert live.refused
    assert "still running" in live.message
    with pytest.raises(runs.RunError, match=r"deploys release 1\.1\.0, not 1\.2\.0"):
        runs.start_run(_request(tmp_path, releases, shared_state, pid, release="1.2.0", resume_run=run_id))
    runs.finish_run(tmp_path, run_id, "deployed")
    with pytest.raises(runs.RunError, match="already finished"):
        runs.start_run(_request(tmp_path, releases, shared_state, pid, resume_run=run_id))
    with pytest.raises(runs.RunError, match=r"neither in .* nor in state bucket"):
        runs.start_run(_request(tmp_path, releases, shared_state, pid, resume_run="20260101T000000Z-1.1.0"))


def test_finish_releases_the_lock_once_and_the_heartbeat_stops(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    first = runs.start_run(_request(tmp_path, releases, shared_state, deploy_process.pid))
    holder = read_holder(Path(first.run["run_dir"]))
    view = runs.finish_run(tmp_path, "", "deployed")  # runs/latest
    assert view["state"]["outcome"] == "deployed"
    assert not DeployLock(shared_state).status().held
    assert read_holder(Path(first.run["run_dir"])) is None
    _wait("the heartbeat process ends", lambda: _gone(holder.heartbeat_pid))
    runs.finish_run(tmp_path, first.run["run_id"], "failed")
    assert read_state(first.run["run_dir"]).outcome == "deployed"
    runs.finish_run(tmp_path, first.run["run_id"], "rolled_back", again=True)
    assert read_state(first.run["run_dir"]).outcome == "rolled_back"
    remote = _s3_text(shared_state, f"runs/{first.run['run_id']}/audit.jsonl")
    assert remote == Path(first.run["journal"]).read_text()


def test_a_lock_handed_over_to_on_call_stays_held_and_refuses_deploys(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    first = runs.start_run(_request(tmp_path, releases, shared_state, deploy_process.pid))
    paths = runs.RunPaths(tmp_path, first.run["run_id"])
    described = runs.hand_over_lock(paths, to="on-call primary", reason="full rollback failed", by="pipeline")
    assert "handed over to on-call primary (full rollback failed)" in described
    record = Journal(paths.journal).records()[-1]
    assert (record.action, record.data["to"], record.data["reason"]) == (
        "lock_handed_over",
        "on-call primary",
        "full rollback failed",
    )
    assert read_holder(paths.run_dir) is None
    assert not runs.release_lock(paths), "this controller no longer holds it"
    refused = runs.start_run(_request(tmp_path / "b", releases, shared_state, deploy_process.pid))
    assert refused.refused
    assert "handed over to on-call primary" in refused.message


def test_shared_state_that_does_not_answer_fails_closed_naming_it(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    no_table = replace(shared_state, lock_table="no-such-lock-table")
    refused = runs.start_run(_request(tmp_path, releases, no_table, deploy_process.pid))
    assert refused.refused
    assert (
        f"deploy lock table no-such-lock-table at {shared_state.endpoint_url} did not answer"
        in refused.message
    )
    assert "no lock, so no deploy" in refused.message
    no_bucket = replace(shared_state, bucket="no-such-state-bucket")
    refused = runs.start_run(_request(tmp_path, releases, no_bucket, deploy_process.pid))
    assert refused.refused
    assert "state bucket no-such-state-bucket" in refused.message
    assert not DeployLock(shared_state).status().held


def test_failed_preflight_is_recorded(tmp_path: Path) -> None:
    view = runs.record_failed_preflight(
        tmp_path, release="1.1.0", environment="local", time_scale=0.05, fault="", reason="sandbox down"
    )
    state = read_state(view["run_dir"])
    assert state.outcome == "failed"
    assert "sandbox down" in state.finish_reason


def test_load_without_a_run(tmp_path: Path, shared_state: SharedState) -> None:
    with pytest.raises(runs.RunError, match="pass -e run_id"):
        runs.load_run(tmp_path)
    with pytest.raises(runs.RunError, match="no latest run in state bucket"):
        runs.load_run(tmp_path, shared=shared_state)


def test_live_slots() -> None:
    assert runs.live_slots({"blue": 0, "green": 100}) == ("green", "blue", False)
    assert runs.live_slots({"blue": 95, "green": 5})[2] is True


def test_the_watchdog_takes_a_dead_deploys_lock_over_only_after_its_expiry(
    tmp_path: Path, releases: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    first = runs.start_run(_request(tmp_path, releases, shared_state, deploy_process.pid))
    paths = runs.RunPaths(tmp_path, first.run["run_id"])
    _die(deploy_process, shared_state)
    ok, message = runs.take_lock(paths, purpose="watchdog", operator="watchdog@test", pid=1, watchdog=True)
    assert not ok
    assert "not expired yet" in message
    _wait("the lock expires", lambda: DeployLock(shared_state).status().expired, timeout_s=10)
    ok, message = runs.take_lock(paths, purpose="watchdog", operator="watchdog@test", pid=1, watchdog=True)
    assert ok, message
    record = Journal(paths.journal).records()[-1]
    assert (record.action, record.data["by"], record.data["expired"]) == (
        "lock_taken_over",
        "watchdog@test",
        True,
    )
    assert runs.release_lock(paths)
