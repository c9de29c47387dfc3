"""One deploy run: its id and folder, target.json, admission (lock, interrupted runs), resume, finish.

``start_run`` is what ``deploy_run`` calls after validating its inputs and reading the live system:
it creates ``runs/<run-id>/`` with the journal and ``target.json`` and either admits the run (takes
the deploy lock, points ``runs/latest`` at it) or refuses it with a message that says what to do.
A refused run is recorded (journal ``run_refused`` + ``run_finished no_go``) so its report can be
written, but it never moves ``runs/latest``: an operator rolling back by hand must find the run
that changed something.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from audit_trail import AuditLog, quarantine_partial_tail
from bedrock_release.pipeline.journal import JOURNAL_NAME, Journal, RunState, read_state
from bedrock_release.pipeline.lock import DeployLock, LockHeldError, LockStatus
from bedrock_release.pipeline.rollback_policy import Action, Failure, decide
from bedrock_release.plan import phase
from bedrock_release.release import artifact as release_artifact

__all__ = [
    "LATEST",
    "LOCK_NAME",
    "SLOTS",
    "TARGET_NAME",
    "RunError",
    "RunPaths",
    "StartRequest",
    "StartResult",
    "ansible_pid",
    "find_interrupted",
    "finish_run",
    "live_slots",
    "load_run",
    "lock_run",
    "new_run_id",
    "operator_name",
    "record_failed_preflight",
    "release_lock",
    "resume_hint",
    "start_run",
    "take_lock",
]

SLOTS = ("blue", "green")
LOCK_NAME = "deploy.lock"
LATEST = "latest"
TARGET_NAME = "target.json"
_RUN_ID_TIME = "%Y%m%dT%H%M%SZ"


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

    @property
    def lock(self) -> Path:
        """The deploy lock (one for all runs)."""
        return self.runs_dir / LOCK_NAME


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


def resume_hint(run_id: str, state: RunState) -> str:
    """Return the exact commands to resume an interrupted run or roll it back."""
    current = state.current_phase or 7
    decision = decide(Failure(phase=current, traffic_moved=state.traffic_moved))
    tier = decision.tier.value if decision.action is Action.ROLLBACK and decision.tier else "full"
    name = phase(current).name
    return (
        f"run {run_id} (release {state.release}) was interrupted in phase {current} ({name}). "
        f"Resume it: `make deploy RELEASE={state.release} RESUME={run_id}` "
        f"(= ansible-playbook deploy.yml -e release={state.release} -e resume_run={run_id}); "
        f"or roll it back ({tier} fits phase {current}): `make rollback TIER={tier} RUN={run_id}` "
        f"(= ansible-playbook playbooks/rollback_{tier}.yml -e run_id={run_id})"
    )


def find_interrupted(runs_dir: Path, *, exclude: str = "") -> list[tuple[str, RunState]]:
    """Return runs that took the deploy lock and never finished, oldest first."""
    found = []
    for journal in sorted(runs_dir.glob(f"*/{JOURNAL_NAME}")):
        run_id = journal.parent.name
        if run_id == exclude or journal.parent.is_symlink():
            continue
        try:
            state = read_state(journal.parent)
        except Exception as exc:  # a damaged journal is itself a reason to stop and look
            found.append((run_id, RunState(run_id=run_id, refused=None, finish_reason=f"unreadable: {exc}")))
            continue
        if state.interrupted:
            found.append((run_id, state))
    return found


def update_latest(runs_dir: Path, run_id: str) -> None:
    """Point ``runs/latest`` at a run (atomically)."""
    link = runs_dir / LATEST
    tmp = runs_dir / f".{LATEST}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(run_id)
    os.replace(tmp, link)


def _refuse(journal: Journal, run_id: str, reason: str) -> None:
    journal.record("run_refused", {"run_id": run_id, "reason": reason})
    journal.run_finished("no_go", reason)


def _lock_refusal(status: LockStatus, runs_dir: Path) -> str:
    message = f"another deploy holds the lock: {status.describe()}"
    if status.stale and status.info is not None:
        held = RunPaths(runs_dir, status.info.run_id)
        if held.journal.exists():
            message += "; " + resume_hint(status.info.run_id, read_state(held.run_dir))
        message += (
            "; to break the stale lock instead: `bedrock-release lock break --reason '<why>'` "
            "(recorded in the audit trail)"
        )
    return message


def take_lock(paths: RunPaths, *, purpose: str, operator: str, pid: int | None = None) -> tuple[bool, str]:
    """Take the deploy lock for an existing run (resume, rollback by hand).

    A stale lock of the same run is taken over and the takeover is audited in the run's journal; a
    lock held by a live process, or by another run, is refused. Returns (ok, message).
    """
    lock = DeployLock(paths.lock)
    # A deploy killed in the middle of a journal write leaves a line without its newline: that record
    # was never committed; it is moved aside (and the move audited) so the chain continues intact.
    quarantine_partial_tail(paths.journal, actor=f"operator:{operator}")
    journal = Journal(paths.journal)
    status = lock.status()
    if status.held:
        same_run = status.info is not None and status.info.run_id == paths.run_id
        if not (same_run and status.stale):
            return False, _lock_refusal(status, paths.runs_dir) if not same_run else (
                f"run {paths.run_id} is still running: {status.describe()}; stop that ansible-playbook first"
            )
        lock.break_lock(
            f"{purpose} of interrupted run {paths.run_id}",
            operator=f"operator:{operator}",
            audit=AuditLog(paths.journal),
        )
        journal.record(
            "lock_taken_over",
            {
                "run_id": paths.run_id,
                "previous_holder": status.info.__dict__ if status.info else None,
                "reason": f"{purpose}: {status.stale_reason}",
            },
        )
    try:
        info = lock.acquire(paths.run_id, pid=pid if pid is not None else ansible_pid())
    except LockHeldError as exc:
        return False, _lock_refusal(exc.status, paths.runs_dir)
    journal.record("lock_acquired", {"run_id": paths.run_id, "owner": info.owner, "pid": info.pid})
    return True, f"deploy lock taken by run {paths.run_id}"


def release_lock(paths: RunPaths) -> bool:
    """Release the deploy lock if this run holds it (journaled); return whether it did."""
    lock = DeployLock(paths.lock)
    status = lock.status()
    if not status.held or status.info is None or status.info.run_id != paths.run_id:
        return False
    lock.release(paths.run_id)
    Journal(paths.journal).record("lock_released", {"run_id": paths.run_id})
    return True


def _resume(req: StartRequest) -> StartResult:
    paths = RunPaths(req.runs_dir, req.resume_run)
    if paths.journal.exists():
        quarantine_partial_tail(paths.journal, actor=f"operator:{req.operator or operator_name()}")
    if not paths.journal.exists():
        known = ", ".join(r for r, _ in find_interrupted(req.runs_dir)) or "none"
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
    ok, message = take_lock(paths, purpose="resume", operator=req.operator or operator_name(), pid=req.pid)
    if not ok:
        return StartResult(_run_view(paths, state, resumed=True), True, message, False)
    Journal(paths.journal).record(
        "run_resumed",
        {"run_id": paths.run_id, "phase": state.current_phase, "by": req.operator or operator_name()},
    )
    update_latest(req.runs_dir, paths.run_id)
    state = read_state(paths.run_dir)
    return StartResult(
        _run_view(paths, state, resumed=True),
        False,
        f"resuming run {paths.run_id} at phase {state.current_phase}",
        True,
    )


def _new_paths(req: StartRequest) -> RunPaths:
    for _ in range(5):
        paths = RunPaths(req.runs_dir, new_run_id(req.release))
        try:
            paths.run_dir.mkdir(parents=True)
            return paths
        except FileExistsError:
            time.sleep(1.05)  # run ids have one-second resolution
    raise RunError(f"cannot create a new run folder under {req.runs_dir}: ids keep colliding")


def _artifact_problem(req: StartRequest, _paths: RunPaths, _active: str, _split: bool) -> str | None:
    try:
        release_artifact.load(req.release, req.releases_dir)
    except release_artifact.ArtifactError as exc:
        return str(exc)
    return None


def _lock_problem(req: StartRequest, paths: RunPaths, _active: str, _split: bool) -> str | None:
    status = DeployLock(paths.lock).status()
    return _lock_refusal(status, req.runs_dir) if status.held else None


def _interrupted_problem(req: StartRequest, paths: RunPaths, _active: str, _split: bool) -> str | None:
    interrupted = find_interrupted(req.runs_dir, exclude=paths.run_id)
    if not interrupted:
        return None
    return "an earlier deploy never finished: " + "; ".join(
        resume_hint(run_id, state) for run_id, state in interrupted
    )


def _traffic_problem(req: StartRequest, _paths: RunPaths, active: str, split: bool) -> str | None:
    if split:
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
_ADMISSION_CHECKS = (_artifact_problem, _lock_problem, _interrupted_problem, _traffic_problem)


def _refusal_reason(req: StartRequest, paths: RunPaths, active: str, split: bool) -> str | None:
    for check in _ADMISSION_CHECKS:
        problem = check(req, paths, active, split)
        if problem is not None:
            return problem
    return None


def start_run(req: StartRequest) -> StartResult:
    """Create (or resume) a run and admit or refuse it; see the module docstring."""
    req.runs_dir.mkdir(parents=True, exist_ok=True)
    if req.resume_run:
        return _resume(req)
    active, idle, split = live_slots(req.weights)
    paths = _new_paths(req)
    journal = Journal(paths.journal)
    operator = req.operator or operator_name()
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
    journal.record("run_started", fields)
    _write_json(paths.target, _target_document(paths, req, fields))
    paths.results.mkdir(exist_ok=True)
    reason = _refusal_reason(req, paths, active, split)
    if reason is None:
        try:
            info = DeployLock(paths.lock).acquire(paths.run_id, pid=req.pid if req.pid else ansible_pid())
        except LockHeldError as exc:  # lost a race with another deploy
            reason = _lock_refusal(exc.status, req.runs_dir)
        else:
            journal.record("lock_acquired", {"run_id": paths.run_id, "owner": info.owner, "pid": info.pid})
            update_latest(req.runs_dir, paths.run_id)
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


def _resolve(runs_dir: Path, run_id: str) -> RunPaths:
    if not run_id:
        link = runs_dir / LATEST
        if not link.exists():
            raise RunError(f"no run given and no {link}: pass -e run_id=<run-id>")
        run_id = os.readlink(link) if link.is_symlink() else link.name
        run_id = Path(run_id).name
    paths = RunPaths(runs_dir, run_id)
    if not paths.journal.exists():
        raise RunError(f"run {run_id}: no journal at {paths.journal}")
    return paths


def lock_run(runs_dir: Path, run_id: str, purpose: str) -> tuple[bool, str, dict[str, Any]]:
    """Take the deploy lock for an existing run (a rollback by hand); returns (ok, message, run view)."""
    paths = _resolve(runs_dir, run_id)
    ok, message = take_lock(paths, purpose=purpose, operator=operator_name())
    return ok, message, _run_view(paths, read_state(paths.run_dir), resumed=False)


def load_run(runs_dir: Path, run_id: str = "") -> dict[str, Any]:
    """Return the ``release_run`` view of an existing run (run_id, or ``runs/latest``)."""
    paths = _resolve(runs_dir, run_id)
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
