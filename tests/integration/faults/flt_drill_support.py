"""Shared parts of the fault drill modules (test_flt_drills, test_flt_drills_late): one private sandbox each.

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
from pathlib import Path
from typing import Any

import pytest
import requests
from flt_env import FaultEnv
from pipeline_env import REPO

from bedrock_release.pipeline import drills

RELEASE = "1.1.0"
#: Wall times of the drills, printed when a module's environment stops.
TIMES: dict[str, float] = {}
HTTP = requests.Session()
HTTP.trust_env = False


def module_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultEnv]:
    """A module's private environment; its sandbox is stopped afterwards whatever happened."""
    fault_env = FaultEnv(tmp_path_factory.mktemp("flt")).prepare(("1.0.0", RELEASE))
    try:
        yield fault_env
    finally:
        repair(fault_env)
        fault_env.sandbox_down()
        print("\nfault drill wall times (s):", json.dumps(TIMES, indent=1))


def repair(env: FaultEnv) -> None:
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
    # A rollback that could not finish handed the lock to on-call: give it back and finish that rollback.
    lock = env.lock().status()
    if lock.handed_over and lock.info is not None:
        release_handed_over(env, lock.info.run_id)
        env.playbook("playbooks/rollback_full.yml", run_id=lock.info.run_id)
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


def release_handed_over(env: FaultEnv, run_id: str) -> subprocess.CompletedProcess[str]:
    """What the person a lock was handed to runs: ``bedrock-release lock release --run-id``."""
    argv = [
        str(Path(sys.executable).parent / "bedrock-release"),
        "lock",
        "release",
        "--run-id",
        run_id,
        "--operator",
        "oncall-primary",
        "--runs-dir",
        str(env.runs),
        "-i",
        str(env.inventory),
    ]
    return subprocess.run(
        argv, cwd=REPO, env=env._env(), capture_output=True, text=True, timeout=300, check=False
    )


def drill(env: FaultEnv, fault: str) -> tuple[Any, Any]:
    proc = env.playbook("deploy.yml", release=RELEASE, sandbox_fault=fault)
    TIMES[fault] = round(proc.duration_s, 1)
    run_dir = env.latest()
    assert env.state(run_dir).fault == fault
    return proc, run_dir


def injected(state: Any, fault: str) -> list[dict[str, Any]]:
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


def check_rolled_back(env: FaultEnv, fault: str, phase: int, decision: int, tier: str) -> None:
    """The verdict, tier and the state the catalogue promises after a drill that rolls back."""
    spec = drills.drill(fault)
    assert (spec.phase, spec.expected_tier.value if spec.expected_tier else None) == (phase, tier)
    proc, run_dir = drill(env, fault)
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
    found = injected(state, fault)
    assert [d["phase"] for d in found] == [phase]
    if spec.injection.kind != "slot_env":
        cleared = [d for d in state.drill if d["name"] == fault and d["event"] == "cleared"]
        assert [d["injection"] for d in cleared] == [0], state.drill
    if tier == "full":
        switches = [s for s in state.slot_releases if s["slot"] == state.new_slot]
        assert "revert" in json.dumps(switches[-1]).lower(), f"new slot not reverted: {switches[-1]}"
    env.assert_back_on_previous(run_dir)
