"""bedrock_release.pipeline.run: a run is admitted, refused with the reason, resumed, loaded, finished."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bedrock_release.pipeline import run as runs
from bedrock_release.pipeline.journal import read_state
from bedrock_release.pipeline.lock import DeployLock
from bedrock_release.release import artifact as release_artifact

REPO = Path(__file__).resolve().parents[3]
DEAD_PID = 2**22 + 17  # above the default pid_max: never a live process


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """runs/releases with 1.1.0 built."""
    out = tmp_path_factory.mktemp("releases")
    release_artifact.build("1.1.0", REPO, out, components={"BedrockSupportManager": "1.1.0"})
    return out


def _request(runs_dir: Path, releases: Path, **over: object) -> runs.StartRequest:
    values: dict[str, object] = {
        "runs_dir": runs_dir,
        "releases_dir": releases,
        "release": "1.1.0",
        "environment": "local",
        "time_scale": 0.05,
        "weights": {"blue": 100, "green": 0},
        "slot_releases": {"blue": "1.0.0", "green": "1.0.0"},
        "target": {"endpoints": {"traffic": "http://127.0.0.1:1"}, "aws_region": "eu-central-1"},
        "pid": os.getpid(),
    }
    values.update(over)
    return runs.StartRequest(**values)  # type: ignore[arg-type]


def test_admitted_run_has_its_folder_target_lock_and_latest(tmp_path: Path, releases: Path) -> None:
    result = runs.start_run(_request(tmp_path, releases))
    assert not result.refused, result.message
    run = result.run
    target = json.loads(Path(run["target_file"]).read_text())
    assert target["schema"] == 1
    assert target["slots"] == {"active": "blue", "idle": "green"}
    assert target["previous_release"] == "1.0.0"
    assert target["journal"] == run["journal"]
    assert target["results_dir"].endswith("/results")
    assert target["aws_region"] == "eu-central-1"
    assert (tmp_path / "latest").resolve() == Path(run["run_dir"])
    status = DeployLock(tmp_path / "deploy.lock").status()
    assert status.held
    assert status.info.run_id == run["run_id"]
    assert run["run_id"].endswith("-1.1.0")


def test_release_that_is_not_built_is_refused(tmp_path: Path, releases: Path) -> None:
    result = runs.start_run(_request(tmp_path, releases, release="9.9.9"))
    assert result.refused
    assert "release 9.9.9 is not built" in result.message
    assert read_state(result.run["run_dir"]).outcome == "no_go"
    assert not (tmp_path / "latest").exists()


def test_lock_held_by_a_live_deploy_is_refused_naming_owner_and_age(tmp_path: Path, releases: Path) -> None:
    DeployLock(tmp_path / "deploy.lock").acquire("20261126T140000Z-1.0.9", pid=os.getpid(), owner="alice@ops")
    result = runs.start_run(_request(tmp_path, releases))
    assert result.refused
    assert "alice@ops" in result.message
    assert "age" in result.message
    assert "stale" not in result.message


def test_stale_lock_is_reported_with_the_commands_to_resume_or_roll_back(
    tmp_path: Path, releases: Path
) -> None:
    first = runs.start_run(_request(tmp_path, releases))
    lock_path = tmp_path / "deploy.lock"
    info = json.loads(lock_path.read_text())
    info["pid"] = DEAD_PID
    lock_path.write_text(json.dumps(info))
    second = runs.start_run(_request(tmp_path, releases))
    assert second.refused
    assert "looks stale" in second.message
    assert f"resume_run={first.run['run_id']}" in second.message
    assert "playbooks/rollback_" in second.message
    assert lock_path.exists(), "a stale lock is never broken silently"


def test_interrupted_run_without_lock_is_refused(tmp_path: Path, releases: Path) -> None:
    first = runs.start_run(_request(tmp_path, releases))
    runs.release_lock(runs.RunPaths(tmp_path, first.run["run_id"]))
    second = runs.start_run(_request(tmp_path, releases))
    assert second.refused
    assert "never finished" in second.message
    assert f"RESUME={first.run['run_id']}" in second.message


def test_split_traffic_and_a_release_already_live_are_refused(tmp_path: Path, releases: Path) -> None:
    split = runs.start_run(_request(tmp_path, releases, weights={"blue": 50, "green": 50}))
    assert split.refused
    assert "split" in split.message
    live = runs.start_run(_request(tmp_path, releases, slot_releases={"blue": "1.1.0", "green": "1.0.0"}))
    assert live.refused
    assert "already serves 100%" in live.message


def test_resume_takes_over_the_stale_lock_of_that_run_audited(tmp_path: Path, releases: Path) -> None:
    first = runs.start_run(_request(tmp_path, releases))
    lock_path = tmp_path / "deploy.lock"
    info = json.loads(lock_path.read_text())
    info["pid"] = DEAD_PID
    lock_path.write_text(json.dumps(info))
    resumed = runs.start_run(_request(tmp_path, releases, resume_run=first.run["run_id"]))
    assert not resumed.refused, resumed.message
    assert resumed.run["resumed"]
    actions = [json.loads(line)["action"] for line in Path(first.run["journal"]).read_text().splitlines()]
    assert "deploy_lock.broken" in actions
    assert "lock_taken_over" in actions
    assert actions[-1] == "run_resumed"


def test_resume_refuses_a_live_holder_a_finished_run_and_another_release(
    tmp_path: Path, releases: Path
) -> None:
    first = runs.start_run(_request(tmp_path, releases))
    run_id = first.run["run_id"]
    live = runs.start_run(_request(tmp_path, releases, resume_run=run_id))
    assert live.refused
    assert "still running" in live.message
    with pytest.raises(runs.RunError, match=r"deploys release 1\.1\.0, not 1\.2\.0"):
        runs.start_run(_request(tmp_path, releases, release="1.2.0", resume_run=run_id))
    runs.finish_run(tmp_path, run_id, "deployed")
    with pytest.raises(runs.RunError, match="already finished"):
        runs.start_run(_request(tmp_path, releases, resume_run=run_id))
    with pytest.raises(runs.RunError, match="no such run"):
        runs.start_run(_request(tmp_path, releases, resume_run="20260101T000000Z-1.1.0"))


def test_finish_releases_the_lock_once(tmp_path: Path, releases: Path) -> None:
    first = runs.start_run(_request(tmp_path, releases))
    view = runs.finish_run(tmp_path, "", "deployed")  # runs/latest
    assert view["state"]["outcome"] == "deployed"
    assert not DeployLock(tmp_path / "deploy.lock").status().held
    runs.finish_run(tmp_path, first.run["run_id"], "failed")
    assert read_state(first.run["run_dir"]).outcome == "deployed"
    runs.finish_run(tmp_path, first.run["run_id"], "rolled_back", again=True)
    assert read_state(first.run["run_dir"]).outcome == "rolled_back"


def test_failed_preflight_is_recorded(tmp_path: Path) -> None:
    view = runs.record_failed_preflight(
        tmp_path, release="1.1.0", environment="local", time_scale=0.05, fault="", reason="sandbox down"
    )
    state = read_state(view["run_dir"])
    assert state.outcome == "failed"
    assert "sandbox down" in state.finish_reason


def test_load_without_a_run(tmp_path: Path) -> None:
    with pytest.raises(runs.RunError, match="pass -e run_id"):
        runs.load_run(tmp_path)


def test_live_slots() -> None:
    assert runs.live_slots({"blue": 0, "green": 100}) == ("green", "blue", False)
    assert runs.live_slots({"blue": 95, "green": 5})[2] is True
