"""Acceptance (issue 4): the suite's phases against a real sandbox, in the pipeline's order.

The module stands in for the pipeline where the suite needs it: it deploys the release and
journals what the pipeline journals (suite_sandbox), turns the flags on one at a time running the
flag-window scenarios after each, and creates the monitoring (bedrock_release.monitoring) before
phase 7. Then every remaining feature runs once more at a tiny time scale (too short to pass: it
only has to appear), and the HTML report is opened in headless Chromium.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from report_browser import rendered_tree
from suite_runner import SuiteRun, run_suite
from suite_runtimes import record_runtime
from suite_sandbox import SuiteSandbox, session, set_flags

from bedrock_release import monitoring as mon
from bedrock_release.plan import FLAGS
from bedrock_release.report.allure import generate_html
from sandbox.seed import aws_client

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FEATURES = Path(__file__).resolve().parents[3] / "features"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One results folder for the module (the report shows every phase run here)."""
    return tmp_path_factory.mktemp("suite-results")


def _run(box: SuiteSandbox, out: Path, markers: str, step: str) -> SuiteRun:
    run = run_suite(box.target_path, out, box.env, markers=markers, step=step)
    failed = {c.name: c.message.strip().splitlines()[:3] for c in run.cases if c.outcome != "passed"}
    assert not failed, f"{step}: {json.dumps(failed, indent=1)}"
    assert run.rc == 0, run.output[-3000:]
    return run


def test_phase2_component_deployment_passes(box: SuiteSandbox, out: Path) -> None:
    run = _run(box, out, "phase2", "phase2")
    record_runtime("phase2 (component deployment)", run.wall_s, run.outcomes())
    assert len(run.cases) == 11


def test_phase4_health_checks_pass(box: SuiteSandbox, out: Path) -> None:
    # The release has served for a while before phase 4 (phase 3's load in the pipeline), so its
    # request metrics exist in CloudWatch: a short burst, then one publishing interval.
    with session() as http:
        for index in range(20):
            body = {"type": "routine", "query": f"warm-up {index}", "customer_region": "eu-central-1"}
            http.post(
                box.endpoints["traffic"] + "/v1/support/operations", json=body, timeout=15
            ).raise_for_status()
    time.sleep(11)
    run = _run(box, out, "phase4", "phase4")
    record_runtime("phase4 (health checks)", run.wall_s, run.outcomes())
    assert len(run.cases) == 7


def test_a_target_without_invocation_logs_makes_the_pii_check_inconclusive(
    box: SuiteSandbox, tmp_path: Path
) -> None:
    # Production's source missing (logging not set up) is never a pass, and says which group is missing.
    group = "/bedrock-support/local/not-set-up"
    broken = box.write_target(tmp_path / "target-no-logs.json", bedrock_invocation_log_group=group)
    run = run_suite(broken, tmp_path / "out", box.env, markers="phase4", extra=["-k", "compliance_validator"])
    case = run.case("compliance validator")
    assert case.outcome == "failed", run.output[-2000:]
    assert "INCONCLUSIVE" in case.message
    assert f"log group {group} does not exist" in case.message


def test_phase5_flags_one_at_a_time_then_phase5_passes(box: SuiteSandbox, out: Path) -> None:
    ssm = aws_client("ssm", box.settings)
    journal = Path(box.target()["journal"])
    from audit_trail import AuditLog  # noqa: PLC0415

    started = time.monotonic()
    for index, flag in enumerate(FLAGS, start=1):
        ssm.put_parameter(
            Name=f"{box.settings.flags_path}/{flag}", Value="true", Type="String", Overwrite=True
        )
        AuditLog(journal).append(
            actor="pipeline", action="flag_set", data={"flag": flag, "value": True, "previous": False}
        )
        _wait_flag_on(box, flag)
        _run(box, out, "flag_window", f"flag-{index}")
    run = _run(box, out, "phase5 and not flag_window", "phase5")
    record_runtime("phase5 (five flag windows + checks)", time.monotonic() - started, run.outcomes())


def _wait_flag_on(box: SuiteSandbox, flag: str) -> None:
    deadline = time.monotonic() + 10
    with session() as http:
        while time.monotonic() < deadline:
            if http.get(box.endpoints["slots"]["green"] + "/v1/flags", timeout=5).json()["values"].get(flag):
                return
            time.sleep(0.2)
    raise AssertionError(f"{flag} did not reach the green slot")


def test_phase6_production_validation_passes(box: SuiteSandbox, out: Path) -> None:
    run = _run(box, out, "phase6", "phase6")
    record_runtime("phase6 (production validation)", run.wall_s, run.outcomes())
    assert len(run.cases) == 10


def test_compliance_success_metric_passes_after_validation(box: SuiteSandbox, out: Path) -> None:
    # GDPR, audit completeness, EU residency and violations since the deployment, from production's
    # sources: Bedrock's invocation logs and the hosts' audit, after phases 4 to 6 sent their probes.
    run = _run(box, out, "compliance", "compliance")
    record_runtime("success criteria: compliance", run.wall_s, run.outcomes())
    assert len(run.cases) == 1


def test_phase7_monitoring_passes_once_created(box: SuiteSandbox, out: Path) -> None:
    target = box.target()
    config = mon.MonitoringConfig.from_target(target, features_dir=FEATURES, delivery_queue=True)
    import boto3  # noqa: PLC0415

    from sandbox.settings import SANDBOX_AWS_ACCESS_KEY_ID, SANDBOX_AWS_SECRET_ACCESS_KEY  # noqa: PLC0415

    aws = boto3.session.Session(
        aws_access_key_id=SANDBOX_AWS_ACCESS_KEY_ID, aws_secret_access_key=SANDBOX_AWS_SECRET_ACCESS_KEY
    )
    clients = mon.AwsClients.create(
        target["aws_region"], endpoint_url=target["endpoints"]["aws"], session=aws
    )
    mon.ensure_monitoring(clients, config)  # the pipeline's phase 7 role does this
    # After phase 6, as in the pipeline: its residency probe and its fallback scenario (the Bedrock
    # circuit opened) trip the event alarms on purpose; the journal tells phase 7 when they ended.
    _journal(
        box,
        "phase_finished",
        {
            "phase": 6,
            "name": "Production Validation",
            "status": "passed",
            "duration_s": 1.0,
            "budget_s": 90.0,
        },
    )
    run = _run(box, out, "phase7", "phase7")
    evaluated = "test_every_alarm_is_evaluated_against_the_metrics_the_release_publishes_and_none_is_breached"
    assert run.outcomes().get(evaluated) == "passed"
    record_runtime("phase7 (monitoring)", run.wall_s, run.outcomes())


def _journal(box: SuiteSandbox, action: str, data: dict[str, object]) -> None:
    from audit_trail import AuditLog  # noqa: PLC0415

    AuditLog(Path(box.target()["journal"])).append(actor="pipeline", action=action, data=data)


def _set_flags(box: SuiteSandbox, value: bool) -> None:
    set_flags(box, FLAGS, value, timeout_s=10)


def test_immediate_rollback_verifies(box: SuiteSandbox, out: Path) -> None:
    # What the rollback playbook does for the immediate tier, journaled as it journals it.
    _journal(box, "rollback_started", {"tier": "immediate", "trigger": "suite acceptance test"})
    _set_flags(box, False)
    run = _run(box, out, "rollback_immediate", "rollback-immediate")
    record_runtime("rollback immediate (verification)", run.wall_s, run.outcomes())
    finished = {"tier": "immediate", "trigger": "suite acceptance test", "duration_s": 1.0, "target_s": 15.0}
    _journal(box, "rollback_finished", {**finished, "verified": True})


def test_full_rollback_verifies(box: SuiteSandbox, out: Path) -> None:
    # The full tier: flags off first, traffic back to blue, green reverted, configuration restored.
    from suite_sandbox import BASELINE  # noqa: PLC0415

    from bedrock_release.suite.traffic import WEIGHTS_PATH  # noqa: PLC0415
    from sandbox import control  # noqa: PLC0415

    _set_flags(box, True)
    _journal(box, "rollback_started", {"tier": "full", "trigger": "suite acceptance test"})
    _set_flags(box, False)
    with session() as http:
        http.patch(box.endpoints["traffic_admin"] + WEIGHTS_PATH, json=[1, 0], timeout=5).raise_for_status()
    _journal(box, "traffic_weights_set", {"weights": {"blue": 100, "green": 0}})
    control.set_slot_release("green", BASELINE, {"SUPPORT_AUTO_ACTIVATE": "true"}, settings=box.settings)
    _journal(box, "slot_release_set", {"slot": "green", "release": BASELINE, "previous_release": "1.1.0"})
    run = _run(box, out, "rollback_full", "rollback-full")
    record_runtime("rollback full (verification)", run.wall_s, run.outcomes())


def test_report_shows_every_phase_with_its_gates(box: SuiteSandbox, out: Path, tmp_path: Path) -> None:
    # Everything not run above, once, at a time scale too small to pass: it only has to appear.
    tiny = box.write_target(tmp_path / "target-tiny.json", time_scale=0.002)
    rest = run_suite(
        tiny,
        out,
        box.env,
        markers="phase1 or approvals or phase3 or rollback or post_deployment",
        step="rest",
    )
    assert rest.cases, rest.output[-3000:]
    report = generate_html(out / "allure-results", tmp_path / "report", history=tmp_path / "history.jsonl")
    assert report.html.stat().st_size > 100_000
    assert "googletagmanager" not in report.html.read_text(encoding="utf-8")
    tree = rendered_tree(report.html, tmp_path / "chromium")
    expected = _features_and_scenarios(out / "allure-results")
    assert set(expected) == {_feature_name(f) for f in FEATURES.glob("*.feature")}
    for feature, scenarios in expected.items():
        assert feature in tree, f"{feature} is not a feature of the report: {sorted(tree)}"
        missing = scenarios - tree[feature]
        assert not missing, f"{feature}: gates missing from the report: {missing}"
    # a second report of the same results carries the first one's history
    generate_html(out / "allure-results", tmp_path / "report2", history=tmp_path / "history.jsonl")
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 2


def _feature_name(path: Path) -> str:
    line = next(line for line in path.read_text().splitlines() if line.strip().startswith("Feature:"))
    return line.split(":", 1)[1].strip()


def _features_and_scenarios(results: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in results.glob("*-result.json"):
        data = json.loads(path.read_text())
        feature = next(lab["value"] for lab in data["labels"] if lab["name"] == "feature")
        out.setdefault(feature, set()).add(data["name"])
    return out
