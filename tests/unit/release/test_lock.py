"""Deploy lock: contention names the holder, stale locks are reported not broken, breaking is audited."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit_trail import AuditLog, read, verify
from bedrock_release.pipeline.lock import (
    DEFAULT_MAX_AGE_S,
    DeployLock,
    LockHeldError,
    LockNotHeldError,
    pid_alive,
)

T0 = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _lock(tmp_path: Path, clock: Clock | None = None, **kw) -> DeployLock:
    return DeployLock(tmp_path / "deploy.lock", clock=clock or Clock(), hostname="runner", **kw)


def test_acquire_writes_the_holder_and_release_frees(tmp_path: Path) -> None:
    lock = _lock(tmp_path)
    info = lock.acquire("20261126T150000Z-1.1.0", owner="alice@runner")
    content = json.loads(lock.path.read_text())
    assert content == {
        "owner": "alice@runner",
        "pid": os.getpid(),
        "host": "runner",
        "run_id": "20261126T150000Z-1.1.0",
        "started": "2026-11-26T15:00:00Z",
    }
    assert info.run_id == "20261126T150000Z-1.1.0"
    lock.release("20261126T150000Z-1.1.0")
    assert not lock.path.exists()
    assert not list(tmp_path.iterdir())  # no temporary files left behind


def test_second_acquire_is_refused_with_owner_and_age(tmp_path: Path) -> None:
    clock = Clock()
    lock = _lock(tmp_path, clock)
    lock.acquire("run-a", owner="alice@runner")
    clock.now = T0 + timedelta(seconds=90)
    with pytest.raises(LockHeldError) as info:
        _lock(tmp_path, clock).acquire("run-b")
    message = str(info.value)
    assert "alice@runner" in message
    assert "run run-a" in message
    assert "age 90 s" in message
    assert "stale" not in message
    assert json.loads(lock.path.read_text())["run_id"] == "run-a"


def test_release_only_by_the_holder(tmp_path: Path) -> None:
    lock = _lock(tmp_path)
    with pytest.raises(LockNotHeldError, match="not held"):
        lock.release("run-a")
    lock.acquire("run-a", owner="alice@runner")
    with pytest.raises(LockNotHeldError, match="alice@runner"):
        lock.release("run-b")
    assert lock.path.exists()


def test_held_context_releases_on_error(tmp_path: Path) -> None:
    lock = _lock(tmp_path)
    seen = []

    def body() -> None:
        with lock.held("run-a"):
            seen.append(lock.status().held)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        body()
    assert seen == [True]
    assert not lock.status().held


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(proc.stdout)


def test_dead_holder_is_reported_stale_and_not_broken(tmp_path: Path) -> None:
    lock = DeployLock(tmp_path / "deploy.lock")
    dead = _dead_pid()
    assert not pid_alive(dead)
    lock.acquire("run-a", pid=dead, owner="bob@here")
    with pytest.raises(LockHeldError) as info:
        DeployLock(tmp_path / "deploy.lock").acquire("run-b")
    status = info.value.status
    assert status.stale
    assert f"pid {dead} is not running" in str(info.value)
    assert "bob@here" in str(info.value)
    assert lock.path.exists()  # reported, never silently broken


def test_holder_on_another_host_is_not_judged_by_pid(tmp_path: Path) -> None:
    clock = Clock()
    lock = DeployLock(tmp_path / "deploy.lock", clock=clock, hostname="other", is_alive=lambda _pid: False)
    lock.acquire("run-a")
    here = DeployLock(tmp_path / "deploy.lock", clock=clock, hostname="runner", is_alive=lambda _pid: False)
    assert not here.status().stale
    clock.now = T0 + timedelta(seconds=DEFAULT_MAX_AGE_S + 1)
    assert "older than the maximum" in here.status().stale_reason


def test_unreadable_lock_is_held_and_stale(tmp_path: Path) -> None:
    lock = _lock(tmp_path)
    lock.path.write_text("{", encoding="utf-8")
    status = lock.status()
    assert status.held
    assert status.info is None
    assert "unreadable" in status.stale_reason
    with pytest.raises(LockHeldError, match="unreadable"):
        lock.acquire("run-b")


def test_break_lock_is_explicit_and_audited(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    lock = DeployLock(tmp_path / "deploy.lock", is_alive=lambda _pid: False, hostname="runner")
    lock.acquire("run-a", owner="bob@runner")
    with pytest.raises(ValueError, match="reason"):
        lock.break_lock(" ", operator="carol", audit=audit)
    broken = lock.break_lock("bob's deploy was SIGKILLed", operator="carol", audit=audit)
    assert broken.info.run_id == "run-a"
    assert not lock.path.exists()
    kept = list(tmp_path.glob("deploy.lock.broken-*"))
    assert len(kept) == 1
    records = read(audit.path)
    assert records[-1].action == "deploy_lock.broken"
    assert records[-1].actor == "carol"
    assert records[-1].data["holder"]["owner"] == "bob@runner"
    assert records[-1].data["reason"] == "bob's deploy was SIGKILLed"
    assert verify(audit.path).ok
    lock.acquire("run-b")  # free again
    with pytest.raises(LockNotHeldError):
        DeployLock(tmp_path / "none.lock").break_lock("x", operator="carol", audit=audit)


def test_live_lock_is_broken_only_with_force(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    lock = _lock(tmp_path)
    lock.acquire("run-a")
    with pytest.raises(LockHeldError):
        lock.break_lock("impatient", operator="carol", audit=audit)
    assert lock.path.exists()
    lock.break_lock("holder confirmed hung", operator="carol", audit=audit, force=True)
    assert read(audit.path)[-1].data["forced"] is True


def _contend(path: str, run_id: str, queue) -> None:
    try:
        DeployLock(path).acquire(run_id)
        queue.put(("won", run_id))
    except LockHeldError:
        queue.put(("refused", run_id))


def test_only_one_of_many_processes_wins(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_contend, args=(str(tmp_path / "deploy.lock"), f"run-{i}", queue))
        for i in range(8)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    results = [queue.get(timeout=5) for _ in procs]
    assert [r[0] for r in results].count("won") == 1
    assert [r[0] for r in results].count("refused") == 7


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_age_s"):
        DeployLock(tmp_path / "l", max_age_s=0)
    with pytest.raises(ValueError, match="run_id"):
        _lock(tmp_path).acquire("")
