"""``bedrock-release lock status|break|release``: the shared lock found through the inventory (-i, -e)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit_trail import read
from bedrock_release.cli import main
from bedrock_release.pipeline.lock import DeployLock
from bedrock_release.pipeline.shared_state import SharedState

REPO = Path(__file__).resolve().parents[3]


def _target(shared: SharedState) -> list[str]:
    extra = {
        "release_aws_endpoint_url": shared.endpoint_url,
        "release_lock_table": shared.lock_table,
        "release_state_bucket": shared.bucket,
    }
    return ["-i", str(REPO / "inventories" / "local"), "-e", json.dumps(extra)]


def test_status_names_the_holder_and_exits_1_while_held(
    shared_state: SharedState, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lock", "status", *_target(shared_state)]) == 0
    assert f"deploy lock is free (table {shared_state.lock_table}" in capsys.readouterr().out
    info = DeployLock(shared_state).acquire("20261126T150000Z-1.1.0", owner="alice@a")
    assert main(["lock", "status", "--json", *_target(shared_state)]) == 1
    shown = json.loads(capsys.readouterr().out)
    assert shown["held"] is True
    assert shown["holder"]["owner"] == "alice@a"
    assert "token" not in shown["holder"]
    assert info.token not in json.dumps(shown)


def test_break_is_refused_for_a_live_holder_and_audited_when_forced(
    shared_state: SharedState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    DeployLock(shared_state).acquire("20261126T150000Z-1.1.0", owner="alice@a")
    base = ["lock", "break", "--reason", "runner wedged", "--runs-dir", str(tmp_path), *_target(shared_state)]
    assert main(base) == 1
    assert "alice@a" in capsys.readouterr().out
    assert main([*base, "--force", "--operator", "bob@b"]) == 0
    assert not DeployLock(shared_state).status().held
    (record,) = read(tmp_path / "deploy-lock.audit.jsonl")  # the holder's run is in no journal here
    assert (record.action, record.actor, record.data["forced"]) == (
        "deploy_lock.broken",
        "operator:bob@b",
        True,
    )


def test_a_handed_over_lock_is_released_by_the_person_audited_in_the_run(
    shared_state: SharedState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = DeployLock(shared_state)
    run_id = "20261126T150000Z-1.1.0"
    run_dir = tmp_path / run_id
    run_dir.mkdir()
    (run_dir / "audit.jsonl").write_text("")
    info = lock.acquire(run_id)
    lock.hand_over(info.token, to="on-call primary", reason="rollback could not finish")
    args = ["lock", "release", "--run-id", run_id, "--runs-dir", str(tmp_path), "--operator", "lead@ops"]
    assert main([*args, *_target(shared_state)]) == 0, capsys.readouterr()
    assert not lock.status().held
    assert read(run_dir / "audit.jsonl")[-1].data["handed_over_to"] == "on-call primary"


def test_a_bad_inventory_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lock", "status", "-e", "release_lock_table=x"]) == 2
    assert "release_shared_state.lock_table = 'x'" in capsys.readouterr().err
