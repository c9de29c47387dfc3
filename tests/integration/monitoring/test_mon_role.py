"""roles/monitoring through ansible-playbook against a moto server: idempotent, verified, fail closed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mon_live import REPO, Slot

from bedrock_release.monitoring import ALARM_NAMES, AwsClients, MonitoringConfig
from sandbox.seed import OPERATIONS_DASHBOARD, operations_dashboard_body
from sandbox.settings import SandboxSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PLAYBOOK = """\
- name: Phase 7 monitoring (test play)
  hosts: localhost
  gather_facts: false
  roles:
    - role: monitoring
"""


def _play(tmp_path: Path, extra: dict[str, object], *args: str) -> tuple[int, str]:
    playbook = tmp_path / "monitoring.yml"
    playbook.write_text(PLAYBOOK)
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            str(playbook),
            "-i",
            "inventories/local",
            "-e",
            json.dumps(extra),
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


def _changed(output: str) -> int:
    match = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", output)
    assert match, output
    return int(match.group(1))


@pytest.fixture
def extra(moto_url: str, tmp_path: Path) -> dict[str, object]:
    return {
        "monitoring_aws_endpoint_url": moto_url,
        "monitoring_aws_environment": {
            "AWS_ACCESS_KEY_ID": "AKIAMONITORINGTEST01",
            "AWS_SECRET_ACCESS_KEY": "monitoring-test-secret",
            "NO_PROXY": "127.0.0.1,localhost",
        },
        "monitoring_budget_usd": 50.0,
        # What the deploy_run role provides inside deploy.yml (the release goes to the idle slot).
        "deploy_run_context": {
            "slots": {"active": "blue", "idle": "green"},
            "run_dir": str(tmp_path / "run"),
        },
    }


def test_role_creates_once_then_changes_nothing_and_verifies_everything(
    tmp_path: Path, extra: dict[str, object], clients: AwsClients, cfg: MonitoringConfig, green: Slot
) -> None:
    clients.cloudwatch.put_dashboard(
        DashboardName=OPERATIONS_DASHBOARD,
        DashboardBody=json.dumps(operations_dashboard_body(SandboxSettings())),
    )
    green.healthy_traffic()
    green.flush()
    all_checks = extra | {
        "monitoring_verify_checks": [
            "dashboard",
            "alarms",
            "metrics",
            "operations_dashboard",
            "alert_delivery",
            "evaluation",
        ],
        "monitoring_reflect_state": True,
    }
    code, output = _play(tmp_path, all_checks)
    assert code == 0, output
    assert _changed(output) >= 3  # topic (+ queue, subscription), dashboard, alarms
    # A live slot publishes its gauges every 10 s; without this flush the event alarms' 60 s
    # windows of the second run could hold none of them (seen once in CI: INSUFFICIENT_DATA).
    green.flush()
    code, output = _play(tmp_path, all_checks)
    assert code == 0, output
    assert _changed(output) == 0, output
    evidence = json.loads((tmp_path / "run" / "monitoring.json").read_text())
    assert evidence["problems"] == []
    assert [a["name"] for a in evidence["results"]["alarms"]] == list(ALARM_NAMES)
    assert evidence["results"]["alert_delivery"]["via"] == "emulated-publish"
    assert {e["state"] for e in evidence["results"]["evaluation"]} == {"OK"}
    described = clients.cloudwatch.describe_alarms(AlarmNames=[cfg.alarm_name(n) for n in ALARM_NAMES])
    assert len(described["MetricAlarms"]) == 8


def test_check_mode_changes_nothing(tmp_path: Path, extra: dict[str, object], clients: AwsClients) -> None:
    code, output = _play(tmp_path, extra, "--check")
    assert code == 0, output
    assert clients.cloudwatch.describe_alarms()["MetricAlarms"] == []
    assert clients.sns.list_topics()["Topics"] == []


def test_role_fails_closed_when_the_release_published_nothing(
    tmp_path: Path, extra: dict[str, object]
) -> None:
    code, output = _play(tmp_path, extra)
    assert code != 0
    assert "no metric of this widget has datapoints" in output


def test_role_refuses_bad_inputs_before_changing_anything(
    tmp_path: Path, extra: dict[str, object], clients: AwsClients
) -> None:
    code, output = _play(tmp_path, extra | {"monitoring_verify_checks": ["dashboards"]})
    assert code != 0
    assert "allowed" in output
    assert clients.sns.list_topics()["Topics"] == []
