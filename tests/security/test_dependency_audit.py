"""Dependency audit of the code's dependency set against the offline advisory snapshot: zero critical."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pytest
from _targets import code_targets

from bedrock_release.pre_deployment.advisories import StaleAdvisoryDatabase, load_safety_db
from bedrock_release.pre_deployment.security_scan import DEFAULT_MAX_DB_AGE_DAYS, audit_dependencies


@pytest.fixture(scope="module")
def audit() -> dict:
    root, packages = code_targets()
    return audit_dependencies(root, tuple(packages), load_safety_db(), datetime.now(UTC))


def test_dependency_set_is_resolved(audit) -> None:
    names = {p["name"] for p in audit["packages"]}
    assert {"fastapi", "pydantic", "boto3"} <= names
    assert audit["unresolved"] == []


def test_no_critical_advisory(audit) -> None:
    if audit["database"]["age_days"] > DEFAULT_MAX_DB_AGE_DAYS:
        warnings.warn(
            f"{audit['database']['name']} {audit['database']['version']} is {audit['database']['age_days']} "
            "days old: advisories published since are not checked",
            StaleAdvisoryDatabase,
            stacklevel=1,
        )
    critical = [f for f in audit["findings"] if f["critical"]]
    assert critical == []
