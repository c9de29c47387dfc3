"""Test-run order: the longest modules first, so parallel workers (``make test``: pytest-xdist,
``--dist loadfile``, files handed out in collection order) each start one of them early instead of
finding two in one queue. The order of the tests inside a module never changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: The slowest modules (whole deploys in private sandboxes), longest first (docs/verification-suite.md).
LONGEST_FIRST = (
    "integration/pipeline/test_pl_deploy_drills.py",
    "integration/faults/test_flt_drills.py",
    "integration/pipeline/test_pl_deploy.py",
    "integration/faults/test_flt_drills_late.py",
    "integration/faults/test_flt_interrupt.py",
    "integration/faults/test_flt_two_controllers.py",
    "integration/suite/test_suite_phases.py",
    "integration/evidence_report/test_er_watch_rollback.py",
    "integration/bad_input/test_bi_deploy_refusals.py",
    "integration/suite/test_suite_slo_gates.py",
)
_TESTS = Path(__file__).resolve().parent


def _rank(item: pytest.Item) -> int:
    try:
        relative = item.path.resolve().relative_to(_TESTS).as_posix()
    except ValueError:
        return len(LONGEST_FIRST)
    return LONGEST_FIRST.index(relative) if relative in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the longest modules to the front (a stable sort: every module keeps its own order)."""
    items.sort(key=_rank)
