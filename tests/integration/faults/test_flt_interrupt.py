"""Interruptions and concurrency, for real: deploy.yml SIGKILLed (whole process group) in phases 2 and 5.

One private sandbox; the three tests continue one run (1.1.0 over 1.0.0) as an operator would:

1. while the deploy runs, a second deploy is refused naming the lock owner (user@host, pid, run, age);
   then the deploy is killed in the middle of the canary (phase 2): the lock is left stale, the next
   deploy is refused with the stale lock's owner and age and the exact resume / rollback commands;
2. the documented re-run path - resume (``-e resume_run=``, limited to phase 2 with ``--tags``) takes
   the stale lock over (journaled), runs phase 2 again from its start and nothing is deployed twice:
   one slot switch, each component activated once (the second time already active), the canary
   continuing from the weight it had reached; Caddy's weights never gave both slots 100%;
3. resumed again (phases 3-5), killed after the second flag went on: the flags are a known prefix of
   the plan's order, the rollback by hand takes the stale lock over and ends on the previous release
   with every flag off.

After every kill the audit chain verifies and the journal up to the kill is an unchanged prefix of
the final one: no record lost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flt_env import FaultEnv, WeightsRecorder

from audit_trail import verify
from bedrock_release.plan import FLAGS

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RELEASE = "1.1.0"
TIMES: dict[str, float] = {}
RUN: dict[str, Any] = {}
ASYNC: list[Any] = []  # playbooks started in the background: never left running past the module


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultEnv]:
    """The module's private environment; its sandbox is stopped afterwards whatever happened."""
    fault_env = FaultEnv(tmp_path_factory.mktemp("flti")).prepare(("1.0.0", RELEASE))
    try:
        yield fault_env
    finally:
        for proc in ASYNC:
            if proc.poll() is None:
                fault_env.kill_group(proc)
        fault_env.sandbox_down()
        print("\ninterruption wall times (s):", json.dumps(TIMES, indent=1))


def _records(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


def _kill_when(env: FaultEnv, proc: Any, run_dir: Path, pred: Any, *, timeout: float, name: str) -> bytes:
    started = time.monotonic()
    env.wait_journal(run_dir, pred, timeout)
    env.kill_group(proc)
    TIMES[name] = round(time.monotonic() - started, 1)
    verdict = verify(run_dir / "audit.jsonl")
    assert verdict.ok, verdict.summary()
    return (run_dir / "audit.jsonl").read_bytes()


def _green_weight_at_least(share: int) -> Any:
    return lambda recs: any(
        r["action"] == "traffic_weights_set" and int(r["data"]["weights"].get("green", 0)) >= share
        for r in recs
    )


def test_second_deploy_is_refused_with_the_owner_and_a_kill_in_phase_2_leaves_a_stale_lock(
    env: FaultEnv,
) -> None:
    started = time.monotonic()
    with WeightsRecorder(env) as recorder:
        first = env.start_playbook("deploy.yml", release=RELEASE)
        ASYNC.append(first)
        deadline = time.monotonic() + 300
        while not (env.runs / "latest").exists():
            assert first.poll() is None, "the deploy ended before it started its run"
            assert time.monotonic() < deadline
            time.sleep(0.2)
        run_dir = env.latest()
        env.wait_journal(run_dir, lambda recs: any(r["action"] == "phase_started" for r in recs), 300)
        second = env.playbook("deploy.yml", release=RELEASE)
        TIMES["second deploy refused"] = round(second.duration_s, 1)
        assert second.returncode != 0
        holder = env.lock().status()
        assert holder.held
        assert not holder.stale
        assert holder.info is not None
        assert holder.info.pid == first.pid
        assert "another deploy holds the lock" in second.stdout
        assert f"{holder.info.owner} (pid {first.pid}" in second.stdout
        assert f"run {run_dir.name}" in second.stdout
        refused = [p for p in env.runs.glob(f"2*-{RELEASE}") if p != run_dir]
        assert len(refused) == 1
        assert env.report(refused[0])["outcome"] == "no_go"
        assert not [
            r for r in _records(refused[0]) if r["action"].startswith(("traffic_", "slot_", "flag_set"))
        ]
        assert env.latest() == run_dir, "a refused deploy must not move runs/latest"
        killed_at = _kill_when(
            env,
            first,
            run_dir,
            _green_weight_at_least(25),
            timeout=600,
            name="deploy until killed in phase 2",
        )
    RUN.update(run_dir=run_dir, journal_at_kill_2=killed_at, samples=list(recorder.samples))
    state = env.state(run_dir)
    assert state.interrupted
    assert state.current_phase == 2
    env.wait_lock_stale()  # the killed deploy's heartbeat process notices and stops: three beats missed
    status = env.lock().status()
    assert status.stale, status.describe()
    assert not status.expired, "the operator can still resume: the lock has not expired"
    assert "pid" in status.describe()
    assert "age" in status.describe()
    plain = env.playbook("deploy.yml", release=RELEASE)
    assert plain.returncode != 0
    assert "looks stale" in plain.stdout
    assert f"resume_run={run_dir.name}" in plain.stdout
    assert f"rollback_full.yml -e run_id={run_dir.name}" in plain.stdout, "traffic moved: the full tier fits"
    assert env.latest() == run_dir
    TIMES["test 1 total"] = round(time.monotonic() - started, 1)


def test_resume_after_the_phase_2_kill_deploys_nothing_twice(env: FaultEnv) -> None:
    run_dir: Path = RUN["run_dir"]
    with WeightsRecorder(env) as recorder:
        resumed = env.playbook(
            "deploy.yml", release=RELEASE, resume_run=run_dir.name, args=("--tags", "phase2")
        )
    TIMES["resume phase 2 (paused after it)"] = round(resumed.duration_s, 1)
    assert resumed.returncode == 0, resumed.stdout[-4000:]
    journal = (run_dir / "audit.jsonl").read_bytes()
    assert journal.startswith(RUN["journal_at_kill_2"]), (
        "a record written before the kill changed or vanished"
    )
    assert verify(run_dir / "audit.jsonl").ok
    records = _records(run_dir)
    actions = [r["action"] for r in records]
    assert "lock_taken_over" in actions
    assert "run_resumed" in actions
    state = env.state(run_dir)
    assert state.phases_passed == (1, 2)
    switches = [
        r["data"] for r in records if r["action"] == "slot_release_set" and r["data"]["slot"] == "green"
    ]
    assert [s["release"] for s in switches] == [RELEASE], "the slot was switched more than once"
    fresh = [
        r["data"]["component"]
        for r in records
        if r["action"] == "component_activated" and str(r["data"].get("already_active")).lower() != "true"
    ]
    assert sorted(fresh) == sorted(set(fresh)), f"a component was activated twice: {fresh}"
    green = [int(w.get("green", 0)) for w in state.weights]
    assert green == sorted(green), f"the canary went back after the resume: {green}"
    assert green[-1] == 100
    samples = [w for _, w in RUN["samples"] + recorder.samples]
    assert samples, "no weights sampled"
    assert all(w["blue"] + w["green"] == 100 for w in samples), samples
    assert not [w for w in samples if w["blue"] == 100 and w["green"] == 100]
    allowed = {(100, 0)} | {(int(w.get("blue", 0)), int(w.get("green", 0))) for w in state.weights}
    assert {(w["blue"], w["green"]) for w in samples} <= allowed, "a weight the lock holder never set"
    assert not env.lock().status().held, "a paused run releases the lock"


def test_a_kill_in_phase_5_leaves_known_flags_and_the_rollback_by_hand_restores_the_previous_release(
    env: FaultEnv,
) -> None:
    run_dir: Path = RUN["run_dir"]
    proc = env.start_playbook(
        "deploy.yml", release=RELEASE, resume_run=run_dir.name, args=("--tags", "phase3,phase4,phase5")
    )
    ASYNC.append(proc)

    def second_flag_on(recs: list[dict[str, Any]]) -> bool:
        return any(
            r["action"] == "flag_set" and r["data"]["flag"] == FLAGS[1] and r["data"]["value"] for r in recs
        )

    killed_at = _kill_when(
        env, proc, run_dir, second_flag_on, timeout=600, name="resume until killed in phase 5"
    )
    state = env.state(run_dir)
    assert state.current_phase == 5
    env.wait_lock_stale()
    journaled_on = [e.flag for e in state.flag_events if e.value]
    time.sleep(3)  # the slots poll the flag store every second
    live = env.slot_get("green", "/v1/flags")["values"]
    live_on = [f for f in FLAGS if live[f]]
    assert live_on == list(FLAGS[: len(live_on)]), f"flags on are not a prefix of the plan's order: {live_on}"
    assert set(journaled_on) <= set(live_on) <= set(FLAGS[: len(journaled_on) + 1]), (journaled_on, live_on)
    rollback = env.playbook("playbooks/rollback_full.yml", run_id=run_dir.name)
    TIMES["full rollback by hand after the phase 5 kill"] = round(rollback.duration_s, 1)
    assert rollback.returncode == 0, rollback.stdout[-4000:]
    assert (run_dir / "audit.jsonl").read_bytes().startswith(killed_at)
    assert "lock_taken_over" in [r["action"] for r in _records(run_dir)[len(killed_at.splitlines()) :]]
    report = env.checked_report(run_dir)
    assert report["outcome"] == "rolled_back"
    assert report["rollback"]["tier"] == "full"
    assert report["rollback"]["verified"] is True
    env.assert_back_on_previous(run_dir)
    RUN["records"] = len(_records(run_dir))
