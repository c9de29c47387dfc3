"""The fault catalogue drilled for real: drills that strike phases 3 and 5, and the storm the release absorbs.

As test_flt_drills, in a sandbox of its own; bedrock-throttling runs last, as a whole deploy that must
go through.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flt_drill_support import (
    HTTP,
    RELEASE,
    ROLLED_BACK,
    check_rolled_back,
    drill,
    injected,
    module_env,
    repair,
)
from flt_env import FaultEnv

from bedrock_release.plan import FLAGS

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultEnv]:
    yield from module_env(tmp_path_factory)


@pytest.fixture(autouse=True)
def _clean_after(env: FaultEnv) -> Iterator[None]:
    yield
    repair(env)


@pytest.mark.parametrize(("fault", "phase", "decision", "tier"), [r for r in ROLLED_BACK if r[1] != 2])
def test_late_drill_is_rolled_back_with_its_tier_and_the_sandbox_is_back_on_the_previous_release(
    env: FaultEnv, fault: str, phase: int, decision: int, tier: str
) -> None:
    check_rolled_back(env, fault, phase, decision, tier)


def test_bedrock_throttling_storm_is_absorbed_by_the_mcp_fallback_and_the_deploy_goes_through(
    env: FaultEnv,
) -> None:
    proc, run_dir = drill(env, "bedrock-throttling")
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = env.checked_report(run_dir)
    assert report["outcome"] == "deployed"
    assert [p["status"] for p in report["phases"]] == ["passed"] * 7
    state = env.state(run_dir)
    assert state.decisions[2]["verdict"] == "go"
    found = injected(state, "bedrock-throttling")
    assert [d["phase"] for d in found] == [3]
    cleared = [d for d in state.drill if d["event"] == "cleared"]
    assert [d["phase"] for d in cleared] == [4], "the storm is cleared when phase 3 has passed"
    fired = HTTP.get(
        f"{env.url('sandbox_emulator_port')}/_emulator/counters",
        headers={"Authorization": f"Bearer {env.token()}"},
        timeout=5,
    ).json()["faults_fired"]
    assert sum(fired.get(rule, 0) for rule in found[0]["added"]) > 0, "the storm never throttled a call"
    assert env.emulator_rules() == []
    assert env.weights() == {"blue": 0, "green": 100}
    assert env.slot_get("green", "/version")["release"] == RELEASE
    assert env.slot_get("green", "/v1/flags")["values"] == dict.fromkeys(FLAGS, True)
