"""deploy.yml for real, in a private sandbox: happy path, second release, refusals, lock, resume.

One environment for the module (its own runs folder and ports); the tests run in file order and each
leaves the sandbox in the state the next one starts from, as successive deploys of one team would.
The verification suite and the monitoring role are the stand-ins of this folder (inventory variables);
the real suite is exercised by its own tests and by ``make deploy``. Drills and rollbacks by hand are in
test_pl_deploy_drills (their own environment, so the two modules run in parallel).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from pipeline_env import PipelineEnv
from pl_live import checked_report, deploy, flags, module_env, release_of, weights

from audit_trail import read
from bedrock_release.plan import FLAGS

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RELEASES = ("1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineEnv]:
    yield from module_env(tmp_path_factory, RELEASES)


def test_bad_inventory_value_is_refused_before_anything_changes(env: PipelineEnv) -> None:
    proc = env.playbook("deploy.yml", release="1.1.0", traffic_canary_steps=[5, 50, 25, 100])
    assert proc.returncode != 0
    assert "traffic_canary_steps = [5, 50, 25, 100]: must be strictly increasing" in proc.stdout
    assert not (env.runs / "sandbox" / "state.json").exists(), "the sandbox was started"
    assert not list(env.runs.glob("2*-1.1.0")), "a run was created"


def test_happy_path_deploys_the_release_to_100_percent_with_every_flag_on(env: PipelineEnv) -> None:
    proc = deploy(env, "happy path 1.1.0", release="1.1.0")
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = checked_report(env)
    assert report["outcome"] == "deployed"
    assert report["release"] == "1.1.0"
    assert report["previous_release"] == "1.0.0"
    assert report["time_scale"] == 0.05
    assert [p["status"] for p in report["phases"]] == ["passed"] * 7
    assert [(d["id"], d["verdict"]) for d in report["decision_points"]] == [(1, "go"), (2, "go"), (3, "go")]
    assert all(p["budget_s"] > 0 and p["duration_s"] > 0 for p in report["phases"])
    assert weights(env) == {"blue": 0, "green": 100}
    assert release_of(env, "green") == "1.1.0"
    assert flags(env, "green") == dict.fromkeys(FLAGS, True)
    assert not env.lock().status().held


def test_a_new_release_goes_to_the_other_slot(env: PipelineEnv) -> None:
    proc = deploy(env, "second release 1.2.0", release="1.2.0")
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = checked_report(env)
    assert report["outcome"] == "deployed"
    assert report["previous_release"] == "1.1.0"
    assert json.loads((env.latest() / "target.json").read_text())["slots"] == {
        "active": "green",
        "idle": "blue",
    }
    assert weights(env) == {"blue": 100, "green": 0}
    assert release_of(env, "blue") == "1.2.0"


def test_the_same_release_again_is_refused_as_nothing_to_deploy(env: PipelineEnv) -> None:
    latest = env.latest()
    proc = env.playbook("deploy.yml", release="1.2.0")
    assert proc.returncode != 0
    assert "already serves 100%" in proc.stdout
    assert env.latest() == latest


def test_a_deploy_is_refused_while_another_holds_the_lock(env: PipelineEnv) -> None:
    lock = env.lock()
    carol = lock.acquire("20261126T000000Z-9.9.9", pid=os.getpid(), owner="carol@release")
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
        # Every no-go pages on-call, a refusal too: the page names the holder and says the run never held it.
        (page,) = [r.data for r in read(refused / "audit.jsonl") if r.action == "oncall_paged"]
        assert page["event"] == "no_go"
        assert page["delivered"] is True
        assert "another deploy holds the lock: deploy lock held by carol@release" in page["reason"]
        assert "this run never held the deploy lock" in page["reason"]
    finally:
        lock.release(carol.token)


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
    resumed = deploy(env, "resumed 1.3.0 (phases 3-7)", release="1.3.0", resume_run=run_id)
    assert resumed.returncode == 0, resumed.stdout[-4000:]
    assert env.latest().name == run_id
    report = checked_report(env)
    assert report["outcome"] == "deployed"
    starts = [
        json.loads(line)["data"]["phase"]
        for line in (env.latest() / "audit.jsonl").read_text().splitlines()
        if json.loads(line)["action"] == "phase_started"
    ]
    assert starts == [1, 2, 3, 4, 5, 6, 7], "a resumed run must not run a passed phase again"
