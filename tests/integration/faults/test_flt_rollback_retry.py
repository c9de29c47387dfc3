"""A rollback never stops half-way: the load balancer's admin API stops answering when the rollback starts.

Drill ``rollback-balancer-unreachable``: the release fails 20 % of its operations once the canary gives it
traffic (errors-under-load), phase 2 fails, and when the full rollback starts Caddy's admin endpoint moves
away (connection refused at the address the pipeline knows; the proxy keeps serving). The rollback's first
step, "Live traffic weights are known", retries with backoff until the rollback's deadline.

- The balancer answers again: the test gives Caddy its admin endpoint back as soon as the journal shows the
  rollback waiting on it (a ``backend_retry`` record) - the rollback then finishes, verified.
- It never answers: the run ends ``failed`` with its report, the deploy lock is handed over to on-call (no
  deploy starts over the half-done state), on-call is paged with the no-go, the traffic state it left and
  the commands to run - and those commands then work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flt_drill_support import RELEASE, TIMES, drill, module_env, release_handed_over, repair
from flt_env import FaultEnv

from bedrock_release.pipeline import drill_injectors, drills
from bedrock_release.report.render import load_view, render_markdown

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAULT = "rollback-balancer-unreachable"
ON_CALL_PRIMARY = "on-call primary: DevOps Team Lead"  # roles/rollback rollback_lock_handed_over_to
#: The deploy reaches its rollback in 2-5 minutes on this machine; the bound only ends a test that hangs.
ROLLBACK_REACHED_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultEnv]:
    yield from module_env(tmp_path_factory)


@pytest.fixture(autouse=True)
def _clean_after(env: FaultEnv) -> Iterator[None]:
    yield
    repair(env)


def _records(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _of(records: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [r["data"] for r in records if r["action"] == action]


def _targets(env: FaultEnv) -> drills.SandboxTargets:
    return drills.SandboxTargets(caddy_admin_url=env.url("sandbox_caddy_admin_port"))


def _check_the_rollback_waited_on_the_balancer(records: list[dict[str, Any]]) -> None:
    started = _of(records, "rollback_started")
    assert [s["tier"] for s in started] == ["full"]
    retries = _of(records, "backend_retry")
    assert retries, "the rollback gave up on the load balancer without trying again"
    assert {r["what"] for r in retries} == {"read the weights"}
    assert [r["attempt"] for r in retries] == list(range(1, len(retries) + 1))
    assert all("refused" in r["error"].lower() for r in retries), retries
    assert {r["until"] for r in retries} == {started[0]["retry_until"].split(".")[0] + "Z"}
    at_rollback = [d for d in _of(records, "drill_fault") if d.get("at") == "rollback"]
    assert [d["kind"] for d in at_rollback] == ["caddy_admin_unreachable"]


def _the_no_go_page(records: list[dict[str, Any]]) -> dict[str, Any]:
    pages = _of(records, "oncall_paged")
    assert len(pages) == 1, f"one page per no-go, with the whole story: {pages}"
    assert pages[0]["event"] == "no_go"
    assert pages[0]["delivered"] is True, pages[0]
    assert pages[0]["message_id"]
    assert pages[0]["to"][0] == "primary: DevOps Team Lead"
    assert "no-go at decision point 1; phase 2 (Component Deployment) failed" in pages[0]["reason"]
    return pages[0]


def _new_run(env: FaultEnv, before: set[Path], timeout_s: float = 300) -> Path:
    """The run folder the deploy just created, waited for (its journal exists) within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (
        new := [p for p in env.runs.glob(f"2*-{RELEASE}") if p not in before and (p / "audit.jsonl").exists()]
    ):
        assert time.monotonic() < deadline, f"no new run folder in {env.runs} after {timeout_s} s"
        time.sleep(0.2)
    (run_dir,) = new
    return run_dir


def test_a_balancer_that_answers_again_lets_the_rollback_finish_verified(env: FaultEnv) -> None:
    before = set(env.runs.glob(f"2*-{RELEASE}"))
    proc = env.start_playbook("deploy.yml", release=RELEASE, sandbox_fault=FAULT)
    try:
        run_dir = _new_run(env, before)
        env.wait_journal(
            run_dir,
            lambda records: any(r["action"] == "backend_retry" for r in records),
            timeout=ROLLBACK_REACHED_TIMEOUT_S,
        )
        (injected,) = [d for d in env.state(run_dir).drill if d.get("at") == "rollback"]
        # The balancer answers again (the test, not the pipeline, gives Caddy its admin endpoint back).
        drill_injectors.clear("caddy_admin_unreachable", injected, _targets(env))
        proc.wait(timeout=ROLLBACK_REACHED_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            env.kill_group(proc)
    assert proc.returncode != 0, "a failed phase ends the play non-zero, rolled back or not"
    report = env.checked_report(run_dir)
    assert report["outcome"] == "rolled_back"
    assert report["rollback"]["tier"] == "full"
    assert report["rollback"]["verified"] is True
    assert report["rollback"]["traffic_left"] == "traffic blue 100 %, green 0 % (read live)"
    records = _records(run_dir)
    _check_the_rollback_waited_on_the_balancer(records)
    finished = _of(records, "rollback_finished")
    assert [f["verified"] for f in finished] == [True]
    assert finished[0]["traffic_left"]["source"] == "load_balancer"
    steps = [s["step"] for s in _of(records, "rollback_step") if s["part"] == "full"]
    assert steps == [
        "Execute immediate rollback",
        "Revert all component deployments",
        "Restore previous system configuration",
        "Conduct comprehensive system validation",
    ]
    page = _the_no_go_page(records)
    assert "the full rollback was verified in" in page["reason"]
    assert "traffic blue 100 %, green 0 % (read live)" in page["reason"]
    assert "deploy lock is free" in page["reason"]
    env.assert_back_on_previous(run_dir)  # also: every drill injection journaled as cleared, lock free


def test_a_balancer_that_never_answers_ends_the_run_failed_reported_paged_handed_over_naming_the_traffic(
    env: FaultEnv,
) -> None:
    proc, run_dir = drill(env, FAULT)
    assert proc.returncode != 0
    assert "Rollback full FAILED" in proc.stdout, proc.stdout[-3000:]
    assert "Outcome failed" in proc.stdout
    assert f"deploy lock of run {run_dir.name} handed over to {ON_CALL_PRIMARY}" in proc.stdout
    assert "on-call paged" in proc.stdout
    report = env.checked_report(run_dir)
    assert report["outcome"] == "failed"
    assert report["rollback"]["tier"] == "full"
    assert report["rollback"]["verified"] is False
    assert "Live traffic weights are known" in report["rollback"]["reason"]
    assert "still failing after" in report["rollback"]["reason"]
    # The canary put the previous slot back to 100 % before the rollback started; the rollback, unable to
    # read the balancer, names those weights as this run's last, and says it could not confirm them.
    assert report["rollback"]["traffic_left"].startswith(
        "traffic blue 100 %, green 0 % (as this run last set them; the load balancer did not answer"
    )
    records = _records(run_dir)
    _check_the_rollback_waited_on_the_balancer(records)
    retries = _of(records, "backend_retry")
    assert len(retries) >= 2, "retried with backoff until the deadline"
    finished = _of(records, "rollback_finished")
    assert [f["verified"] for f in finished] == [False]
    assert finished[0]["traffic_left"]["source"] == "journal"
    assert finished[0]["traffic_left"]["weights"] == {"blue": 100, "green": 0}
    actions = [r["action"] for r in records]
    assert (
        actions.index("rollback_finished") < actions.index("lock_handed_over") < actions.index("run_finished")
    )
    assert actions.index("run_finished") < actions.index("oncall_paged")
    assert "lock_released" not in actions, (
        "a rollback that could not finish hands the lock over, never frees it"
    )
    page = _the_no_go_page(records)
    assert "the full rollback FAILED" in page["reason"]
    assert "It left traffic blue 100 %, green 0 %" in page["reason"]
    assert f"handed over to {ON_CALL_PRIMARY}" in page["reason"]
    assert (
        "next: release the deploy lock handed over to you "
        f"(bedrock-release lock release --run-id {run_dir.name}), "
        f"then finish the rollback by hand: make rollback TIER=full RUN={run_dir.name}"
    ) in page["reason"]
    lock = env.lock().status()
    assert lock.handed_over
    assert lock.info.run_id == run_dir.name
    assert lock.info.handed_over_to == ON_CALL_PRIMARY
    state = env.state(run_dir)
    assert drills.pending_injections(state.drill, FAULT) == [], "the rescue clears the rollback's fault"
    report_md = render_markdown(load_view(run_dir))
    assert "## On-call" in report_md
    assert "Traffic left: traffic blue 100 %" in report_md
    # No deploy starts over the half-done state while the lock is handed over.
    refused = env.playbook("deploy.yml", release=RELEASE)
    assert refused.returncode != 0
    assert f"handed over to {ON_CALL_PRIMARY}" in refused.stdout, refused.stdout[-3000:]
    # What the page asks a person to do works: give the lock back, then the rollback by hand verifies.
    released = release_handed_over(env, run_dir.name)
    assert released.returncode == 0, released.stdout + released.stderr
    by_hand = env.playbook("playbooks/rollback_full.yml", run_id=run_dir.name)
    TIMES[f"{FAULT}: full rollback by hand"] = round(by_hand.duration_s, 1)
    assert by_hand.returncode == 0, by_hand.stdout[-3000:]
    report = env.checked_report(run_dir)
    assert report["outcome"] == "rolled_back"
    assert report["rollback"]["verified"] is True
    env.assert_back_on_previous(run_dir)


def test_a_rollback_stopped_before_its_own_rescue_still_ends_the_run_failed_reported_paged_handed_over(
    env: FaultEnv,
) -> None:
    """A bad input stops the rollback role in its input check, outside its rescue: the run still ends."""
    rolled_back = [r for r in sorted(env.runs.glob(f"2*-{RELEASE}")) if env.state(r).rollback is not None]
    run_dir = rolled_back[-1] if rolled_back else drill(env, "component-unhealthy")[1]
    pages_before = len(_of(_records(run_dir), "oncall_paged"))
    proc = env.playbook(
        "playbooks/rollback_immediate.yml", run_id=run_dir.name, rollback_propagation_timeout_s=0
    )
    assert proc.returncode != 0
    assert "immediate rollback stopped at Rollback inputs are valid" in proc.stdout, proc.stdout[-3000:]
    assert "rollback_propagation_timeout_s" in proc.stdout
    assert f"handed over to {ON_CALL_PRIMARY}" in proc.stdout
    report = env.checked_report(run_dir)
    assert report["outcome"] == "failed"
    assert report["rollback"]["verified"] is False
    assert "immediate rollback stopped at Rollback inputs are valid" in report["rollback"]["reason"]
    records = _records(run_dir)
    pages = _of(records, "oncall_paged")
    assert len(pages) == pages_before + 1
    assert pages[-1]["event"] == "no_go"
    assert pages[-1]["delivered"] is True
    assert "rollback_propagation_timeout_s" in pages[-1]["reason"]
    assert env.lock().status().handed_over
    released = release_handed_over(env, run_dir.name)
    assert released.returncode == 0, released.stdout + released.stderr
    env.assert_back_on_previous(run_dir)  # the stopped rollback changed nothing; the lock is free again
