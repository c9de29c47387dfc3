"""The phase role enforces the inventory's budget policy: a real ansible-playbook run of its finish step."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit_trail import AuditLog
from bedrock_release.pipeline.journal import JOURNAL_NAME, Journal, read_state

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PLAYBOOK = """
- name: Phase 5 finishes under the budget policy
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Phase 5 is recorded as passed
      ansible.builtin.import_role:
        name: phase
        tasks_from: finish
      vars:
        phase_id: 5
"""


def _run(
    tmp_path: Path, *, policy: str | None, started_ago_s: float
) -> tuple[subprocess.CompletedProcess[str], Path]:
    run_dir = tmp_path / "runs" / "20261126T150000Z-1.1.0"
    run_dir.mkdir(parents=True)
    moment = datetime.now(UTC) - timedelta(seconds=started_ago_s)
    journal = Journal(run_dir / JOURNAL_NAME)
    journal._log = AuditLog(journal.path, clock=lambda: moment)
    journal.record(
        "run_started",
        {
            "run_id": run_dir.name,
            "release": "1.1.0",
            "previous_release": "1.0.0",
            "environment": "local",
            "time_scale": 0.05,  # phase 5: 10 min x 0.05 = 30 s
            "operator": "tester",
            "fault": None,
            "slots": {"active": "blue", "idle": "green"},
        },
    )
    journal.phase_started(5)
    playbook = tmp_path / "finish.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    # What the deploy's preflight leaves for the phase role: the run's context and the runtime folder.
    extra: dict[str, object] = {
        "deploy_run_context": {"run_dir": str(run_dir)},
        "release_runs_dir": str(run_dir.parent),
    }
    if policy is not None:
        extra["release_phase_budget_policy"] = policy
    proc = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-e",
            json.dumps(extra),
            str(playbook),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc, run_dir


def _finished(run_dir: Path) -> list[dict[str, object]]:
    lines = (run_dir / JOURNAL_NAME).read_text(encoding="utf-8").splitlines()
    return [r["data"] for r in map(json.loads, lines) if r["action"] == "phase_finished"]


def test_fail_policy_fails_an_overrun_phase_instead_of_recording_a_pass(tmp_path: Path) -> None:
    proc, run_dir = _run(tmp_path, policy="fail", started_ago_s=3600)
    assert proc.returncode != 0, proc.stdout
    assert "over its budget of 30.0 s (policy fail: the phase fails)" in proc.stdout
    assert _finished(run_dir) == []  # the phase's rescue records the failure, with this message
    assert 5 not in read_state(run_dir).phases_passed


def test_warn_policy_is_the_default_and_warns(tmp_path: Path) -> None:
    proc, run_dir = _run(tmp_path, policy=None, started_ago_s=3600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[WARNING]: phase 5 took" in proc.stdout + proc.stderr
    (finished,) = _finished(run_dir)
    assert finished["status"] == "passed"
    assert finished["budget_policy"] == "warn"


def test_record_policy_journals_the_overrun_without_a_warning(tmp_path: Path) -> None:
    proc, run_dir = _run(tmp_path, policy="record", started_ago_s=3600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[WARNING]: phase 5" not in proc.stdout + proc.stderr
    (finished,) = _finished(run_dir)
    assert finished["budget_policy"] == "record"
    assert float(str(finished["duration_s"])) > float(str(finished["budget_s"]))


def test_fail_policy_passes_a_phase_within_its_budget(tmp_path: Path) -> None:
    proc, run_dir = _run(tmp_path, policy="fail", started_ago_s=0)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (finished,) = _finished(run_dir)
    assert finished["status"] == "passed"


def test_an_unknown_policy_is_refused_by_the_role_preflight(tmp_path: Path) -> None:
    proc, run_dir = _run(tmp_path, policy="ignore", started_ago_s=3600)
    assert proc.returncode != 0
    assert "phase_budget_policy = 'ignore': must be one of record, warn, fail" in proc.stdout
    assert _finished(run_dir) == []
