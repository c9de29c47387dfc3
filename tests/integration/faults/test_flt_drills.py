"""The fault catalogue drilled for real: deploy.yml in one private sandbox, one drill per test.

Every drill deploys release 1.1.0 over 1.0.0 (blue, 100%) with ``sandbox_fault=<drill>`` and asserts the
verdict, the rollback tier and, afterwards, the state the catalogue promises: the previous release at
100% on blue, every flag off (MCP-only), no fault left in place, the lock free and the audit chain
intact. The drills run in the order of the phase they strike (cheapest first); the one fault the
release absorbs by design (bedrock-throttling) runs last, as a whole deploy that must go through.
An autouse fixture repairs what a failed test left behind, so one failure does not cascade.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flt_env import FaultEnv
from pipeline_env import REPO

from bedrock_release.pipeline import drills
from bedrock_release.plan import FLAGS

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RELEASE = "1.1.0"
TIMES: dict[str, float] = {}
_HTTP = requests.Session()
_HTTP.trust_env = False


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultEnv]:
    """The module's private environment; its sandbox is stopped afterwards whatever happened."""
    fault_env = FaultEnv(tmp_path_factory.mktemp("flt")).prepare(("1.0.0", RELEASE))
    try:
        yield fault_env
    finally:
        _repair(fault_env)
        fault_env.sandbox_down()
        print("\nfault drill wall times (s):", json.dumps(TIMES, indent=1))


def _repair(env: FaultEnv) -> None:
    """Clear any fault a failed test left and roll back any run it left unfinished."""
    if not (env.runs / "sandbox" / "state.json").exists():
        return
    targets = drills.SandboxTargets(
        emulator_url=env.url("sandbox_emulator_port"),
        mcp_admin_url=env.url("sandbox_mcp_port"),
        token=env.token(),
        runtime_dir=str(env.runs / "sandbox"),
        caddy_admin_url=env.url("sandbox_caddy_admin_port"),
    )
    for run_dir in sorted(env.runs.glob(f"2*-{RELEASE}")):
        state = env.state(run_dir)
        if state.fault and drills.pending_injections(state.drill, state.fault):
            drills.clear_injected(drills.drill(state.fault), phase=7, targets=targets, run_dir=run_dir)
        if state.interrupted:
            env.playbook("playbooks/rollback_full.yml", run_id=run_dir.name)
    # Reset: the idle slot boots the baseline again, as in a fresh sandbox, so every drill starts from the
    # same state (a full rollback puts the new slot back on what it ran before the run).
    weights = env.weights()
    for slot, share in weights.items():
        if share == 0 and env.slot_get(slot, "/version")["release"] != "1.0.0":
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sandbox",
                    "set-slot-release",
                    slot,
                    "1.0.0",
                    "--env",
                    "SUPPORT_AUTO_ACTIVATE=true",
                ],
                cwd=REPO,
                env={**os.environ, "SANDBOX_RUNTIME_DIR": str(env.runs / "sandbox")},
                check=True,
                capture_output=True,
            )


@pytest.fixture(autouse=True)
def _clean_after(env: FaultEnv) -> Iterator[None]:
    yield
    _repair(env)


def _drill(env: FaultEnv, fault: str) -> tuple[Any, Any]:
    proc = env.playbook("deploy.yml", release=RELEASE, sandbox_fault=fault)
    TIMES[fault] = round(proc.duration_s, 1)
    run_dir = env.latest()
    assert env.state(run_dir).fault == fault
    return proc, run_dir


def _injected(state: Any, fault: str) -> list[dict[str, Any]]:
    return [d for d in state.drill if d["name"] == fault and d["event"] == "injected"]


ROLLED_BACK = [
    # fault, phase it strikes, decision point that says no-go, rollback tier
    ("mcp-down", 2, 1, "immediate"),
    ("caddy-admin-refuses", 2, 1, "immediate"),
    ("slot-crash-canary", 2, 1, "full"),
    ("errors-under-load", 2, 1, "full"),
    ("bedrock-timeouts", 3, 2, "full"),
    ("metrics-unreachable", 3, 2, "full"),
    ("flag-store-unreachable", 5, 0, "full"),
]


@pytest.mark.parametrize(("fault", "phase", "decision", "tier"), ROLLED_BACK)
def test_drill_is_rolled_back_with_its_tier_and_the_sandbox_is_back_on_the_previous_release(
    env: FaultEnv, fault: str, phase: int, decision: int, tier: str
) -> None:
    spec = drills.drill(fault)
    assert (spec.phase, spec.expected_tier.value if spec.expected_tier else None) == (phase, tier)
    proc, run_dir = _drill(env, fault)
    assert proc.returncode != 0, "a drill that stops the deploy ends the play non-zero"
    assert f"phase {phase} failed" in proc.stdout, proc.stdout[-3000:]
    report = env.checked_report(run_dir)
    assert report["outcome"] == "rolled_back"
    assert report["rollback"]["tier"] == tier
    assert report["rollback"]["verified"] is True
    assert report["rollback"]["duration_s"] <= report["rollback"]["target_s"]
    assert [p["status"] for p in report["phases"]][phase - 1] == "failed"
    state = env.state(run_dir)
    if decision:
        assert state.decisions[decision]["verdict"] == "no-go"
    assert state.traffic_moved is spec.traffic_moved
    injected = _injected(state, fault)
    assert [d["phase"] for d in injected] == [phase]
    if spec.injection.kind != "slot_env":
        cleared = [d for d in state.drill if d["name"] == fault and d["event"] == "cleared"]
        assert [d["injection"] for d in cleared] == [0], state.drill
    if tier == "full":
        switches = [s for s in state.slot_releases if s["slot"] == state.new_slot]
        assert "revert" in json.dumps(switches[-1]).lower(), f"new slot not reverted: {switches[-1]}"
    env.assert_back_on_previous(run_dir)


def test_mcp_down_is_caught_by_the_mcp_router_health_check(env: FaultEnv) -> None:
    state = env.state(sorted(env.runs.glob(f"2*-{RELEASE}"))[0])
    assert state.fault == "mcp-down"
    failing = [c for c in state.components if c.get("healthy") is False]
    assert failing, state.components
    assert failing[0]["component"] == "MCPRouter", state.components
    assert not state.weights, "no weight may be set while a component is unhealthy"


def test_rollback_that_hits_a_fault_ends_failed_pages_on_call_and_is_recovered_by_hand(env: FaultEnv) -> None:
    proc, run_dir = _drill(env, "rollback-fault")
    assert proc.returncode != 0
    assert "Rollback immediate FAILED" in proc.stdout, proc.stdout[-3000:]
    assert "Outcome failed" in proc.stdout
    report = env.checked_report(run_dir)
    assert report["outcome"] == "failed"
    assert report["rollback"]["tier"] == "immediate"
    assert report["rollback"]["verified"] is False
    records = [json.loads(line) for line in (run_dir / "audit.jsonl").read_text().splitlines()]
    finished = [r["data"] for r in records if r["action"] == "rollback_finished"]
    assert finished[-1]["verified"] is False
    assert "Manual intervention required" in finished[-1]["reason"]
    assert "All hybrid routing flags are off in the flag store" in finished[-1]["reason"]  # its first step
    assert "ReadTimeoutError" in finished[-1]["reason"]
    pages = [r["data"] for r in records if r["action"] == "oncall_paged"]
    assert len(pages) == 1, pages
    assert pages[0]["delivered"] is True, pages
    assert pages[0]["message_id"]
    assert pages[0]["to"][0] == "primary: DevOps Team Lead"
    assert [r["seq"] for r in records].index(
        next(r["seq"] for r in records if r["action"] == "oncall_paged")
    ) > [r["action"] for r in records].index("rollback_finished")
    state = env.state(run_dir)
    at_rollback = [d for d in _injected(state, "rollback-fault") if d.get("at") == "rollback"]
    assert len(at_rollback) == 1
    assert at_rollback[0]["program"] == "moto"
    assert drills.pending_injections(state.drill, "rollback-fault") == []
    # What the page asks a person to do: the rollback by hand, which now verifies.
    by_hand = env.playbook("playbooks/rollback_immediate.yml", run_id=run_dir.name)
    TIMES["rollback-fault: immediate rollback by hand"] = round(by_hand.duration_s, 1)
    assert by_hand.returncode == 0, by_hand.stdout[-3000:]
    report = env.checked_report(run_dir)
    assert report["outcome"] == "rolled_back"
    assert report["rollback"]["verified"] is True
    env.assert_back_on_previous(run_dir)


def test_bedrock_throttling_storm_is_absorbed_by_the_mcp_fallback_and_the_deploy_goes_through(
    env: FaultEnv,
) -> None:
    proc, run_dir = _drill(env, "bedrock-throttling")
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = env.checked_report(run_dir)
    assert report["outcome"] == "deployed"
    assert [p["status"] for p in report["phases"]] == ["passed"] * 7
    state = env.state(run_dir)
    assert state.decisions[2]["verdict"] == "go"
    injected = _injected(state, "bedrock-throttling")
    assert [d["phase"] for d in injected] == [3]
    cleared = [d for d in state.drill if d["event"] == "cleared"]
    assert [d["phase"] for d in cleared] == [4], "the storm is cleared when phase 3 has passed"
    fired = _HTTP.get(
        f"{env.url('sandbox_emulator_port')}/_emulator/counters",
        headers={"Authorization": f"Bearer {env.token()}"},
        timeout=5,
    ).json()["faults_fired"]
    assert sum(fired.get(rule, 0) for rule in injected[0]["added"]) > 0, "the storm never throttled a call"
    assert env.emulator_rules() == []
    assert env.weights() == {"blue": 0, "green": 100}
    assert env.slot_get("green", "/version")["release"] == RELEASE
    assert env.slot_get("green", "/v1/flags")["values"] == dict.fromkeys(FLAGS, True)
