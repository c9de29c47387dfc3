"""Wall-clock time of each phase's suite run against the sandbox, kept for the closing note."""

from __future__ import annotations

import json

from sandbox.settings import REPO_ROOT

RUNTIMES = REPO_ROOT / "runs" / "test" / "suite-runtimes.json"


def record_runtime(name: str, seconds: float, outcomes: dict[str, str]) -> None:
    """Record a phase's measured runtime in runs/test/suite-runtimes.json."""
    RUNTIMES.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RUNTIMES.read_text()) if RUNTIMES.exists() else {}
    data[name] = {"seconds": round(seconds, 1), "outcomes": outcomes}
    RUNTIMES.write_text(json.dumps(data, indent=2))
