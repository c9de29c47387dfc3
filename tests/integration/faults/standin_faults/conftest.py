"""Fixtures of the fault tests' extra stand-in checks (run only when named, as ../pipeline/standin_suite)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

MARKERS = ("phase2", "phase3", "canary")


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers these checks use (the real suite registers its own)."""
    for marker in MARKERS:
        with contextlib.suppress(ValueError):
            config.addinivalue_line("markers", f"{marker}: stand-in check of the fault tests")


@pytest.fixture(scope="session")
def fault_target(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The run's target.json as plain data."""
    path = request.config.getoption("--target")
    if not path:
        pytest.fail("no --target given")
    return json.loads(Path(path).read_text(encoding="utf-8"))
