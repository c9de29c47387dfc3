"""Process bookkeeping for down: liveness that ignores zombies, bounded termination, orphans."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from pathlib import Path

import psutil

__all__ = ["alive", "orphans", "terminate", "track", "wait_gone"]


def alive(process: psutil.Process) -> bool:
    """Whether a process still runs; an exited, not yet reaped zombie does not count."""
    try:
        # is_running() also compares the start time, so a reused pid is not mistaken for ours.
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def track(pids: Iterable[int]) -> list[psutil.Process]:
    """Handles on the processes that exist now (pid 0 and vanished ones skipped)."""
    found = []
    for pid in pids:
        if pid:
            with contextlib.suppress(psutil.NoSuchProcess):
                found.append(psutil.Process(pid))
    return found


def wait_gone(processes: list[psutil.Process], timeout_s: float) -> tuple[int, ...]:
    """Wait for the processes to end; SIGKILL what outlives the timeout and return those pids."""
    deadline = time.monotonic() + timeout_s
    while any(alive(process) for process in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = []
    for process in processes:
        if alive(process):
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
                killed.append(process.pid)
    return tuple(killed)


def terminate(processes: list[psutil.Process], timeout_s: float) -> tuple[int, ...]:
    """SIGTERM, then wait_gone; returns the pids that needed SIGKILL."""
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    return wait_gone(processes, timeout_s)


def orphans(home: Path) -> list[psutil.Process]:
    """Processes started by a sandbox (each one gets HOME=<runtime>/home) that still run."""
    wanted = str(home)
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.environ().get("HOME") == wanted and alive(process):
                found.append(process)
    return found
