"""Acceptance tests of the verification suite against a real private sandbox (own runtime dir, own ports)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from suite_sandbox import SuiteSandbox, running

from sandbox.settings import REPO_ROOT

#: Wall-clock seconds of each phase's suite run against the sandbox, collected for the closing note.
RUNTIMES = REPO_ROOT / "runs" / "test" / "suite-runtimes.json"


def record_runtime(name: str, seconds: float, outcomes: dict[str, str]) -> None:
    """Append a phase's measured runtime to runs/test/suite-runtimes.json."""
    RUNTIMES.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RUNTIMES.read_text()) if RUNTIMES.exists() else {}
    data[name] = {"seconds": round(seconds, 1), "outcomes": outcomes}
    RUNTIMES.write_text(json.dumps(data, indent=2))


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuiteSandbox]:
    """A sandbox with release 1.1.0 on green at 100 % (time scale 0.05), stopped after the module."""
    root: Path = tmp_path_factory.mktemp("suite")
    with running(root, time_scale=0.05) as sandbox:
        yield sandbox
