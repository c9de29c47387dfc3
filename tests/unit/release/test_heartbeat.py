"""The heartbeat loop: it beats while the deploy lives and stops - never releasing - when it dies."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bedrock_release.pipeline.heartbeat import Holder, beat, process_started, read_holder, write_holder
from bedrock_release.pipeline.lock import DeployLock
from bedrock_release.pipeline.shared_state import SharedState


def _held(tmp_path: Path, shared: SharedState, watch: int) -> tuple[Path, DeployLock, Holder]:
    run_dir = tmp_path / "20261126T150000Z-1.1.0"
    run_dir.mkdir()
    (run_dir / "target.json").write_text(json.dumps({"shared_state": shared.to_dict()}))
    (run_dir / "audit.jsonl").write_text("")
    lock = DeployLock(shared)
    info = lock.acquire(run_dir.name, pid=watch)
    holder = Holder(run_dir.name, info.token, info.owner, watch, process_started(watch) or 0.0)
    write_holder(run_dir, holder)
    return run_dir, lock, holder


def test_it_beats_while_the_deploy_lives_and_stops_beating_when_it_is_gone(
    tmp_path: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    run_dir, lock, _holder = _held(tmp_path, shared_state, deploy_process.pid)
    beats: list[float] = []

    def sleep(_seconds: float) -> None:
        beats.append(lock.status().info.heartbeat_epoch)
        if len(beats) == 3:
            deploy_process.kill()
            deploy_process.wait()

    reason = beat(run_dir, sleep=sleep, say=lambda _line: None)
    assert "is gone: heartbeats stop" in reason
    assert beats == sorted(beats)
    assert beats[0] < beats[-1]
    assert lock.status().held, "a dead deploy's lock is left to go stale, never released"
    assert (run_dir / "audit.jsonl").exists()


def test_it_stops_when_the_lock_is_released_or_lost(
    tmp_path: Path, shared_state: SharedState, deploy_process: subprocess.Popen[bytes]
) -> None:
    run_dir, lock, holder = _held(tmp_path, shared_state, deploy_process.pid)
    lock.release(holder.token)
    assert beat(run_dir, sleep=lambda _s: None, say=lambda _l: None).startswith(
        "lost: this run no longer holds"
    )
    (run_dir / "lock-holder.json").unlink()
    assert read_holder(run_dir) is None
    assert beat(run_dir, sleep=lambda _s: None, say=lambda _l: None).startswith("released")
