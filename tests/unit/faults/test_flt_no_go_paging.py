"""Every no-go pages on-call (bedrock_release.pipeline.paging): the page is written from the run's journal.

A person woken by the page must learn from it alone what stopped the run, whether the rollback was
verified, which traffic split it left, whether the deploy lock is free, and what to run next.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from bedrock_release.pipeline import rollbacks
from bedrock_release.pipeline.journal import Journal, read_state
from bedrock_release.pipeline.paging import no_go_message, page_no_go, page_oncall

RUN = "20261126T150000Z-1.1.0"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }.items():
        monkeypatch.setenv(key, value)


def _started(run_dir: Path, environment: str = "local") -> Journal:
    j = Journal(run_dir / "audit.jsonl")
    j.record(
        "run_started",
        {
            "run_id": RUN,
            "release": "1.1.0",
            "previous_release": "1.0.0",
            "environment": environment,
            "time_scale": 0.05,
            "operator": "ops@ctl-2",
            "slots": {"active": "blue", "idle": "green"},
        },
    )
    return j


def _failed_canary(run_dir: Path, *, verified: bool) -> None:
    """Phase 2's canary failed at 5 %: no-go at decision point 1, the full rollback, the run finished."""
    j = _started(run_dir)
    j.record("lock_acquired", {"run_id": RUN, "owner": "ops@ctl-2", "pid": 1})
    j.record("traffic_weights_set", {"weights": {"blue": 95, "green": 5}})
    j.phase_started(2)
    j.phase_finished(2, "failed", duration_s=10.0, budget_s=100.0, reason="x")
    j.decision(1, "no-go", "canary 5%: 3 of 280 requests failed")
    rollbacks.start(run_dir, "full", "phase 2 failed")
    if verified:
        rollbacks.finish(run_dir, verified=True, live_weights={"blue": 100, "green": 0})
    else:
        rollbacks.finish(
            run_dir,
            verified=False,
            reason="Live traffic weights are known: read the weights (caddy): still failing after 9 attempts",
            weights_error="connection refused",
        )
    j.run_finished("rolled_back" if verified else "failed", "phase 2 failed: x")
    j.record("lock_released", {"run_id": RUN})


def test_a_failed_rollback_page_names_the_stop_the_rollback_the_traffic_the_lock_and_the_command(
    tmp_path: Path,
) -> None:
    _failed_canary(tmp_path, verified=False)
    message = no_go_message(read_state(tmp_path), report=f"{tmp_path}/report.json")
    assert message.startswith(f"run {RUN} (release 1.1.0, local) ended failed. ")
    assert "no-go at decision point 1; phase 2 (Component Deployment) failed: x" in message
    assert "the full rollback FAILED: Live traffic weights are known: read the weights (caddy)" in message
    assert (
        "It left traffic blue 95 %, green 5 % (as this run last set them; the load balancer did not "
        "answer (connection refused)); slot green with release 1.1.0 takes 5 % of it"
    ) in message
    assert "the deploy lock is released" in message
    assert f"next: finish the rollback by hand: make rollback TIER=full RUN={RUN}" in message
    assert message.endswith(f"report: {tmp_path}/report.json.")


def test_a_verified_rollback_is_still_a_no_go_page_that_says_it_was_verified(tmp_path: Path) -> None:
    _failed_canary(tmp_path, verified=True)
    message = no_go_message(read_state(tmp_path), lock="deploy lock is free")
    assert "ended rolled_back" in message
    assert "the full rollback was verified in" in message
    assert "traffic blue 100 %, green 0 % (read live)" in message
    assert "deploy lock is free" in message
    assert "next: the previous state serves; investigate the cause" in message


def test_a_refused_run_names_the_refusal_and_never_claims_the_lock(tmp_path: Path) -> None:
    j = _started(tmp_path, "production")
    j.record(
        "run_refused",
        {"run_id": RUN, "reason": "another deploy holds the lock: deploy lock held by ci@ctl-1"},
    )
    j.run_finished("no_go", "another deploy holds the lock")
    message = no_go_message(read_state(tmp_path))
    assert "ended no_go" in message
    assert "the deploy was refused before anything changed: another deploy holds the lock" in message
    assert "this run never held the deploy lock" in message
    assert "no rollback was needed: nothing had moved" in message


@pytest.mark.usefixtures("aws_env")
def test_the_no_go_page_is_published_and_journaled_as_a_no_go(tmp_path: Path) -> None:
    _failed_canary(tmp_path, verified=False)
    with mock_aws():
        page = page_no_go(tmp_path, region="eu-central-1", lock="deploy lock is free", detail="(drill)")
        sns = boto3.client("sns", region_name="eu-central-1")
        assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [page["topic_arn"]]
    assert page["delivered"] is True
    assert page["event"] == "no_go"
    assert "deploy lock is free. next: finish the rollback by hand: make rollback TIER=full" in page["reason"]
    assert page["reason"].endswith(" (drill)")
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert records[-1]["action"] == "oncall_paged"
    assert records[-1]["data"] == page


def test_an_unknown_page_event_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="event = 'party'"):
        page_oncall(tmp_path, "x", region="eu-central-1", event="party")


def test_a_lock_handed_over_to_on_call_is_named_and_the_page_says_to_give_it_back_first(
    tmp_path: Path,
) -> None:
    _failed_canary(tmp_path, verified=False)
    j = Journal(tmp_path / "audit.jsonl")
    j.record(
        "lock_handed_over",
        {
            "run_id": RUN,
            "to": "on-call primary: DevOps Team Lead",
            "reason": "full rollback could not finish",
            "by": "ci",
        },
    )
    state = read_state(tmp_path)
    assert state.lock_handed_over_to == "on-call primary: DevOps Team Lead"
    assert not state.lock_held
    message = no_go_message(state)
    assert "the deploy lock is handed over to on-call primary: DevOps Team Lead: no deploy starts" in message
    assert (
        f"next: release the deploy lock handed over to you (bedrock-release lock release --run-id {RUN}), "
        f"then finish the rollback by hand: make rollback TIER=full RUN={RUN}"
    ) in message
    # Taken back (a rollback by hand acquires the lock again): no longer handed over.
    j.record("lock_acquired", {"run_id": RUN, "owner": "oncall@ctl", "pid": 2})
    assert read_state(tmp_path).lock_handed_over_to is None
