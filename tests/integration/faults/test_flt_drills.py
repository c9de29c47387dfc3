"""The fault catalogue drilled for real (drills that strike phase 2, and a rollback that hits a fault).

Every drill deploys release 1.1.0 over 1.0.0 (blue, 100%) with ``sandbox_fault=<drill>`` and asserts the
verdict, the rollback tier and, afterwards, the state the catalogue promises: the previous release at
100% on blue, every flag off (MCP-only), no fault left in place, the lock free and the audit chain
intact. An autouse fixture repairs what a failed test left behind, so one failure does not cascade.
The drills of later phases are in test_flt_drills_late (their own sandbox: the modules run in parallel).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flt_drill_support import (
    RELEASE,
    ROLLED_BACK,
    TIMES,
    check_rolled_back,
    drill,
    injected,
    module_env,
    release_handed_over,
    repair,
)
from flt_env import FaultEnv

from bedrock_release.pipeline import drills

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultEnv]:
    yield from module_env(tmp_path_factory)


@pytest.fixture(autouse=True)
def _clean_after(env: FaultEnv) -> Iterator[None]:
    yield
    repair(env)


@pytest.mark.parametrize(("fault", "phase", "decision", "tier"), [r for r in ROLLED_BACK if r[1] == 2])
def test_drill_is_rolled_back_with_its_tier_and_the_sandbox_is_back_on_the_previous_release(
    env: FaultEnv, fault: str, phase: int, decision: int, tier: str
) -> None:
    check_rolled_back(env, fault, phase, decision, tier)


def test_mcp_down_is_caught_by_the_mcp_router_health_check(env: FaultEnv) -> None:
    state = env.state(sorted(env.runs.glob(f"2*-{RELEASE}"))[0])
    assert state.fault == "mcp-down"
    failing = [c for c in state.components if c.get("healthy") is False]
    assert failing, state.components
    assert failing[0]["component"] == "MCPRouter", state.components
    assert not state.weights, "no weight may be set while a component is unhealthy"


def test_rollback_that_hits_a_fault_ends_failed_pages_on_call_and_is_recovered_by_hand(env: FaultEnv) -> None:
    proc, run_dir = drill(env, "rollback-fault")
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
    at_rollback = [d for d in injected(state, "rollback-fault") if d.get("at") == "rollback"]
    assert len(at_rollback) == 1
    assert at_rollback[0]["program"] == "moto"
    assert drills.pending_injections(state.drill, "rollback-fault") == []
    # The lock was handed over to on-call: no deploy starts over the half-done rollback.
    assert env.lock().status().handed_over
    assert "release the deploy lock handed over to you" in pages[0]["reason"]
    # What the page asks a person to do: give the lock back, then the rollback by hand, which now verifies.
    released = release_handed_over(env, run_dir.name)
    assert released.returncode == 0, released.stdout + released.stderr
    by_hand = env.playbook("playbooks/rollback_immediate.yml", run_id=run_dir.name)
    TIMES["rollback-fault: immediate rollback by hand"] = round(by_hand.duration_s, 1)
    assert by_hand.returncode == 0, by_hand.stdout[-3000:]
    report = env.checked_report(run_dir)
    assert report["outcome"] == "rolled_back"
    assert report["rollback"]["verified"] is True
    env.assert_back_on_previous(run_dir)
