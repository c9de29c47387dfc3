"""deploy.yml for real, in a private sandbox: happy path, second release, refusals, resume, drills, rollbacks.

One environment for the module (its own runs folder and ports); the tests run in file order and each
leaves the sandbox in the state the next one starts from, as successive deploys of one team would.
The verification suite and the monitoring role are the stand-ins of this folder (inventory variables);
the real suite is exercised by its own tests and by ``make deploy``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pipeline_env import PipelineEnv

from audit_trail import verify
from bedrock_release.lock import DeployLock
from bedrock_release.plan import FLAGS
from bedrock_release.pre_deployment import read_drill_record
from bedrock_release.report import Report

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RELEASES = ("1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0", "1.6.0", "1.7.0")
TIMES: dict[str, float] = {}
_HTTP = requests.Session()
_HTTP.trust_env = False


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineEnv]:
    """The module's private environment; its sandboxes are stopped afterwards whatever happened."""
    pipeline = PipelineEnv(tmp_path_factory.mktemp("pl")).prepare(RELEASES)
    try:
        yield pipeline
    finally:
        pipeline.sandbox_down()
        print("\nwall times (s):", json.dumps(TIMES, indent=1))


def _url(env: PipelineEnv, port_var: str) -> str:
    return f"http://127.0.0.1:{env.ports[port_var]}"


def _weights(env: PipelineEnv) -> dict[str, int]:
    raw = _HTTP.get(
        f"{_url(env, 'sandbox_caddy_admin_port')}/id/slots/load_balancing/selection_policy/weights", timeout=5
    ).json()
    return {"blue": round(100 * raw[0] / sum(raw)), "green": round(100 * raw[1] / sum(raw))}


def _flags(env: PipelineEnv, slot: str) -> dict[str, bool]:
    return _HTTP.get(f"{_url(env, f'sandbox_slot_{slot}_port')}/v1/flags", timeout=5).json()["values"]


def _release_of(env: PipelineEnv, slot: str) -> str:
    return _HTTP.get(f"{_url(env, f'sandbox_slot_{slot}_port')}/version", timeout=5).json()["release"]


def _emulator_rules(env: PipelineEnv) -> list[Any]:
    token = (env.runs / "sandbox" / "secrets.env").read_text().split("EMULATOR_ADMIN_TOKEN=")[1].split()[0]
    answer = _HTTP.get(
        f"{_url(env, 'sandbox_emulator_port')}/_emulator/faults",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    return answer.json()["rules"]


def _deploy(env: PipelineEnv, name: str, **extra: Any) -> Any:
    proc = env.playbook("deploy.yml", **extra)
    TIMES[name] = round(proc.duration_s, 1)
    return proc


def _checked_report(env: PipelineEnv) -> dict[str, Any]:
    Report.load(env.latest() / "report.json")  # validates against the contract
    assert verify(env.latest() / "audit.jsonl").ok
    return env.report()


def test_bad_inventory_value_is_refused_before_anything_changes(env: PipelineEnv) -> None:
    proc = env.playbook("deploy.yml", release="1.1.0", traffic_canary_steps=[5, 50, 25, 100])
    assert proc.returncode != 0
    assert "traffic_canary_steps = [5, 50, 25, 100]: must be strictly increasing" in proc.stdout
    assert not (env.runs / "sandbox" / "state.json").exists(), "the sandbox was started"
    assert not list(env.runs.glob("2*-1.1.0")), "a run was created"


def test_happy_path_deploys_the_release_to_100_percent_with_every_flag_on(env: PipelineEnv) -> None:
    proc = _deploy(env, "happy path 1.1.0", release="1.1.0")
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = _checked_report(env)
    assert report["outcome"] == "deployed"
    assert report["release"] == "1.1.0"
    assert report["previous_release"] == "1.0.0"
    assert report["time_scale"] == 0.05
    assert [p["status"] for p in report["phases"]] == ["passed"] * 7
    assert [(d["id"], d["verdict"]) for d in report["decision_points"]] == [(1, "go"), (2, "go"), (3, "go")]
    assert all(p["budget_s"] > 0 and p["duration_s"] > 0 for p in report["phases"])
    assert _weights(env) == {"blue": 0, "green": 100}
    assert _release_of(env, "green") == "1.1.0"
    assert _flags(env, "green") == dict.fromkeys(FLAGS, True)
    assert not DeployLock(env.runs / "deploy.lock").status().held


def test_a_new_release_goes_to_the_other_slot(env: PipelineEnv) -> None:
    proc = _deploy(env, "second release 1.2.0", release="1.2.0")
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = _checked_report(env)
    assert report["outcome"] == "deployed"
    assert report["previous_release"] == "1.1.0"
    assert json.loads((env.latest() / "target.json").read_text())["slots"] == {
        "active": "green",
        "idle": "blue",
    }
    assert _weights(env) == {"blue": 100, "green": 0}
    assert _release_of(env, "blue") == "1.2.0"


def test_the_same_release_again_is_refused_as_nothing_to_deploy(env: PipelineEnv) -> None:
    latest = env.latest()
    proc = env.playbook("deploy.yml", release="1.2.0")
    assert proc.returncode != 0
    assert "already serves 100%" in proc.stdout
    assert env.latest() == latest


def test_a_deploy_is_refused_while_another_holds_the_lock(env: PipelineEnv) -> None:
    lock = DeployLock(env.runs / "deploy.lock")
    lock.acquire("20261126T000000Z-9.9.9", pid=os.getpid(), owner="carol@release")
    try:
        latest = env.latest()
        proc = env.playbook("deploy.yml", release="1.3.0")
        assert proc.returncode != 0
        assert "carol@release" in proc.stdout
        assert "age" in proc.stdout
        refused = sorted(env.runs.glob("2*-1.3.0"))[-1]
        report = env.report(refused)
        assert report["outcome"] == "no_go"
        assert env.latest() == latest, "a refused run must not move runs/latest"
    finally:
        lock.release("20261126T000000Z-9.9.9")


def test_an_interrupted_deploy_refuses_the_next_one_and_resumes_without_redoing_phases(
    env: PipelineEnv,
) -> None:
    paused = env.playbook("deploy.yml", release="1.3.0", args=("--tags", "phase1,phase2"))
    assert paused.returncode == 0, paused.stdout[-3000:]
    run_id = env.latest().name
    refused = env.playbook("deploy.yml", release="1.4.0")
    assert refused.returncode != 0
    assert f"resume_run={run_id}" in refused.stdout
    assert f"rollback_full.yml -e run_id={run_id}" in refused.stdout or "rollback_" in refused.stdout
    resumed = _deploy(env, "resumed 1.3.0 (phases 3-7)", release="1.3.0", resume_run=run_id)
    assert resumed.returncode == 0, resumed.stdout[-4000:]
    assert env.latest().name == run_id
    report = _checked_report(env)
    assert report["outcome"] == "deployed"
    starts = [
        json.loads(line)["data"]["phase"]
        for line in (env.latest() / "audit.jsonl").read_text().splitlines()
        if json.loads(line)["action"] == "phase_started"
    ]
    assert starts == [1, 2, 3, 4, 5, 6, 7], "a resumed run must not run a passed phase again"


@pytest.mark.parametrize(
    ("fault", "release", "phase", "tier"),
    [
        ("component-unhealthy", "1.4.0", 2, "immediate"),
        ("latency-breach", "1.5.0", 3, "full"),
        ("flag-degradation", "1.6.0", 5, "partial"),
        ("validation-failure", "1.7.0", 6, "full"),
    ],
)
def test_fault_drill_ends_in_its_rollback_tier_with_a_healthy_system(
    env: PipelineEnv, fault: str, release: str, phase: int, tier: str
) -> None:
    before = env.state(env.latest())
    proc = _deploy(env, f"drill {fault}", release=release, sandbox_fault=fault)
    assert proc.returncode != 0, "a drill must end the play non-zero"
    assert f"phase {phase} failed" in proc.stdout
    report = _checked_report(env)
    assert report["release"] == release
    assert report["outcome"] == "rolled_back"
    assert report["rollback"]["tier"] == tier
    assert report["rollback"]["verified"] is True
    assert report["rollback"]["duration_s"] <= report["rollback"]["target_s"]
    assert report["phases"][phase - 1]["status"] == "failed"
    state = env.state()
    assert any(d["event"] == "injected" and d["name"] == fault for d in state.drill)
    assert _emulator_rules(env) == [], "environment faults must be cleared"
    steps = [s["step"] for s in state.rollback.steps]
    assert steps[0] == "Disable all hybrid routing feature flags"
    if tier == "full":
        assert _weights(env)[before.new_slot or "blue"] == 100 or _weights(env)[state.old_slot] == 100
        assert _release_of(env, state.old_slot) == state.previous_release
        assert _release_of(env, state.new_slot) != release
    if tier == "partial":
        assert _flags(env, state.new_slot) == {f: f in FLAGS[:2] for f in FLAGS}


@pytest.mark.parametrize("tier", ["immediate", "full"])
def test_rollback_by_hand(env: PipelineEnv, tier: str) -> None:
    proc = env.playbook(f"playbooks/rollback_{tier}.yml")
    TIMES[f"rollback {tier} by hand"] = round(proc.duration_s, 1)
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = _checked_report(env)
    assert report["rollback"]["tier"] == tier
    assert report["rollback"]["verified"] is True
    assert report["outcome"] == "rolled_back"
    assert not DeployLock(env.runs / "deploy.lock").status().held


def test_staging_rollback_drill_writes_a_valid_drill_record(env: PipelineEnv) -> None:
    proc = env.playbook("playbooks/staging.yml", release="1.1.0", args=("--tags", "staging_drill"))
    TIMES["staging drill (three tiers)"] = round(proc.duration_s, 1)
    assert proc.returncode == 0, proc.stdout[-4000:]
    record = read_drill_record(env.releases / "1.1.0" / "evidence", release="1.1.0")
    assert record.problems() == ()
    assert [t.tier for t in record.tiers] == ["immediate", "partial", "full"]
