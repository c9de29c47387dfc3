"""Fixtures of the pre-deployment unit tests (helpers live in pd_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pd_fixtures import RELEASE, Tiny, build_tiny


@pytest.fixture
def tiny(tmp_path: Path) -> Tiny:
    sha = build_tiny(tmp_path)
    roster = tmp_path / "roster.yml"
    roster.write_text(
        "pre_deployment_operations_roster:\n"
        "  - {name: Ana, role: DevOps Team Lead}\n"
        "  - {name: Ben, role: SRE}\n"
    )
    releases = tmp_path / "releases"
    return Tiny(releases, sha, releases / RELEASE / "evidence", tmp_path / "keys", roster)
