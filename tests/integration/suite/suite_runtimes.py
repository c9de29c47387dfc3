"""Wall-clock time of each phase's suite run against the sandbox, kept for the closing note."""

from __future__ import annotations

import fcntl
import json
import os

from sandbox.settings import REPO_ROOT

RUNTIMES = REPO_ROOT / "runs" / "test" / "suite-runtimes.json"


def record_runtime(name: str, seconds: float, outcomes: dict[str, str]) -> None:
    """Record a phase's measured runtime in runs/test/suite-runtimes.json."""
    RUNTIMES.parent.mkdir(parents=True, exist_ok=True)
    # Test modules run in parallel workers (pytest-xdist): one writer at a time, replaced atomically.
    with (RUNTIMES.parent / "suite-runtimes.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(RUNTIMES.read_text()) if RUNTIMES.exists() else {}
        data[name] = {"seconds": round(seconds, 1), "outcomes": outcomes}
        partial = RUNTIMES.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(data, indent=2))
        partial.replace(RUNTIMES)
