"""Stand-in for the verification suite in the pipeline's own integration tests (not the real suite).

The pipeline runs the suite as docs/contracts.md prescribes (``pytest <paths> -m <markers> --target
...``); its integration tests point ``release_verification_test_paths`` here so that each phase's step
is a small, real check of the sandbox instead of the whole pytest-bdd suite (tests/features), which
is written and tested separately. Nothing here is collected by a normal ``pytest`` run: the checks
live in ``checks.py`` (not ``test_*.py``) and are only run when named explicitly.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

MARKERS = (
    "phase1",
    "phase2",
    "phase3",
    "phase4",
    "phase5",
    "phase6",
    "phase7",
    "approvals",
    "canary",
    "flag_window",
    "rollback_immediate",
    "rollback_partial",
    "rollback_full",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """The contract's options, unless the real suite's root conftest already added them."""
    with contextlib.suppress(ValueError):
        parser.addoption("--target", action="store", default=None, help="the run's target.json")


def pytest_configure(config: pytest.Config) -> None:
    """Register the contract's markers (the real suite registers its own)."""
    for marker in MARKERS:
        config.addinivalue_line("markers", f"{marker}: stand-in check of the pipeline tests")


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The run's target.json."""
    path = request.config.getoption("--target")
    if not path:
        pytest.fail("no --target given")
    return json.loads(Path(path).read_text(encoding="utf-8"))
