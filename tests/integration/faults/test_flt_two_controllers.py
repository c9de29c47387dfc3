"""Controllers share the lock and the runs: four project copies (own runs folders), one sandbox and moto.

One private sandbox; the tests continue one run (1.1.0 over 1.0.0) as operators on different machines would:

1. controller A deploys; controller B's deploy meanwhile is refused naming A's owner and run. A is killed
   in phase 3 (the unverified release serves 100 %): B's next deploy is refused with the stale lock, the
   interrupted phase and the exact resume, rollback and break commands - B never saw that run on its disk.
2. B resumes A's run (fetched from the state bucket, the stale lock taken over) and is killed in phase 4.
   A watchdog on controller C does nothing while the lock is only stale; once it has expired it rolls the
   run back with the tier phase 4 calls for (full), recording why, and the sandbox is back on 1.0.0.
3. controller D, with an empty runs folder, verifies that run's evidence bundle and shows its status -
   both fetched from the state bucket.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flt_env import FaultEnv
from pipeline_env import REPO

from audit_trail import verify
from bedrock_release.pipeline.run_store import RunStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RELEASE = "1.1.0"
BIN = Path(sys.executable).parent
RUN: dict[str, Any] = {}
ASYNC: list[subprocess.Popen[str]] = []
#: Short enough to wait for, long enough that a loaded machine never misses it: stale after 6 s.
LOCK = {"release_lock_heartbeat_s": 2, "release_lock_expiry_s": 20}


@pytest.fixture(scope="module")
def controllers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FaultEnv]]:
    """Controller A (with the sandbox) and B, C, D: their own runs folders, A's sandbox and moto."""
    root = tmp_path_factory.mktemp("ctl")
    a = FaultEnv(root / "a", private_vars=dict(LOCK)).prepare(("1.0.0", RELEASE))
    envs = {"a": a, **{name: a.controller(root / name) for name in ("b", "c", "d")}}
    try:
        yield envs
    finally:
        for proc in ASYNC:
            if proc.poll() is None:
                a.kill_group(proc)
        a.sandbox_down()


def _actions(run_dir: Path) -> list[str]:
    return [json.loads(line)["action"] for line in (run_dir / "audit.jsonl").read_text().splitlines()]


def _phase_started(number: int) -> Any:
    return lambda recs: any(r["action"] == "phase_started" and r["data"]["phase"] == number for r in recs)


def _cli(env: FaultEnv, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(BIN / "bedrock-release"), *args, "-i", str(env.inventory)]
    return subprocess.run(
        argv, cwd=REPO, env=env._env(), capture_output=True, text=True, timeout=900, check=False
    )


def test_a_second_controller_is_refused_while_the_first_deploys_and_sees_its_killed_run(
    controllers: dict[str, FaultEnv],
) -> None:
    a, b = controllers["a"], controllers["b"]
    first = a.start_playbook("deploy.yml", release=RELEASE)
    ASYNC.append(first)
    deadline = time.monotonic() + 300
    while not (a.runs / "latest").exists():
        assert first.poll() is None, "A's deploy ended before it started its run"
        assert time.monotonic() < deadline, "A's deploy did not start its run in 300 s"
        time.sleep(0.5)
    run_dir = a.latest()
    a.wait_journal(run_dir, _phase_started(1), 300)
    holder = a.lock().status().info
    second = b.playbook("deploy.yml", release=RELEASE)
    assert second.returncode != 0
    assert "another deploy holds the lock" in second.stdout
    assert f"{holder.owner} (pid {first.pid} on {holder.host}, run {run_dir.name}" in second.stdout
    assert not (b.runs / "latest").exists(), "B's refused run must not become its latest"
    a.wait_journal(run_dir, _phase_started(3), 600)
    a.kill_group(first)
    a.wait_lock_stale()
    assert a.weights() == {"blue": 0, "green": 100}, "killed in phase 3: the unverified release serves 100 %"
    plain = b.playbook("deploy.yml", release=RELEASE)
    assert plain.returncode != 0
    assert "looks stale" in plain.stdout
    assert "interrupted in phase 3" in plain.stdout
    assert f"RESUME={run_dir.name}" in plain.stdout
    assert f"rollback_full.yml -e run_id={run_dir.name}" in plain.stdout
    assert "bedrock-release lock break --reason" in plain.stdout
    RUN["run_id"] = run_dir.name


def test_resumed_on_b_and_killed_the_watchdog_on_c_rolls_back_after_the_expiry_and_not_before(
    controllers: dict[str, FaultEnv],
) -> None:
    a, b, c = controllers["a"], controllers["b"], controllers["c"]
    run_id = RUN["run_id"]
    resumed = b.start_playbook("deploy.yml", release=RELEASE, resume_run=run_id)
    ASYNC.append(resumed)
    b.wait_journal(b.runs / run_id, _phase_started(4), 600)
    b.kill_group(resumed)
    journal = b.runs / run_id / "audit.jsonl"
    assert "lock_taken_over" in _actions(b.runs / run_id)
    assert b.lock().status().info.run_id == run_id
    b.wait_lock_stale()
    early = _cli(c, "watchdog", "--runs-dir", str(c.runs), "--json")
    assert early.returncode == 0, early.stdout + early.stderr
    assert json.loads(early.stdout)["action"] == "nothing"
    assert "not expired" in json.loads(early.stdout)["reason"]
    assert b.lock().status().held, "the watchdog did not touch a lock that had not expired"
    assert a.weights() == {"blue": 0, "green": 100}
    deadline = time.monotonic() + 120
    while not b.lock().status().expired:
        assert time.monotonic() < deadline, "B's dead deploy's lock did not expire"
        time.sleep(1)
    acted = _cli(c, "watchdog", "--runs-dir", str(c.runs), "--json")
    assert acted.returncode == 0, acted.stdout + acted.stderr + (c.runs / run_id / "watchdog.log").read_text()
    decision = json.loads(acted.stdout)
    assert (decision["action"], decision["tier"], decision["run_id"]) == ("rollback", "full", run_id)
    run_dir = c.runs / run_id
    assert (run_dir / "audit.jsonl").read_bytes().startswith(journal.read_bytes()), (
        "no record B wrote was lost"
    )
    records = [json.loads(line) for line in (run_dir / "audit.jsonl").read_text().splitlines()]
    taken = [r for r in records if r["action"] == "lock_taken_over"][-1]["data"]
    assert taken["by"].startswith("watchdog@")
    assert taken["expired"] is True
    started = [r for r in records if r["action"] == "rollback_started"][-1]["data"]
    assert "stopped in phase 4" in started["trigger"]
    assert started["tier"] == "full"
    report = c.checked_report(run_dir)
    assert report["outcome"] == "rolled_back"
    a.assert_back_on_previous(run_dir)  # A reads the sandbox (its secrets); the lock is the shared one
    remote = RunStore(c.shared_state()).fetch(controllers["d"].runs / "peek", run_id)
    assert (remote / "audit.jsonl").read_bytes() == (run_dir / "audit.jsonl").read_bytes()
    assert verify(run_dir / "audit.jsonl").ok


def test_a_controller_without_the_run_verifies_its_bundle_and_shows_its_status(
    controllers: dict[str, FaultEnv],
) -> None:
    d = controllers["d"]
    run_id = RUN["run_id"]
    verified = _cli(d, "verify", run_id, "--runs-dir", str(d.runs))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout
    status = _cli(d, "status", "--runs-dir", str(d.runs), "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    shown = json.loads(status.stdout)
    assert shown["latest_run"]["run_id"] == run_id
    assert shown["latest_run"]["outcome"] == "rolled_back"
    assert shown["lock"]["held"] is False
    assert shown["weights"] == {"blue": 100, "green": 0}
