"""One deploy run: its id and folder, target.json, admission (lock, interrupted runs), resume, finish.

``start_run`` is what ``deploy_run`` calls after validating its inputs and reading the live system:
it creates ``runs/<run-id>/`` with the journal and ``target.json`` and either admits the run (takes
the deploy lock, points ``runs/latest`` and the state bucket's ``latest.json`` at it) or refuses it
with a message that says what to do. A refused run is recorded (journal ``run_refused`` +
``run_finished no_go``) so its report can be written, but it never moves ``latest``: an operator
rolling back by hand must find the run that changed something.

The lock is the environment's DynamoDB item and every run is mirrored to its S3 bucket
(``bedrock_release.pipeline.lock``, ``run_store``): a run another controller started is fetched from
the bucket when it is not on this controller's disk, so it can be resumed or rolled back from here.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from audit_trail import AuditLog, quarantine_partial_tail
from bedrock_release.pipeline import heartbeat
from bedrock_release.pipeline.journal import JOURNAL_NAME, Journal, RunState, read_state
from bedrock_release.pipeline.lock import (
    DeployLock,
    LockHeldError,
    LockNotHeldError,
    LockStatus,
    LockUnavailableError,
)
from bedrock_release.pipeline.rollback_policy import Action, decide_interrupted
from bedrock_release.pipeline.run_store import (
    JournalDivergedError,
    RunNotFoundError,
    RunStore,
    note,
)
from bedrock_release.pipeline.shared_state import TARGET_KEY, SharedState, SharedStateUnavailableError, of_run
from bedrock_release.plan import phase
from bedrock_release.release import artifact as release_artifact

__all__ = [
    "LATEST",
    "SLOTS",
    "TARGET_NAME",
    "RunError",
    "RunPaths",
    "StartRequest",
    "StartResult",
    "ansible_pid",
    "break_lock",
    "fetch_run",
    "find_interrupted",
    "finish_run",
    "hand_over_lock",
    "interrupted_tier",
    "live_slots",
    "load_run",
    "lock_run",
    "new_run_id",
    "operator_name",
    "record_failed_preflight",
    "release_lock",
    "resume_hint",
    "run_shared_state",
    "start_run",
    "take_lock",
]

SLOTS = ("blue", "green")
LATEST = "latest"
TARGET_NAME = "target.json"
_RUN_ID_TIME = "%Y%m%dT%H%M%SZ"
_SHARED_FAILURES = (LockUnavailableError, SharedStateUnavailableError, JournalDivergedError)


class RunError(RuntimeError):
    """A run that cannot be started, resumed or loaded; the message says why and what to do."""


def operator_name() -> str:
    """Return the person (or CI user) running the pipeline."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def ansible_pid() -> int:
    """Return the pid of the outermost ``ansible-playbook`` process above us (the deploy's life span).

    Modules run in a short-lived worker forked from ansible-playbook; the lock must name the process
    whose death means the deploy was interrupted. Falls back to our parent when there is none.
    """
    found = None
    with contextlib.suppress(psutil.Error):
        for proc in psutil.Process().parents():
            cmdline = " ".join(proc.cmdline())
            if "ansible-playbook" in cmdline:
                found = proc.pid  # keep walking: the forked workers share the main process's cmdline
    return found or os.getppid()


def new_run_id(release: str, now: datetime | None = None) -> str:
    """Return ``YYYYmmddTHHMMSSZ-<release>`` (docs/contracts.md)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment.strftime(_RUN_ID_TIME)}-{release}"


@dataclass(frozen=True)
class RunPaths:
    """Where a run keeps its files."""

    runs_dir: Path
    run_id: str

    @property
    def run_dir(self) -> Path:
        """``runs/<run-id>/``."""
        return self.runs_dir / self.run_id

    @property
    def journal(self) -> Path:
        """The run's audit chain."""
        return self.run_dir / JOURNAL_NAME

    @property
    def target(self) -> Path:
        """The target description the suite reads."""
        return self.run_dir / TARGET_NAME

    @property
    def results(self) -> Path:
        """The suite's results folder of this run."""
        return self.run_dir / "results"


def live_slots(weights: Mapping[str, Any]) -> tuple[str, str, bool]:
    """Return (active, idle, split) from the live traffic weights {blue, green}."""
    values = {slot: int(weights.get(slot, 0)) for slot in SLOTS}
    active = max(SLOTS, key=lambda slot: values[slot])
    idle = next(slot for slot in SLOTS if slot != active)
    split = values[idle] != 0 or values[active] <= 0
    return active, idle, split


@dataclass(frozen=True)
class StartRequest:
    """Everything start_run needs: inputs from the inventory and what the live system said."""

    runs_dir: Path
    releases_dir: Path
    release: str
    environment: str
    time_scale: float
    weights: Mapping[str, int]
    slot_releases: Mapping[str, str | None]
    shared: SharedState | None = None
    target: Mapping[str, Any] = field(default_factory=dict)
    fault: str = ""
    resume_run: str = ""
    operator: str = ""
    pid: int | None = None


@dataclass(frozen=True)
class StartResult:
    """The run (as Ansible's ``release_run`` fact), whether it was refused and why."""

    run: Mapping[str, Any]
    refused: bool
    message: str
    changed: bool


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _target_document(paths: RunPaths, req: StartRequest, state_fields: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": 1,
        "run_id": paths.run_id,
        "environment": req.environment,
        "release": req.release,
        "previous_release": state_fields["previous_release"],
        "time_scale": req.time_scale,
        "slots": dict(state_fields["slots"]),
    }
    doc.update({k: v for k, v in req.target.items() if k not in doc})
    doc["results_dir"] = str(paths.results)
    doc["journal"] = str(paths.journal)
    if req.shared is not None:
        doc[TARGET_KEY] = req.shared.to_dict()
    return doc


def _run_view(paths: RunPaths, state: RunState, *, resumed: bool) -> dict[str, Any]:
    target = json.loads(paths.target.read_text(encoding="utf-8")) if paths.target.exists() else {}
    return {
        "run_id": paths.run_id,
        "runs_dir": str(paths.runs_dir),
        "run_dir": str(paths.run_dir),
        "journal": str(paths.journal),
        "target_file": str(paths.target),
        "results_dir": str(paths.results),
        "release": state.release,
        "previous_release": state.previous_release,
        "environment": state.environment,
        "time_scale": state.time_scale,
        "fault": state.fault or "",
        "slots": dict(state.slots),
        "endpoints": target.get("endpoints", {}),
        "resumed": resumed,
        "state": state.to_dict(),
    }


def run_shared_state(paths: RunPaths) -> SharedState:
    """The shared lock and state a run started with (its target.json); RunError when it has none."""
    shared = of_run(paths.run_dir)
    if shared is None:
        raise RunError(f"run {paths.run_id}: {paths.target} names no shared_state (lock table, state bucket)")
    return shared


def interrupted_tier(state: RunState) -> tuple[str | None, str]:
    """The rollback tier an interrupted run needs (None: nothing changed yet) and the policy's reason."""
    rollback = state.rollback
    decision = decide_interrupted(
        state.current_phase or 7,
        traffic_moved=state.traffic_moved,
        rollback_tier=rollback.tier if rollback is not None and not rollback.finished else None,
    )
    tier = decision.tier.value if decision.action is Action.ROLLBACK and decision.tier else None
    return tier, decision.reason


def resume_hint(run_id: str, state: RunState) -> str:
    """Return the exact commands to resume an interrupted run or roll it back."""
    current = state.current_phase or 7
    tier, _reason = interrupted_tier(state)
    tier = tier or "full"
    name = phase(current).name
    return (
        f"run {run_id} (release {state.release}) was interrupted in phase {current} ({name}). "
        f"Resume it: `make deploy RELEASE={state.release} RESUME={run_id}` "
        f"(= ansible-playbook deploy.yml -e release={state.release} -e resume_run={run_id}); "
        f"or roll it back ({tier} fits phase {current}): `make rollback TIER={tier} RUN={run_id}` "
        f"(= ansible-playbook playbooks/rollback_{tier}.yml -e run_id={run_id})"
    )


def _refreshed(runs_dir: Path, run_id: str, store: RunStore | None) -> RunState:
    """The run's state after bringing its journal up to date from the state bucket (when there is one)."""
    if store is not None:
        # A run that never reached the bucket (refused before it, or older than shared state) stays as is.
        with contextlib.suppress(RunNotFoundError):
            store.fetch(runs_dir, run_id)
    return read_state(runs_dir / run_id)


def find_interrupted(
    runs_dir: Path, *, exclude: str = "", store: RunStore | None = None
) -> list[tuple[str, RunState]]:
    """Return runs that took the deploy lock and never finished, oldest first.

    With a store, a local run that looks interrupted is first brought up to date (another controller
    may have finished it), and the environment's latest run is looked at wherever it was started.
    """
    candidates = {journal.parent.name for journal in runs_dir.glob(f"*/{JOURNAL_NAME}")}
    if store is not None:
        latest = store.latest()
        if latest:
            candidates.add(latest)
    found = []
    for run_id in sorted(candidates):
        run_dir = runs_dir / run_id
        if run_id == exclude or run_dir.is_symlink():
            continue
        try:
            state = read_state(run_dir) if (run_dir / JOURNAL_NAME).exists() else None
            if state is None or state.interrupted:
                state = _refreshed(runs_dir, run_id, store)
        except _SHARED_FAILURES:
            raise
        except Exception as exc:  # a damaged journal is itself a reason to stop and look
            found.append((run_id, RunState(run_id=run_id, refused=None, finish_reason=f"unreadable: {exc}")))
            continue
        if state.interrupted:
            found.append((run_id, state))
    return found


def update_latest(runs_dir: Path, run_id: str, store: RunStore | None = None) -> None:
    """Point ``runs/latest`` (atomically) and the state bucket's ``latest.json`` at a run."""
    link = runs_dir / LATEST
    tmp = runs_dir / f".{LATEST}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(run_id)
    os.replace(tmp, link)
    if store is not None:
        try:
            store.put_latest(run_id)
        except SharedStateUnavailableError as exc:
            note(runs_dir / run_id, f"latest.json not updated: {exc}")


def _refuse(journal: Journal, run_id: str, reason: str) -> None:
    journal.record("run_refused", {"run_id": run_id, "reason": reason})
    journal.run_finished("no_go", reason)


def _lock_refusal(status: LockStatus, runs_dir: Path, store: RunStore | None) -> str:
    message = f"another deploy holds the lock: {status.describe()}"
    if status.stale and status.info is not None:
        try:
            state = _refreshed(runs_dir, status.info.run_id, store)
        except _SHARED_FAILURES as exc:
            message += f"; its run could not be read ({exc})"
        else:
            if state.started:
                message += "; " + resume_hint(status.info.run_id, state)
        message += (
            "; to break the stale lock instead: `bedrock-release lock break --reason '<why>'` "
            "(recorded in the audit trail)"
        )
    return message


def _take_over(
    paths: RunPaths,
    lock: DeployLock,
    status: LockStatus,
    *,
    purpose: str,
    operator: str,
    pid: int,
    watchdog: bool,
) -> tuple[bool, str]:
    """Replace the stale holder of this same run (LockHeldError when it moved meanwhile)."""
    assert status.info is not None  # noqa: S101 - the caller checked that the lock is held
    if not status.stale:
        return False, (
            f"run {paths.run_id} is still running: {status.describe()}; stop that ansible-playbook first"
        )
    info = lock.take_over(
        status, paths.run_id, pid=pid, owner=operator, purpose=purpose, require_expired=watchdog
    )
    heartbeat.spawn(paths.run_dir, info, pid)
    Journal(paths.journal).record(
        "lock_taken_over",
        {
            "run_id": paths.run_id,
            "previous_holder": status.info.public(),
            "reason": f"{purpose}: {status.stale_reason}",
            "by": operator,
            "expired": status.expired,
            "heartbeat_age_s": round(status.heartbeat_age_s or 0.0, 1),
        },
    )
    return True, f"deploy lock of run {paths.run_id} taken over by {operator} ({purpose})"


def take_lock(
    paths: RunPaths,
    *,
    purpose: str,
    operator: str,
    pid: int | None = None,
    watchdog: bool = False,
) -> tuple[bool, str]:
    """Take the deploy lock for an existing run (resume, rollback by hand, the watchdog).

    A stale lock of the same run is taken over in one conditional write and the takeover is audited
    in the run's journal; the watchdog takes over only an expired one. A lock held by a live holder,
    or by another run, is refused. Returns (ok, message).
    """
    shared = run_shared_state(paths)
    lock, store = DeployLock(shared), RunStore(shared)
    # A deploy killed in the middle of a journal write leaves a line without its newline: that record
    # was never committed; it is moved aside (and the move audited) so the chain continues intact.
    quarantine_partial_tail(paths.journal, actor=f"operator:{operator}")
    watch_pid = pid if pid is not None else ansible_pid()
    try:
        status = lock.status()
        if status.held and status.info is not None and status.info.run_id != paths.run_id:
            return False, _lock_refusal(status, paths.runs_dir, store)
        if status.held:
            return _take_over(
                paths, lock, status, purpose=purpose, operator=operator, pid=watch_pid, watchdog=watchdog
            )
        if watchdog:
            return False, f"the lock of run {paths.run_id} is free again: someone acted before the watchdog"
        info = lock.acquire(paths.run_id, pid=watch_pid, owner=operator, purpose=purpose)
    except LockHeldError as exc:  # someone else changed the lock between our read and our write
        other_run = exc.status.info is not None and exc.status.info.run_id != paths.run_id
        return False, _lock_refusal(exc.status, paths.runs_dir, store) if other_run else str(exc)
    except _SHARED_FAILURES as exc:
        return False, str(exc)
    heartbeat.spawn(paths.run_dir, info, watch_pid)
    Journal(paths.journal).record(
        "lock_acquired", {"run_id": paths.run_id, "owner": info.owner, "pid": info.pid, "host": info.host}
    )
    return True, f"deploy lock taken by run {paths.run_id}"


def release_lock(paths: RunPaths) -> bool:
    """Release the deploy lock if this controller holds it for the run (journaled); return whether it did."""
    holder = heartbeat.read_holder(paths.run_dir)
    if holder is None:
        return False
    shared = run_shared_state(paths)
    try:
        DeployLock(shared).release(holder.token)
    except LockNotHeldError:
        heartbeat.forget_holder(paths.run_dir)  # taken over or broken meanwhile: nothing of ours to release
        return False
    heartbeat.forget_holder(paths.run_dir)
    Journal(paths.journal).record("lock_released", {"run_id": paths.run_id})
    return True


def hand_over_lock(paths: RunPaths, *, to: str, reason: str, by: str = "") -> str:
    """Hand the run's lock to a person (on-call) with a reason, journaled; return the lock's description.

    For a rollback that could not finish: the lock stays held - no deploy can start over the half-done
    state - but by a named person, and it never expires, so the watchdog leaves it to them.
    """
    holder = heartbeat.read_holder(paths.run_dir)
    if holder is None:
        raise RunError(
            f"run {paths.run_id}: this controller holds no deploy lock for it: nothing to hand over"
        )
    lock = DeployLock(run_shared_state(paths))
    info = lock.hand_over(holder.token, to=to, reason=reason)
    heartbeat.forget_holder(paths.run_dir)
    Journal(paths.journal).record(
        "lock_handed_over", {"run_id": paths.run_id, "to": to, "reason": reason, "by": by or operator_name()}
    )
    return lock.judge(info).describe()


def fetch_run(runs_dir: Path, run_id: str, shared: SharedState | None) -> None:
    """Bring the run from the state bucket when it is not (or not up to date) on this controller."""
    if shared is None:
        return
    try:
        RunStore(shared).fetch(runs_dir, run_id)
    except RunNotFoundError:
        if not (runs_dir / run_id / JOURNAL_NAME).exists():
            raise RunError(f"run {run_id}: neither in {runs_dir} nor in {RunStore(shared).where}") from None
    except _SHARED_FAILURES as exc:
        raise RunError(f"run {run_id}: {exc}") from exc


def _resume(req: StartRequest) -> StartResult:
    paths = RunPaths(req.runs_dir, req.resume_run)
    operator = req.operator or operator_name()
    fetch_run(req.runs_dir, req.resume_run, req.shared)
    if paths.journal.exists():
        quarantine_partial_tail(paths.journal, actor=f"operator:{operator}")
    if not paths.journal.exists():
        store = RunStore(req.shared) if req.shared else None
        known = ", ".join(r for r, _ in find_interrupted(req.runs_dir, store=store)) or "none"
        raise RunError(
            f"resume_run={req.resume_run}: no such run in {req.runs_dir}; interrupted runs: {known}"
        )
    state = read_state(paths.run_dir)
    if state.finished:
        raise RunError(
            f"resume_run={req.resume_run}: that run already finished (outcome {state.outcome}); "
            "start a new deploy instead"
        )
    if state.release != req.release:
        raise RunError(
            f"resume_run={req.resume_run} deploys release {state.release}, not {req.release}: "
            f"pass -e release={state.release}"
        )
    ok, message = take_lock(paths, purpose="resume", operator=operator, pid=req.pid)
    if not ok:
        return StartResult(_run_view(paths, state, resumed=True), True, message, False)
    Journal(paths.journal).record(
        "run_resumed", {"run_id": paths.run_id, "phase": state.current_phase, "by": operator}
    )
    update_latest(req.runs_dir, paths.run_id, RunStore(run_shared_state(paths)))
    state = read_state(paths.run_dir)
    return StartResult(
        _run_view(paths, state, resumed=True),
        False,
        f"resuming run {paths.run_id} at phase {state.current_phase}",
        True,
    )


def _new_run(
    req: StartRequest, active: str, idle: str, operator: str
) -> tuple[RunPaths, Journal, dict[str, Any]]:
    """A new run folder with target.json and ``run_started``, its id unique on every controller.

    Run ids have one-second resolution: two controllers starting in the same second would pick the
    same one. The first journal upload (``If-None-Match: *``) claims the id in the state bucket; the
    controller that lost drops its folder and takes the next second.
    """
    for _ in range(5):
        paths = _new_paths(req)
        journal = Journal(paths.journal)
        fields = {
            "run_id": paths.run_id,
            "release": req.release,
            "previous_release": req.slot_releases.get(active),
            "environment": req.environment,
            "time_scale": req.time_scale,
            "operator": operator,
            "fault": req.fault or None,
            "slots": {"active": active, "idle": idle},
            "weights": {slot: int(req.weights.get(slot, 0)) for slot in SLOTS},
            "slot_releases": dict(req.slot_releases),
        }
        # target.json first: it names the shared state every later journal append mirrors to.
        _write_json(paths.target, _target_document(paths, req, fields))
        try:
            journal.record("run_started", fields)
        except JournalDivergedError:
            shutil.rmtree(paths.run_dir)
            time.sleep(1.05)
            continue
        return paths, journal, fields
    raise RunError(f"cannot claim a new run id in {req.runs_dir} and the state bucket: ids keep colliding")


def _new_paths(req: StartRequest) -> RunPaths:
    for _ in range(5):
        paths = RunPaths(req.runs_dir, new_run_id(req.release))
        try:
            paths.run_dir.mkdir(parents=True)
            return paths
        except FileExistsError:
            time.sleep(1.05)  # run ids have one-second resolution
    raise RunError(f"cannot create a new run folder under {req.runs_dir}: ids keep colliding")


@dataclass(frozen=True)
class _Admission:
    """What the admission checks look at."""

    req: StartRequest
    paths: RunPaths
    active: str
    split: bool
    lock: DeployLock
    store: RunStore


def _artifact_problem(adm: _Admission) -> str | None:
    try:
        release_artifact.load(adm.req.release, adm.req.releases_dir)
    except release_artifact.ArtifactError as exc:
        return str(exc)
    return None


def _bucket_problem(adm: _Admission) -> str | None:
    # A run another controller could not see is refused: the state bucket must take its target.json.
    try:
        adm.store.check()
        adm.store.put_file(adm.paths.run_dir, TARGET_NAME, once=True)
    except SharedStateUnavailableError as exc:
        return f"{exc}: a run no other controller could resume or roll back is refused"
    return None


def _lock_problem(adm: _Admission) -> str | None:
    try:
        status = adm.lock.status()
    except LockUnavailableError as exc:
        return str(exc)
    return _lock_refusal(status, adm.req.runs_dir, adm.store) if status.held else None


def _interrupted_problem(adm: _Admission) -> str | None:
    try:
        interrupted = find_interrupted(adm.req.runs_dir, exclude=adm.paths.run_id, store=adm.store)
    except _SHARED_FAILURES as exc:
        return f"the environment's latest run could not be read: {exc}"
    if not interrupted:
        return None
    return "an earlier deploy never finished: " + "; ".join(
        resume_hint(run_id, state) for run_id, state in interrupted
    )


def _traffic_problem(adm: _Admission) -> str | None:
    req, active = adm.req, adm.active
    if adm.split:
        return (
            f"traffic is split between the slots ({dict(req.weights)}) although no deploy is running: "
            "set it back to one slot at 100% (a rollback) before deploying"
        )
    live = req.slot_releases.get(active)
    if not live:
        return (
            f"the active slot {active} did not report its release (/version): the previous release is unknown"
        )
    if live == req.release:
        return (
            f"release {req.release} already serves 100% of the traffic from slot {active}: nothing to deploy"
        )
    return None


#: Why a new run may not start, checked in this order; the first problem found is the refusal.
_ADMISSION_CHECKS = (
    _artifact_problem,
    _bucket_problem,
    _lock_problem,
    _interrupted_problem,
    _traffic_problem,
)


def _refusal_reason(adm: _Admission) -> str | None:
    for check in _ADMISSION_CHECKS:
        problem = check(adm)
        if problem is not None:
            return problem
    return None


def start_run(req: StartRequest) -> StartResult:
    """Create (or resume) a run and admit or refuse it; see the module docstring."""
    if req.shared is None:
        raise RunError("a deploy needs the shared lock and state (release_lock_table, release_state_bucket)")
    req.runs_dir.mkdir(parents=True, exist_ok=True)
    if req.resume_run:
        return _resume(req)
    active, idle, split = live_slots(req.weights)
    operator = req.operator or operator_name()
    paths, journal, _fields = _new_run(req, active, idle, operator)
    paths.results.mkdir(exist_ok=True)
    lock, store = DeployLock(req.shared), RunStore(req.shared)
    reason = _refusal_reason(_Admission(req, paths, active, split, lock, store))
    if reason is None:
        watch_pid = req.pid if req.pid else ansible_pid()
        try:
            info = lock.acquire(paths.run_id, pid=watch_pid, owner=operator)
        except LockHeldError as exc:  # lost a race with another deploy
            reason = _lock_refusal(exc.status, req.runs_dir, store)
        except LockUnavailableError as exc:
            reason = str(exc)
        else:
            heartbeat.spawn(paths.run_dir, info, watch_pid)
            journal.record(
                "lock_acquired",
                {"run_id": paths.run_id, "owner": info.owner, "pid": info.pid, "host": info.host},
            )
            update_latest(req.runs_dir, paths.run_id, store)
    if reason is not None:
        _refuse(journal, paths.run_id, reason)
    state = read_state(paths.run_dir)
    view = _run_view(paths, state, resumed=False)
    message = reason or f"run {paths.run_id}: release {req.release} to slot {idle} (active {active})"
    return StartResult(view, reason is not None, message, True)


def record_failed_preflight(
    runs_dir: Path, *, release: str, environment: str, time_scale: float, fault: str, reason: str
) -> dict[str, Any]:
    """Record a run whose preflight failed before it could be admitted (e.g. the sandbox did not start)."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    paths = _new_paths(StartRequest(runs_dir, runs_dir, release, environment, time_scale, {}, {}))
    journal = Journal(paths.journal)
    journal.record(
        "run_started",
        {
            "run_id": paths.run_id,
            "release": release,
            "previous_release": None,
            "environment": environment,
            "time_scale": time_scale,
            "operator": operator_name(),
            "fault": fault or None,
            "slots": {},
        },
    )
    journal.run_finished("failed", f"preflight failed before the run was admitted: {reason}")
    return _run_view(paths, read_state(paths.run_dir), resumed=False)


def _resolve(runs_dir: Path, run_id: str, shared: SharedState | None = None) -> RunPaths:
    if not run_id:
        link = runs_dir / LATEST
        if link.exists():
            run_id = Path(os.readlink(link) if link.is_symlink() else link.name).name
        elif shared is not None:
            try:
                run_id = RunStore(shared).latest() or ""
            except SharedStateUnavailableError as exc:
                raise RunError(f"no run given, no {link}, and {exc}") from exc
            if not run_id:
                raise RunError(f"no run given, no {link} and no latest run in {RunStore(shared).where}")
        else:
            raise RunError(f"no run given and no {link}: pass -e run_id=<run-id>")
    fetch_run(runs_dir, run_id, shared)
    paths = RunPaths(runs_dir, run_id)
    if not paths.journal.exists():
        raise RunError(f"run {run_id}: no journal at {paths.journal}")
    return paths


def lock_run(
    runs_dir: Path,
    run_id: str,
    purpose: str,
    *,
    shared: SharedState | None = None,
    watchdog: bool = False,
) -> tuple[bool, str, dict[str, Any]]:
    """Take the lock for an existing run (a rollback by hand, the watchdog's); (ok, message, run view)."""
    paths = _resolve(runs_dir, run_id, shared)
    operator = f"watchdog@{socket.gethostname()}" if watchdog else operator_name()
    ok, message = take_lock(paths, purpose=purpose, operator=operator, watchdog=watchdog)
    return ok, message, _run_view(paths, read_state(paths.run_dir), resumed=False)


def load_run(runs_dir: Path, run_id: str = "", *, shared: SharedState | None = None) -> dict[str, Any]:
    """Return the ``release_run`` view of an existing run (run_id, or the latest), fetched when not here."""
    paths = _resolve(runs_dir, run_id, shared)
    return _run_view(paths, read_state(paths.run_dir), resumed=False)


def finish_run(
    runs_dir: Path, run_id: str, outcome: str, reason: str = "", *, again: bool = False
) -> dict[str, Any]:
    """Record run_finished (once; ``again`` after a rollback by hand) and release the run's lock."""
    paths = _resolve(runs_dir, run_id)
    state = read_state(paths.run_dir)
    if not state.finished or (again and state.outcome != outcome):
        Journal(paths.journal).run_finished(outcome, reason)
    release_lock(paths)
    return _run_view(paths, read_state(paths.run_dir), resumed=False)


def break_lock(
    shared: SharedState, runs_dir: Path, *, reason: str, operator: str, force: bool
) -> tuple[LockStatus, Path]:
    """Break the environment's deploy lock, audited in the holder's run journal (fetched when not here)."""
    lock = DeployLock(shared)
    status = lock.status()
    audit_path = runs_dir / "deploy-lock.audit.jsonl"
    if status.info is not None:
        with contextlib.suppress(RunError):
            fetch_run(runs_dir, status.info.run_id, shared)
        journal = RunPaths(runs_dir, status.info.run_id).journal
        if journal.exists():
            audit_path = journal
    runs_dir.mkdir(parents=True, exist_ok=True)
    broken = lock.break_lock(reason, operator=operator, audit=AuditLog(audit_path), force=force)
    if audit_path.name == JOURNAL_NAME:
        heartbeat.forget_holder(audit_path.parent)
        with contextlib.suppress(*_SHARED_FAILURES):
            RunStore(shared).mirror_journal(audit_path.parent)
    return broken, audit_path
