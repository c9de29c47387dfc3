"""The deploy journal (``runs/<run-id>/audit.jsonl``): typed appenders and a fold into run state.

The journal is the single record of a deploy (docs/contracts.md, "The deploy journal"): an
``audit_trail.AuditLog`` chain written by the pipeline, the verification suite and operators.
``Journal`` appends the contract's actions with their required fields checked; ``fold`` reads the
chain back into a ``RunState`` (phases done, decisions, gates, traffic, flags, rollback), which the
pipeline uses to resume and to decide, and ``report_builder`` projects into ``report.json``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from audit_trail import AuditLog, AuditRecord, read
from bedrock_release.plan import FLAGS, PHASES, phase

__all__ = [
    "ACTIONS",
    "ACTOR_PIPELINE",
    "JOURNAL_NAME",
    "FlagEvent",
    "GateRecord",
    "Journal",
    "JournalError",
    "PhaseState",
    "RollbackState",
    "RunState",
    "StepRecord",
    "fold",
    "parse_ts",
    "read_state",
]

JOURNAL_NAME = "audit.jsonl"
ACTOR_PIPELINE = "pipeline"

#: Every action of the contract (and the pipeline's additions) with the data keys it must carry.
ACTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "run_started": ("run_id", "release", "previous_release", "environment", "time_scale", "operator"),
        "run_resumed": ("run_id", "phase", "by"),
        "run_refused": ("run_id", "reason"),
        "run_finished": ("outcome",),
        "lock_acquired": ("run_id", "owner", "pid"),
        "lock_released": ("run_id",),
        "lock_taken_over": ("run_id", "previous_holder", "reason"),
        "lock_handed_over": ("run_id", "to", "reason", "by"),
        "phase_started": ("phase", "name"),
        "phase_finished": ("phase", "name", "status", "duration_s", "budget_s"),
        "slot_release_set": ("slot", "release", "previous_release"),
        "component_activated": ("slot", "component", "version"),
        "component_health_checked": ("slot", "component", "version", "healthy", "detail"),
        "traffic_weights_set": ("weights",),
        "traffic_split_observed": ("weights", "counts", "requests", "errors", "within_tolerance"),
        "flags_snapshot": ("values",),
        "flag_set": ("flag", "value", "previous"),
        "gate_evaluated": ("phase", "marker", "gate"),
        "verification_step": ("phase", "step", "marker", "rc", "verdict"),
        "decision": ("id", "verdict", "reason"),
        "approvals_checked": ("verdict", "problems"),
        "drill_fault": ("name", "event", "phase"),
        "rollback_started": ("tier", "trigger"),
        "rollback_step": ("tier", "step", "status"),
        "rollback_finished": ("tier", "trigger", "duration_s", "target_s", "verified"),
        "oncall_paged": ("to", "reason", "delivered"),
        "backend_retry": ("what", "attempt", "error", "wait_s", "until"),
    }
)

_PHASE_STATUSES = ("passed", "failed")
_OUTCOMES = ("deployed", "rolled_back", "no_go", "failed")
_TIERS = ("immediate", "partial", "full")


class JournalError(ValueError):
    """A journal record that does not follow the contract; names the action and the field."""


def parse_ts(ts: str) -> datetime:
    """Return an aware datetime from a record's RFC 3339 ``ts``."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def _check(action: str, data: Mapping[str, Any]) -> None:
    if action not in ACTIONS:
        raise JournalError(f"unknown journal action {action!r}; known: {', '.join(sorted(ACTIONS))}")
    missing = [key for key in ACTIONS[action] if key not in data]
    if missing:
        raise JournalError(f"journal action {action}: data lacks {', '.join(missing)}")
    checks: dict[str, tuple[str, Sequence[Any]]] = {
        "phase_finished": ("status", _PHASE_STATUSES),
        "run_finished": ("outcome", _OUTCOMES),
        "decision": ("verdict", ("go", "no-go")),
        "approvals_checked": ("verdict", ("go", "no-go")),
        "verification_step": ("verdict", ("go", "no-go")),
        "rollback_started": ("tier", _TIERS),
        "rollback_finished": ("tier", _TIERS),
    }
    if action in checks:
        key, allowed = checks[action]
        if data[key] not in allowed:
            raise JournalError(f"journal action {action}: {key} must be one of {allowed}, got {data[key]!r}")
    if "phase" in ACTIONS[action] and action not in {"run_resumed", "gate_evaluated", "drill_fault"}:
        phase(int(data["phase"]))  # raises naming the plan's phases
    if action == "flag_set" and data["flag"] not in FLAGS:
        raise JournalError(f"journal action flag_set: {data['flag']!r} is not one of the plan's flags")


class Journal:
    """Appends contract actions to a run's audit chain (one writer object per process is enough)."""

    def __init__(self, path: str | os.PathLike[str], *, actor: str = ACTOR_PIPELINE) -> None:
        self.path = Path(path)
        self.actor = actor
        self._log = AuditLog(self.path)

    def record(self, action: str, data: Mapping[str, Any], *, actor: str | None = None) -> AuditRecord:
        """Append one action after checking its required data keys; return the stored record.

        Then the run's shared state follows (``heartbeat.after_append``): the holder's heartbeat and
        the S3 copy of the journal; a run that lost its lock fails here (``LockLostError``).
        """
        _check(action, data)
        stored = self._log.append(actor=actor or self.actor, action=action, data=data)
        from bedrock_release.pipeline.heartbeat import after_append  # noqa: PLC0415 - boto3 only when needed

        after_append(self.path)
        return stored

    # Typed appenders for the actions the pipeline writes most; each is a thin wrapper over record().

    def phase_started(self, phase_id: int) -> AuditRecord:
        """Record the start of a plan phase."""
        return self.record("phase_started", {"phase": phase_id, "name": phase(phase_id).name})

    def phase_finished(
        self,
        phase_id: int,
        status: str,
        *,
        duration_s: float,
        budget_s: float,
        reason: str = "",
        budget_policy: str = "",
    ) -> AuditRecord:
        """Record how a phase ended against its (scaled) budget, and the policy that judged an overrun."""
        data = {
            "phase": phase_id,
            "name": phase(phase_id).name,
            "status": status,
            "duration_s": round(duration_s, 3),
            "budget_s": budget_s,
            "reason": reason,
        }
        return self.record(
            "phase_finished", data | ({"budget_policy": budget_policy} if budget_policy else {})
        )

    def decision(self, dp_id: int, verdict: str, reason: str) -> AuditRecord:
        """Record a go/no-go decision point."""
        return self.record("decision", {"id": dp_id, "verdict": verdict, "reason": reason})

    def flag_set(self, flag: str, value: bool, previous: bool | None) -> AuditRecord:
        """Record a flag change (previous None: the parameter did not exist)."""
        return self.record("flag_set", {"flag": flag, "value": value, "previous": previous})

    def run_finished(self, outcome: str, reason: str = "") -> AuditRecord:
        """Record how the run ended."""
        return self.record("run_finished", {"outcome": outcome, "reason": reason})

    def records(self) -> tuple[AuditRecord, ...]:
        """Return every record of the journal."""
        return read(self.path)

    def state(self) -> RunState:
        """Return the journal folded into run state."""
        return fold(self.records())


# --- the fold ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseState:
    """One phase as the journal tells it (the latest attempt when a run was resumed)."""

    id: int
    name: str
    status: str  # running, passed, failed
    started_at: str
    finished_at: str | None = None
    duration_s: float | None = None
    budget_s: float | None = None
    reason: str = ""
    budget_policy: str = ""  # record, warn or fail (phase_budget); "" before the policy existed


@dataclass(frozen=True)
class GateRecord:
    """A gate_evaluated record: the phase, marker, writer and the gate dict."""

    seq: int
    phase: Any
    marker: str
    actor: str
    gate: Mapping[str, Any]


@dataclass(frozen=True)
class StepRecord:
    """A verification step (one pytest run of the suite)."""

    seq: int
    phase: int
    step: str
    marker: str
    rc: int
    verdict: str
    summary: Mapping[str, Any]


@dataclass(frozen=True)
class FlagEvent:
    """A flag change, with its time."""

    ts: str
    flag: str
    value: bool
    previous: bool | None


@dataclass(frozen=True)
class RollbackState:
    """The latest rollback of the run."""

    tier: str
    trigger: str
    started_at: str
    failure_at: str | None
    steps: tuple[Mapping[str, Any], ...] = ()
    finished: bool = False
    duration_s: float | None = None
    target_s: float | None = None
    verified: bool = False
    reason: str = ""
    retry_until: str | None = None  # the deadline its steps retry transient failures until
    traffic_left: Mapping[str, Any] | None = None  # rollbacks.TrafficLeft.to_dict()


@dataclass(frozen=True)
class RunState:
    """Everything the pipeline needs to know about a run, folded from its journal."""

    run_id: str | None = None
    release: str | None = None
    previous_release: str | None = None
    environment: str | None = None
    time_scale: float | None = None
    operator: str | None = None
    fault: str | None = None
    slots: Mapping[str, str] = field(default_factory=dict)
    started_at: str | None = None
    last_ts: str | None = None
    refused: str | None = None
    lock_held: bool = False
    locked: bool = False
    lock_handed_over_to: str | None = None  # whom the lock was handed to (a rollback that could not finish)
    resumes: tuple[Mapping[str, Any], ...] = ()
    phases: Mapping[int, PhaseState] = field(default_factory=dict)
    decisions: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    gates: tuple[GateRecord, ...] = ()
    steps: tuple[StepRecord, ...] = ()
    approvals: Mapping[str, Any] | None = None
    slot_releases: tuple[Mapping[str, Any], ...] = ()
    components: tuple[Mapping[str, Any], ...] = ()
    weights: tuple[Mapping[str, int], ...] = ()
    splits: tuple[Mapping[str, Any], ...] = ()
    flags_snapshot: Mapping[str, Any] | None = None
    flag_events: tuple[FlagEvent, ...] = ()
    drill: tuple[Mapping[str, Any], ...] = ()
    rollback: RollbackState | None = None
    outcome: str | None = None
    finish_reason: str = ""

    @property
    def started(self) -> bool:
        """Whether the journal holds a run_started record."""
        return self.run_id is not None

    @property
    def finished(self) -> bool:
        """Whether the run ended (run_finished recorded)."""
        return self.outcome is not None

    @property
    def interrupted(self) -> bool:
        """A run that took the deploy lock and never finished (the caller checks whether it still runs)."""
        return self.started and self.locked and not self.finished

    @property
    def phases_passed(self) -> tuple[int, ...]:
        """Ids of the phases whose latest attempt passed."""
        return tuple(pid for pid, st in sorted(self.phases.items()) if st.status == "passed")

    @property
    def current_phase(self) -> int | None:
        """The phase to run next (the first not passed), None when all passed."""
        for item in PHASES:
            if item.id not in self.phases_passed:
                return item.id
        return None

    @property
    def failed_phase(self) -> int | None:
        """The phase whose latest attempt failed, if any."""
        failed = [pid for pid, st in self.phases.items() if st.status == "failed"]
        return max(failed) if failed else None

    @property
    def new_slot(self) -> str | None:
        """The slot the release is deployed to (idle when the run started)."""
        return self.slots.get("idle")

    @property
    def old_slot(self) -> str | None:
        """The slot that served the previous release when the run started."""
        return self.slots.get("active")

    @property
    def traffic_moved(self) -> bool:
        """Whether any weights set in this run gave the new slot traffic."""
        slot = self.new_slot
        return slot is not None and any(int(w.get(slot, 0)) > 0 for w in self.weights)

    @property
    def last_weights(self) -> Mapping[str, int] | None:
        """The weights last set in this run."""
        return self.weights[-1] if self.weights else None

    @property
    def last_flag_activated(self) -> str | None:
        """The flag most recently switched on (the suite's "flag just activated")."""
        for event in reversed(self.flag_events):
            if event.value:
                return event.flag
        return None

    @property
    def flags_on(self) -> tuple[str, ...]:
        """Flags whose last recorded change set them on, in the plan's order."""
        last: dict[str, bool] = {}
        for event in self.flag_events:
            last[event.flag] = event.value
        return tuple(flag for flag in FLAGS if last.get(flag))

    @property
    def slot_previous(self) -> dict[str, str]:
        """Release each slot ran before this run first changed it."""
        out: dict[str, str] = {}
        for record in self.slot_releases:
            slot = str(record.get("slot"))
            if slot not in out and record.get("previous_release"):
                out[slot] = str(record["previous_release"])
        return out

    def gates_of_phase(self, phase_id: int) -> tuple[GateRecord, ...]:
        """Gate records written for a phase."""
        return tuple(g for g in self.gates if str(g.phase) == str(phase_id))

    def steps_of_phase(self, phase_id: int) -> tuple[StepRecord, ...]:
        """Verification steps of a phase (latest attempt only: after its last phase_started)."""
        return tuple(s for s in self.steps if s.phase == phase_id)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary (what Ansible sees as ``release_run.state``)."""
        return {
            "run_id": self.run_id,
            "release": self.release,
            "previous_release": self.previous_release,
            "environment": self.environment,
            "time_scale": self.time_scale,
            "fault": self.fault,
            "slots": dict(self.slots),
            "started": self.started,
            "finished": self.finished,
            "outcome": self.outcome,
            "refused": self.refused,
            "phases": {
                str(pid): {"status": st.status, "duration_s": st.duration_s, "budget_s": st.budget_s}
                for pid, st in sorted(self.phases.items())
            },
            "phases_passed": list(self.phases_passed),
            "current_phase": self.current_phase,
            "failed_phase": self.failed_phase,
            "decisions": {str(k): dict(v) for k, v in sorted(self.decisions.items())},
            "traffic_moved": self.traffic_moved,
            "slot_previous": self.slot_previous,
            "last_weights": dict(self.last_weights) if self.last_weights else None,
            "flags_snapshot": dict(self.flags_snapshot) if self.flags_snapshot is not None else None,
            "flags_on": list(self.flags_on),
            "last_flag_activated": self.last_flag_activated,
            "rollback": None
            if self.rollback is None
            else {
                "tier": self.rollback.tier,
                "finished": self.rollback.finished,
                "verified": self.rollback.verified,
                "duration_s": self.rollback.duration_s,
            },
        }


class _Folder:
    """Mutable accumulator behind ``fold``; the result is frozen."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.phases: dict[int, PhaseState] = {}
        self.decisions: dict[int, Mapping[str, Any]] = {}
        self.lists: dict[str, list[Any]] = {
            key: []
            for key in (
                "resumes",
                "gates",
                "steps",
                "slot_releases",
                "components",
                "weights",
                "splits",
                "flag_events",
                "drill",
            )
        }
        self.rollback: RollbackState | None = None

    def apply(self, rec: AuditRecord) -> None:
        data = rec.data
        handler = getattr(self, f"_on_{rec.action}", None)
        if handler is not None:
            handler(rec, data)
        self.fields["last_ts"] = rec.ts

    def _on_run_started(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        for key in ("run_id", "release", "previous_release", "environment", "operator", "fault"):
            self.fields[key] = data.get(key)
        self.fields["time_scale"] = float(data["time_scale"])
        self.fields["slots"] = dict(data.get("slots") or {})
        self.fields["started_at"] = rec.ts

    def _on_run_refused(self, _rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.fields["refused"] = data["reason"]

    def _on_run_resumed(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.lists["resumes"].append({"ts": rec.ts, **data})

    def _on_lock_acquired(self, _rec: AuditRecord, _data: Mapping[str, Any]) -> None:
        self.fields["lock_held"] = True
        self.fields["locked"] = True
        self.fields["lock_handed_over_to"] = None

    _on_lock_taken_over = _on_lock_acquired

    def _on_lock_released(self, _rec: AuditRecord, _data: Mapping[str, Any]) -> None:
        self.fields["lock_held"] = False
        self.fields["lock_handed_over_to"] = None

    def _on_lock_handed_over(self, _rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.fields["lock_held"] = False
        self.fields["lock_handed_over_to"] = str(data["to"])

    def _on_phase_started(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        pid = int(data["phase"])
        self.phases[pid] = PhaseState(pid, data["name"], "running", rec.ts)
        # A new attempt of a phase supersedes the verification steps of the earlier one.
        self.lists["steps"] = [s for s in self.lists["steps"] if s.phase != pid]

    def _on_phase_finished(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        pid = int(data["phase"])
        started = self.phases[pid].started_at if pid in self.phases else rec.ts
        self.phases[pid] = PhaseState(
            pid,
            data["name"],
            data["status"],
            started,
            rec.ts,
            float(data["duration_s"]),
            float(data["budget_s"]),
            str(data.get("reason") or ""),
            str(data.get("budget_policy") or ""),
        )

    def _on_decision(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.decisions[int(data["id"])] = {"verdict": data["verdict"], "reason": data["reason"], "ts": rec.ts}

    def _on_gate_evaluated(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.lists["gates"].append(
            GateRecord(rec.seq, data["phase"], str(data["marker"]), rec.actor, data["gate"])
        )

    def _on_verification_step(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.lists["steps"].append(
            StepRecord(
                rec.seq,
                int(data["phase"]),
                str(data["step"]),
                str(data["marker"]),
                int(data["rc"]),
                str(data["verdict"]),
                data.get("summary") or {},
            )
        )

    def _on_approvals_checked(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.fields["approvals"] = {"ts": rec.ts, **data}

    def _on_slot_release_set(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.lists["slot_releases"].append({"ts": rec.ts, **data})

    def _on_component_activated(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.lists["components"].append({"ts": rec.ts, "event": "activated", **data})

    def _on_component_health_checked(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.lists["components"].append({"ts": rec.ts, "event": "health_checked", **data})

    def _on_traffic_weights_set(self, _rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.lists["weights"].append({k: int(v) for k, v in data["weights"].items()})

    def _on_traffic_split_observed(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.lists["splits"].append({"ts": rec.ts, **data})

    def _on_flags_snapshot(self, _rec: AuditRecord, data: Mapping[str, Any]) -> None:
        if "flags_snapshot" not in self.fields:  # the first snapshot is the configuration before the deploy
            self.fields["flags_snapshot"] = dict(data["values"])

    def _on_flag_set(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.lists["flag_events"].append(
            FlagEvent(rec.ts, data["flag"], bool(data["value"]), data.get("previous"))
        )

    def _on_drill_fault(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.lists["drill"].append({"ts": rec.ts, **data})

    def _on_rollback_started(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.rollback = RollbackState(
            tier=data["tier"],
            trigger=data["trigger"],
            started_at=rec.ts,
            failure_at=data.get("failure_at"),
            retry_until=data.get("retry_until"),
        )

    def _on_rollback_step(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        if self.rollback is not None:
            steps = (*self.rollback.steps, {"ts": rec.ts, **data})
            self.rollback = RollbackState(**{**self.rollback.__dict__, "steps": steps})

    def _on_rollback_finished(self, rec: AuditRecord, data: Mapping[str, Any]) -> None:
        base = self.rollback or RollbackState(data["tier"], data["trigger"], rec.ts, None)
        self.rollback = RollbackState(
            **{
                **base.__dict__,
                "finished": True,
                "duration_s": float(data["duration_s"]),
                "target_s": float(data["target_s"]),
                "verified": bool(data["verified"]),
                "reason": str(data.get("reason") or ""),
                "traffic_left": data.get("traffic_left"),
            }
        )

    def _on_run_finished(self, _rec: AuditRecord, data: Mapping[str, Any]) -> None:
        self.fields["outcome"] = data["outcome"]
        self.fields["finish_reason"] = str(data.get("reason") or "")

    def result(self) -> RunState:
        lists = {key: tuple(value) for key, value in self.lists.items()}
        return RunState(
            **self.fields,
            phases=MappingProxyType(dict(self.phases)),
            decisions=MappingProxyType(dict(self.decisions)),
            rollback=self.rollback,
            **lists,
        )


def fold(records: Iterable[AuditRecord]) -> RunState:
    """Fold journal records, in order, into the run's state."""
    folder = _Folder()
    for rec in records:
        folder.apply(rec)
    return folder.result()


def read_state(run_dir: str | os.PathLike[str]) -> RunState:
    """Return the state of the run in run_dir (an empty state when it has no journal)."""
    return fold(read(Path(run_dir) / JOURNAL_NAME))
