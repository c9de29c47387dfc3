"""Dependency audit of the code's dependency set against the offline advisory snapshot: zero critical.

The audit is written in pip-audit's JSON format (``--format json``) and read back with the same
strict reader as the staging evidence.
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _targets import code_targets

from bedrock_release.pre_deployment.advisories import StaleAdvisoryDatabase, load_safety_db
from bedrock_release.pre_deployment.pip_audit import read_pip_audit, summarise
from bedrock_release.pre_deployment.security_scan import DEFAULT_MAX_DB_AGE_DAYS, audit_dependencies


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list[str], Path]:
    root, packages = code_targets()
    document, unresolved = audit_dependencies(root, tuple(packages), load_safety_db())
    path = tmp_path_factory.mktemp("audit") / "pip-audit.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return document, unresolved, path


def test_dependency_set_is_resolved(audit) -> None:
    document, unresolved, _ = audit
    names = {d["name"] for d in document["dependencies"]}
    assert {"fastapi", "pydantic", "boto3"} <= names
    assert unresolved == []


def test_no_critical_advisory(audit) -> None:
    db = load_safety_db()
    age = db.age_days(datetime.now(UTC))
    if age > DEFAULT_MAX_DB_AGE_DAYS:
        warnings.warn(
            f"{db.name} {db.version} is {age} days old: advisories published since are not checked",
            StaleAdvisoryDatabase,
            stacklevel=1,
        )
    result = read_pip_audit(audit[2])
    assert summarise(result.findings) == []
