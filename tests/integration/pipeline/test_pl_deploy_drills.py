"""deploy.yml fault drills and rollbacks by hand, for real, in a private sandbox (1.0.0 live on blue).

Each drill deploys a new release with ``sandbox_fault=<drill>`` and must end in its rollback tier with a
healthy system; then the rollback playbooks by hand and the staging rollback drill.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pipeline_env import PipelineEnv
from pl_live import TIMES, checked_report, deploy, emulator_rules, flags, module_env, release_of, weights

from bedrock_release.plan import FLAGS
from bedrock_release.pre_deployment import read_drill_record
from bedrock_release.release.approvals import load_trusted_keys

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RELEASES = ("1.0.0", "1.1.0", "1.4.0", "1.5.0", "1.6.0", "1.7.0")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineEnv]:
    yield from module_env(tmp_path_factory, RELEASES)


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
    proc = deploy(env, f"drill {fault}", release=release, sandbox_fault=fault)
    assert proc.returncode != 0, "a drill must end the play non-zero"
    assert f"phase {phase} failed" in proc.stdout
    report = checked_report(env)
    assert report["release"] == release
    assert report["outcome"] == "rolled_back"
    assert report["rollback"]["tier"] == tier
    assert report["rollback"]["verified"] is True
    assert report["rollback"]["duration_s"] <= report["rollback"]["target_s"]
    assert report["phases"][phase - 1]["status"] == "failed"
    state = env.state()
    assert any(d["event"] == "injected" and d["name"] == fault for d in state.drill)
    assert emulator_rules(env) == [], "environment faults must be cleared"
    steps = [s["step"] for s in state.rollback.steps]
    assert steps[0] == "Disable all hybrid routing feature flags"
    if tier == "full":
        assert weights(env)[state.old_slot] == 100
        assert release_of(env, state.old_slot) == state.previous_release
        assert release_of(env, state.new_slot) != release
    if tier == "partial":
        assert flags(env, state.new_slot) == {f: f in FLAGS[:2] for f in FLAGS}


@pytest.mark.parametrize("tier", ["immediate", "full"])
def test_rollback_by_hand(env: PipelineEnv, tier: str) -> None:
    proc = env.playbook(f"playbooks/rollback_{tier}.yml")
    TIMES[f"rollback {tier} by hand"] = round(proc.duration_s, 1)
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = checked_report(env)
    assert report["rollback"]["tier"] == tier
    assert report["rollback"]["verified"] is True
    assert report["outcome"] == "rolled_back"
    assert not env.lock().status().held


def test_staging_rollback_drill_writes_a_valid_drill_record(env: PipelineEnv) -> None:
    proc = env.playbook("playbooks/staging.yml", release="1.1.0", args=("--tags", "staging_drill"))
    TIMES["staging drill (three tiers)"] = round(proc.duration_s, 1)
    assert proc.returncode == 0, proc.stdout[-4000:]
    trusted = load_trusted_keys(env.runs / "sandbox" / "keys" / "trusted")
    record = read_drill_record(env.releases / "1.1.0" / "evidence", release="1.1.0", trusted_keys=trusted)
    assert record.problems() == ()
    assert record.key_id  # signed with the sandbox's Operations Team (ops lead) key
    assert [t.tier for t in record.tiers] == ["immediate", "partial", "full"]
