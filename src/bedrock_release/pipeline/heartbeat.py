"""Keeping a run's lock and its S3 journal alive: at every journal append, and in a heartbeat process.

Both, because each covers what the other cannot (docs/pipeline.md "Shared lock and state"):

- the heartbeat process (``python -m bedrock_release.pipeline.heartbeat``), started when a run takes
  the lock, renews it every ``heartbeat_s`` while the run's ``ansible-playbook`` lives - through a
  five-minute load test or a two-minute flag window that append nothing. It stops when the lock is
  released or lost, and stops *beating* when that process is gone: a killed deploy's lock goes stale
  after three missed beats and expires after ``expiry_s``, whoever killed it and wherever.
- every journal append of the lock holder heartbeats too, conditionally on the holder's token, and
  mirrors the journal to S3. That fences a run that lost its lock (taken over by an operator on
  another controller, or the watchdog): its next journaled step fails with ``LockLostError`` instead
  of moving traffic under someone else's lock, and it keeps a run alive whose heartbeat process died.

This controller's hold on a run is ``runs/<run-id>/lock-holder.json`` (the token, mode 0600).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from bedrock_release.pipeline import shared_state
from bedrock_release.pipeline.lock import DeployLock, LockInfo, LockLostError, LockUnavailableError
from bedrock_release.pipeline.run_store import HOLDER_NAME, JournalDivergedError, RunStore, note
from bedrock_release.pipeline.shared_state import SharedStateUnavailableError

__all__ = ["Holder", "after_append", "beat", "forget_holder", "read_holder", "spawn", "write_holder"]


@dataclass(frozen=True)
class Holder:
    """This controller's hold on a run's lock: the token, and the heartbeat process watching a pid."""

    run_id: str
    token: str
    owner: str
    watch_pid: int
    watch_started: float  # the watched process's start time: a reused pid is not our deploy
    heartbeat_pid: int | None = None
    heartbeat_started: float | None = None


def read_holder(run_dir: Path) -> Holder | None:
    """This controller's hold on the run's lock, None when it holds none."""
    try:
        return Holder(**json.loads((run_dir / HOLDER_NAME).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def write_holder(run_dir: Path, holder: Holder) -> None:
    """Record (atomically, 0600) that this controller holds the run's lock."""
    tmp = run_dir / f".{HOLDER_NAME}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(holder), handle)
    os.replace(tmp, run_dir / HOLDER_NAME)


def forget_holder(run_dir: Path) -> Holder | None:
    """Drop this controller's hold (released or handed over); stop its heartbeat process."""
    holder = read_holder(run_dir)
    (run_dir / HOLDER_NAME).unlink(missing_ok=True)
    if (
        holder is not None
        and holder.heartbeat_pid
        and holder.heartbeat_started is not None  # else the pid may be someone else's by now
        and _same_process(holder.heartbeat_pid, holder.heartbeat_started)
    ):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(holder.heartbeat_pid, signal.SIGTERM)
    return holder


def process_started(pid: int) -> float | None:
    """The start time of a live process, None when there is none."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _same_process(pid: int, started: float | None) -> bool:
    now = process_started(pid)
    if now is None:
        return False
    return started is None or abs(now - started) < 1.0


def after_append(journal: Path) -> None:
    """What every journal append does next: heartbeat (if this controller holds the lock), mirror to S3.

    LockLostError and JournalDivergedError propagate: the run must stop. Passing failures of the
    table or bucket are noted in shared-state.log: the heartbeat process and the next append retry.
    """
    run_dir = journal.parent
    shared = shared_state.of_run(run_dir)
    if shared is None:
        return
    holder = read_holder(run_dir)
    if holder is not None:
        try:
            DeployLock(shared).heartbeat(holder.token)
        except LockUnavailableError as exc:
            note(run_dir, f"heartbeat at append failed: {exc}")
    try:
        RunStore(shared).mirror_journal(run_dir)
    except SharedStateUnavailableError as exc:
        note(run_dir, f"journal upload failed (retried at the next append or heartbeat): {exc}")


def spawn(run_dir: Path, info: LockInfo, watch_pid: int) -> Holder:
    """Record the hold and start the heartbeat process for it (detached; its log in the run folder)."""
    holder = Holder(info.run_id, info.token, info.owner, watch_pid, process_started(watch_pid) or 0.0)
    write_holder(run_dir, holder)
    log = (run_dir / "heartbeat.log").open("a", encoding="utf-8")
    with log:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
            [sys.executable, "-m", "bedrock_release.pipeline.heartbeat", str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            close_fds=True,
            # Its own session: a Ctrl-C or a killed process group of the deploy does not reach it; it
            # notices the deploy is gone by itself and stops beating, so every way of dying looks alike.
            start_new_session=True,
        )
    holder = Holder(
        **{**asdict(holder), "heartbeat_pid": proc.pid, "heartbeat_started": process_started(proc.pid)}
    )
    write_holder(run_dir, holder)
    return holder


def beat(
    run_dir: Path,
    *,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = print,
) -> str:
    """Heartbeat the run's lock until it is released or lost, or the deploy's process is gone."""
    shared = shared_state.of_run(run_dir)
    if shared is None:
        return f"{run_dir}: no shared_state in target.json: nothing to heartbeat"
    lock, store = DeployLock(shared), RunStore(shared)
    due = time.monotonic()
    while True:
        holder = read_holder(run_dir)
        if holder is None:
            return "released: this controller no longer holds the lock"
        if not _same_process(holder.watch_pid, holder.watch_started or None):
            return f"the deploy's process {holder.watch_pid} is gone: heartbeats stop, the lock goes stale"
        try:
            lock.heartbeat(holder.token)
            store.mirror_journal(run_dir)
        except LockLostError as exc:
            return f"lost: {exc}"
        except (LockUnavailableError, SharedStateUnavailableError) as exc:
            say(f"heartbeat failed, trying again in {shared.heartbeat_s:g} s: {exc}")
        except JournalDivergedError as exc:  # someone else drives the run: stop beating for it
            return f"stopped: {exc}"
        # A fixed schedule: a slow call does not stretch the interval between two beats.
        due = max(due + shared.heartbeat_s, time.monotonic())
        sleep(max(0.0, due - time.monotonic()))


def main(argv: list[str] | None = None) -> int:
    """``python -m bedrock_release.pipeline.heartbeat RUN_DIR``: the heartbeat process."""
    parser = argparse.ArgumentParser(prog="bedrock_release.pipeline.heartbeat", description=beat.__doc__)
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{started} heartbeat of {args.run_dir.name} started (pid {os.getpid()})", flush=True)
    reason = beat(args.run_dir, say=lambda line: print(line, flush=True))
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} heartbeat ended: {reason}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
