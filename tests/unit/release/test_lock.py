"""The shared deploy lock in DynamoDB (moto): contention names the holder, staleness by heartbeat, expiry,
takeover and break conditional on the holder that was judged (no lost update), hand-over, fail closed."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from audit_trail import AuditLog, read, verify
from bedrock_release.pipeline.lock import (
    LOCK_ID,
    LOCK_KEY,
    DeployLock,
    LockHeldError,
    LockLostError,
    LockNotHeldError,
    LockUnavailableError,
)
from bedrock_release.pipeline.shared_state import SharedState

T0 = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _lock(shared: SharedState, clock: Clock | None = None, host: str = "runner") -> DeployLock:
    return DeployLock(shared, clock=clock or Clock(), hostname=host)


def _item(shared: SharedState) -> dict:
    client = boto3.client("dynamodb", endpoint_url=shared.endpoint_url, region_name=shared.region)
    return client.get_item(TableName=shared.lock_table, Key={LOCK_KEY: {"S": LOCK_ID}}).get("Item", {})


def test_acquire_writes_owner_run_host_heartbeat_and_expiry_and_release_frees(
    shared_state: SharedState,
) -> None:
    lock = _lock(shared_state)
    info = lock.acquire("20261126T150000Z-1.1.0", owner="alice@runner", pid=4242)
    item = _item(shared_state)
    assert {k: next(iter(v.values())) for k, v in item.items()} == {
        "lock_id": "deploy",
        "owner": "alice@runner",
        "pid": "4242",
        "host": "runner",
        "run_id": "20261126T150000Z-1.1.0",
        "started": "2026-11-26T15:00:00Z",
        "token": info.token,
        "heartbeat_epoch": repr(T0.timestamp()),
        "heartbeat_at": "2026-11-26T15:00:00Z",
        "expires_epoch": repr(T0.timestamp() + 6),
        "expires_at": "2026-11-26T15:00:06Z",
        "purpose": "deploy",
    }
    assert "token" not in info.public()
    with pytest.raises(LockNotHeldError, match="alice@runner"):
        lock.release("not-the-token")
    lock.release(info.token)
    assert _item(shared_state) == {}
    assert not lock.status().held


def test_second_acquire_is_refused_with_owner_run_and_age(shared_state: SharedState) -> None:
    clock = Clock()
    _lock(shared_state, clock).acquire("run-a", owner="alice@runner")
    clock.advance(1)
    with pytest.raises(LockHeldError) as refused:
        _lock(shared_state, clock, host="other").acquire("run-b")
    message = str(refused.value)
    assert "alice@runner" in message
    assert "run run-a" in message
    assert "age 1 s" in message
    assert f"table {shared_state.lock_table} at {shared_state.endpoint_url}" in message
    assert "stale" not in message
    assert _item(shared_state)["run_id"] == {"S": "run-a"}


def test_missed_heartbeats_make_it_stale_and_the_expiry_makes_it_expired(shared_state: SharedState) -> None:
    clock = Clock()
    lock = _lock(shared_state, clock)
    info = lock.acquire("run-a")
    clock.advance(2.9)  # fewer than three beats (1 s each) missed
    assert not lock.status().stale
    clock.advance(0.2)
    status = lock.status()
    assert status.stale
    assert not status.expired
    assert "no heartbeat for 3 s" in status.describe()
    assert "not broken automatically before it expires" in status.describe()
    lock.heartbeat(info.token)  # a holder that comes back renews heartbeat and expiry
    status = lock.status()
    assert not status.stale
    assert status.info.expires_epoch == pytest.approx(clock().timestamp() + 6)
    clock.advance(6)
    status = lock.status()
    assert status.stale
    assert status.expired
    assert "it has expired: the watchdog rolls the run back at its next look" in status.describe()


def test_heartbeat_with_a_token_that_lost_the_lock_raises(shared_state: SharedState) -> None:
    lock = _lock(shared_state)
    info = lock.acquire("run-a")
    lock.release(info.token)
    with pytest.raises(LockLostError, match="no longer holds"):
        lock.heartbeat(info.token)


def test_take_over_only_a_stale_lock_of_the_same_run(shared_state: SharedState) -> None:
    clock = Clock()
    lock = _lock(shared_state, clock)
    first = lock.acquire("run-a", owner="alice@a")
    with pytest.raises(LockHeldError, match="its holder is alive"):
        lock.take_over(lock.status(), "run-a", purpose="resume")
    clock.advance(3.5)
    stale = lock.status()
    with pytest.raises(LockHeldError, match="another run"):
        lock.take_over(stale, "run-b", purpose="resume")
    with pytest.raises(LockHeldError, match="not expired yet"):
        lock.take_over(stale, "run-a", purpose="watchdog", require_expired=True)
    new = _lock(shared_state, clock, host="controller-b").take_over(
        stale, "run-a", owner="bob@b", purpose="resume"
    )
    assert (new.owner, new.host, new.run_id, new.purpose) == ("bob@b", "controller-b", "run-a", "resume")
    assert new.token != first.token
    with pytest.raises(LockLostError):
        lock.heartbeat(first.token)  # the old holder is fenced: its next heartbeat fails


def test_two_operators_who_saw_the_same_stale_lock_do_not_both_win(
    shared_state: SharedState, tmp_path: Path
) -> None:
    clock = Clock()
    lock = _lock(shared_state, clock)
    lock.acquire("run-a", owner="alice@a")
    clock.advance(3.5)
    seen_by_bob, seen_by_carol = lock.status(), lock.status()
    _lock(shared_state, clock, host="b").take_over(seen_by_bob, "run-a", owner="bob@b", purpose="resume")
    with pytest.raises(LockHeldError, match="someone else changed the lock first") as lost:
        _lock(shared_state, clock, host="c").take_over(
            seen_by_carol, "run-a", owner="carol@c", purpose="rollback"
        )
    assert "bob@b" in str(lost.value)
    with pytest.raises(LockHeldError, match="bob@b"):  # nor does carol's break remove bob's fresh lock
        lock.break_lock("it was stale", operator="operator:carol", audit=AuditLog(tmp_path / "audit.jsonl"))
    assert _item(shared_state)["owner"] == {"S": "bob@b"}
    assert not (tmp_path / "audit.jsonl").exists()


def test_a_heartbeat_between_read_and_takeover_wins(shared_state: SharedState) -> None:
    clock = Clock()
    lock = _lock(shared_state, clock)
    info = lock.acquire("run-a", owner="alice@a")
    clock.advance(3.5)
    stale = lock.status()
    lock.heartbeat(info.token)  # alice was only slow
    with pytest.raises(LockHeldError, match="alice@a"):
        lock.take_over(stale, "run-a", owner="bob@b", purpose="resume")
    lock.heartbeat(info.token)


def test_break_is_explicit_conditional_and_audited_without_the_token(
    shared_state: SharedState, tmp_path: Path
) -> None:
    clock = Clock()
    lock = _lock(shared_state, clock)
    info = lock.acquire("run-a", owner="alice@a")
    audit = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(ValueError, match="reason"):
        lock.break_lock("  ", operator="operator:bob", audit=audit)
    with pytest.raises(LockHeldError):
        lock.break_lock("looks stuck", operator="operator:bob", audit=audit)
    clock.advance(3.5)
    broken = lock.break_lock("alice's laptop died", operator="operator:bob", audit=audit)
    assert broken.info.owner == "alice@a"
    assert not lock.status().held
    (record,) = read(tmp_path / "audit.jsonl")
    assert record.action == "deploy_lock.broken"
    assert record.actor == "operator:bob"
    assert record.data["reason"] == "alice's laptop died"
    assert record.data["holder"]["owner"] == "alice@a"
    assert record.data["forced"] is False
    assert info.token not in (tmp_path / "audit.jsonl").read_text()
    assert verify(tmp_path / "audit.jsonl").ok
    with pytest.raises(LockNotHeldError, match="nothing to break"):
        lock.break_lock("again", operator="operator:bob", audit=audit)


def test_live_lock_is_broken_only_with_force(shared_state: SharedState, tmp_path: Path) -> None:
    lock = _lock(shared_state)
    lock.acquire("run-a")
    audit = AuditLog(tmp_path / "audit.jsonl")
    lock.break_lock("ci runner wedged", operator="operator:bob", audit=audit, force=True)
    assert read(tmp_path / "audit.jsonl")[0].data["forced"] is True


def test_a_handed_over_lock_never_expires_and_only_its_release_frees_it(
    shared_state: SharedState, tmp_path: Path
) -> None:
    clock = Clock()
    lock = _lock(shared_state, clock)
    info = lock.acquire("run-a", owner="pipeline@a")
    with pytest.raises(ValueError, match="reason"):
        lock.hand_over(info.token, to="on-call", reason="")
    handed = lock.hand_over(
        info.token, to="DevOps Team Lead (on-call primary)", reason="full rollback failed"
    )
    assert handed.expires_epoch is None
    with pytest.raises(LockLostError):
        lock.heartbeat(info.token)
    clock.advance(3600)
    status = lock.status()
    assert status.held
    assert status.handed_over
    assert not status.stale
    assert not status.expired
    assert "handed over to DevOps Team Lead (on-call primary) (full rollback failed)" in status.describe()
    with pytest.raises(LockHeldError, match="handed over"):
        lock.take_over(replace(status, stale_reason="forced for the test"), "run-a", purpose="resume")
    with pytest.raises(LockNotHeldError):
        lock.release_handed_over("run-b", operator="operator:lead", audit=AuditLog(tmp_path / "a.jsonl"))
    lock.release_handed_over("run-a", operator="operator:lead", audit=AuditLog(tmp_path / "a.jsonl"))
    assert not lock.status().held
    assert read(tmp_path / "a.jsonl")[0].data == {
        "run_id": "run-a",
        "handed_over_to": "DevOps Team Lead (on-call primary)",
        "by": "operator:lead",
    }


def test_a_table_that_does_not_answer_is_no_lock_naming_table_and_endpoint(shared_state: SharedState) -> None:
    silent = replace(shared_state, endpoint_url="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(LockUnavailableError) as refused:
        DeployLock(silent).acquire("run-a")
    message = str(refused.value)
    assert f"table {shared_state.lock_table} at http://127.0.0.1:9 did not answer" in message
    assert "no lock, so no deploy" in message
    missing = replace(shared_state, lock_table="no-such-table")
    with pytest.raises(LockUnavailableError, match="ResourceNotFoundException"):
        DeployLock(missing).status()


def _contend(shared: dict, run_id: str, queue) -> None:
    try:
        DeployLock(SharedState.from_mapping(shared)).acquire(run_id)
        queue.put(("won", run_id))
    except LockHeldError as exc:
        queue.put(("refused", str(exc)))


def test_only_one_of_many_processes_wins(shared_state: SharedState) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(shared_state.to_dict(), f"run-{i}", queue)) for i in range(6)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    results = [queue.get(timeout=5) for _ in procs]
    winners = [detail for outcome, detail in results if outcome == "won"]
    assert len(winners) == 1
    assert all(winners[0] in detail for outcome, detail in results if outcome == "refused")


def test_bad_configuration_names_the_variable() -> None:
    base = {
        "lock_table": "t-1",
        "bucket": "b-1",
        "region": "eu-central-1",
        "endpoint_url": "",
        "heartbeat_s": 10,
        "expiry_s": 300,
    }
    assert SharedState.from_mapping(base).endpoint_url is None
    for key, value, problem in (
        ("lock_table", "x", "DynamoDB table name"),
        ("bucket", "Not_A_Bucket", "S3 bucket name"),
        ("heartbeat_s", "often", "number of seconds"),
        ("heartbeat_s", True, "number of seconds"),
        ("expiry_s", 30, "must exceed 3 heartbeats"),
        ("endpoint_url", "moto:1234", r"http\(s\) URL"),
    ):
        with pytest.raises(ValueError, match=rf"release_shared_state\.{key} = .*{problem}"):
            SharedState.from_mapping({**base, key: value}, "release_shared_state")
