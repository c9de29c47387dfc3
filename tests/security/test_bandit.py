"""bandit over the code: no HIGH and no MEDIUM severity finding (LOW findings are reviewed noqa's)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from _targets import code_targets


@pytest.fixture(scope="module")
def bandit_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root, packages = code_targets()
    assert packages, f"no Python package under {root}"
    out = tmp_path_factory.mktemp("bandit") / "bandit.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", *packages, "-f", "json", "-o", str(out), "-q"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode in (0, 1), f"bandit failed: {proc.stderr}"
    return json.loads(out.read_text())


def _findings(report: dict, severity: str) -> list[str]:
    return [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
        if r["issue_severity"] == severity
    ]


def test_bandit_scanned_every_file(bandit_report: dict) -> None:
    assert bandit_report["errors"] == []
    assert bandit_report["metrics"]["_totals"]["loc"] > 0


def test_no_high_severity_finding(bandit_report: dict) -> None:
    assert _findings(bandit_report, "HIGH") == []


def test_no_medium_severity_finding(bandit_report: dict) -> None:
    assert _findings(bandit_report, "MEDIUM") == []
