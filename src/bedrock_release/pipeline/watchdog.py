"""The watchdog: a deploy whose lock expired is rolled back with the tier its interrupted phase calls for.

Run from a timer on any controller of the environment (docs/pipeline.md "The watchdog";
``contrib/systemd/`` for production, ``make watchdog`` in the sandbox). Each tick reads the shared
lock: free, alive, stale but not yet expired (an operator may still resume), or handed over to a
person - nothing to do, and it says why. Expired: the holder's run is fetched from the state bucket,
the tier is chosen by ``rollback_policy.decide_interrupted`` (a rollback under way is run again;
otherwise the interrupted phase's tier) and the rollback playbook runs with the watchdog as operator.
Its lock step takes over only that expired lock, conditionally (an operator who resumed a moment
before wins), and the journal records why (``lock_taken_over`` by ``watchdog@host``, and the
rollback's trigger). A run interrupted before anything changed (phase 1) is finished ``failed``.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bedrock_release.pipeline.journal import read_state
from bedrock_release.pipeline.lock import DeployLock
from bedrock_release.pipeline.run import RunError, finish_run, interrupted_tier, lock_run
from bedrock_release.pipeline.run_store import RunStore
from bedrock_release.pipeline.shared_state import SharedState
from bedrock_release.plan import phase

__all__ = ["FINISH", "NOTHING", "ROLLBACK", "WatchdogDecision", "act", "decide", "loop", "tick"]

NOTHING, ROLLBACK, FINISH = "nothing", "rollback", "finish"
_REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class WatchdogDecision:
    """What the watchdog does this tick, for which run, with which tier, and why."""

    action: str
    reason: str
    run_id: str | None = None
    tier: str | None = None
    lock: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def decide(shared: SharedState, runs_dir: Path, *, lock: DeployLock | None = None) -> WatchdogDecision:
    """Read the lock (and, when it expired, the holder's run) and decide; changes nothing."""
    status = (lock or DeployLock(shared)).status()
    if not status.held or status.info is None:
        return WatchdogDecision(NOTHING, status.describe())
    info = status.info
    if status.handed_over:
        return WatchdogDecision(NOTHING, f"{status.describe()}: a person acts, not the watchdog", info.run_id)
    if not status.expired:
        wait = max(0.0, (info.expires_epoch or 0.0) - (time.time()))
        return WatchdogDecision(
            NOTHING,
            f"{status.describe()}; not expired (in {wait:.0f} s): the operator may still resume",
            info.run_id,
        )
    RunStore(shared).fetch(runs_dir, info.run_id)
    state = read_state(runs_dir / info.run_id)
    current = state.current_phase or 7
    why = (
        f"watchdog: the deploy lock of run {info.run_id} expired at {info.expires_at} (held by {info.owner}, "
        f"pid {info.pid} on {info.host}, last heartbeat {info.heartbeat_at}, "
        f"{status.heartbeat_age_s:.0f} s ago); "
        f"the run stopped in phase {current} ({phase(current).name})"
    )
    lock_view = info.public()
    if state.finished:
        return WatchdogDecision(
            FINISH,
            f"{why} after it finished ({state.outcome}): the lock is freed",
            info.run_id,
            None,
            lock_view,
        )
    tier, policy = interrupted_tier(state)
    if tier is None:
        return WatchdogDecision(
            FINISH, f"{why}; {policy}: nothing to roll back", info.run_id, None, lock_view
        )
    return WatchdogDecision(ROLLBACK, f"{why}; {policy}: {tier} rollback", info.run_id, tier, lock_view)


def _finish(decision: WatchdogDecision, shared: SharedState, runs_dir: Path) -> tuple[int, str]:
    ok, message, run = lock_run(runs_dir, str(decision.run_id), "watchdog", shared=shared, watchdog=True)
    if not ok:
        return 1, f"watchdog did not act: {message}"
    outcome = run["state"]["outcome"] or "failed"
    finish_run(runs_dir, str(decision.run_id), outcome, decision.reason, again=False)
    return 0, f"{decision.reason}; run {decision.run_id} finished {outcome}, lock released"


def act(
    decision: WatchdogDecision,
    shared: SharedState,
    runs_dir: Path,
    *,
    inventory: Path,
    extra_vars: Mapping[str, Any],
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
) -> tuple[int, str]:
    """Carry the decision out: run the rollback playbook (or finish the run); return (exit code, summary)."""
    if decision.action == NOTHING:
        return 0, decision.reason
    if decision.action == FINISH:
        return _finish(decision, shared, runs_dir)
    argv = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        str(inventory),
        f"playbooks/rollback_{decision.tier}.yml",
        "-e",
        json.dumps(
            {
                **extra_vars,
                "run_id": decision.run_id,
                "rollback_reason": decision.reason,
                "rollback_watchdog": True,
            }
        ),
    ]
    done = run(argv, cwd=_REPO, capture_output=True, text=True, check=False)
    log = runs_dir / str(decision.run_id) / "watchdog.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {shlex.join(argv)}\n{done.stdout}\n--- stderr ---\n{done.stderr}\n")
    if done.returncode != 0:
        return 1, f"{decision.reason}; the rollback playbook failed (rc {done.returncode}, log {log})"
    return 0, f"{decision.reason}; done (log {log})"


def tick(
    shared: SharedState, runs_dir: Path, *, inventory: Path, extra_vars: Mapping[str, Any]
) -> tuple[int, WatchdogDecision, str]:
    """One look at the lock and, when it expired, the rollback; (exit code, decision, summary)."""
    try:
        decision = decide(shared, runs_dir)
    except (RuntimeError, LookupError) as exc:  # the table or bucket did not answer, the run is missing
        return 1, WatchdogDecision(NOTHING, str(exc)), f"watchdog could not look: {exc}"
    try:
        code, summary = act(decision, shared, runs_dir, inventory=inventory, extra_vars=extra_vars)
    except (RunError, RuntimeError) as exc:
        return 1, decision, f"{decision.reason}; watchdog failed: {exc}"
    return code, decision, summary


def loop(
    shared: SharedState,
    runs_dir: Path,
    *,
    inventory: Path,
    extra_vars: Mapping[str, Any],
    every_s: float,
    say: Callable[[str], None],
    ticks: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """The sandbox's timer: a tick every ``every_s`` (``ticks`` of them, or until interrupted)."""
    done = 0
    code = 0
    while ticks is None or done < ticks:
        code, _decision, summary = tick(shared, runs_dir, inventory=inventory, extra_vars=extra_vars)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        say(f"{stamp} {summary}")
        done += 1
        if ticks is None or done < ticks:
            sleep(every_s)
    return code
