"""The deployment report (``runs/<run-id>/report.json``) exactly as docs/contracts.md "Report"."""

from __future__ import annotations

import enum
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bedrock_release.gates.verdict import GateResult, Verdict
from bedrock_release.inventory_validation import SEMVER
from bedrock_release.pipeline.phase_budget import BudgetPolicy
from bedrock_release.plan import DECISION_POINTS, PHASES, ROLLBACK_TIERS, RollbackTier, phase

__all__ = [
    "PHASES",
    "ROLLBACK_TIERS",
    "Decision",
    "DecisionPointEntry",
    "GateEntry",
    "Outcome",
    "PhaseEntry",
    "PhaseStatus",
    "Report",
    "ReportError",
    "RollbackEntry",
    "RollbackTier",
    "Verdict",
]


_E = TypeVar("_E", bound=enum.StrEnum)
BUDGET_POLICIES = tuple(policy.value for policy in BudgetPolicy)


class ReportError(ValueError):
    """A report that does not follow the contract; names the field path (``phases[2].status``)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


class Outcome(enum.StrEnum):
    """How the deploy ended."""

    DEPLOYED = "deployed"
    ROLLED_BACK = "rolled_back"
    NO_GO = "no_go"
    FAILED = "failed"


class PhaseStatus(enum.StrEnum):
    """How one phase ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class Decision(enum.StrEnum):
    """A decision point's verdict."""

    GO = "go"
    NO_GO = "no-go"


# --- field readers that name the bad field -------------------------------------------------------


def _obj(data: Any, path: str, required: Sequence[str], optional: Sequence[str] = ()) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ReportError(path, f"expected an object, got {type(data).__name__}")
    for key in required:
        if key not in data:
            raise ReportError(f"{path}.{key}".lstrip("."), "missing")
    extra = sorted(set(data) - set(required) - set(optional))
    if extra:
        raise ReportError(f"{path}.{extra[0]}".lstrip("."), "not a field of the report contract")
    return data


def _str(data: Mapping[str, Any], key: str, path: str, *, nullable: bool = False) -> str | None:
    value = data[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value:
        raise ReportError(f"{path}{key}", f"expected a non-empty string, got {value!r}")
    return value


def _num(
    data: Mapping[str, Any], key: str, path: str, *, nullable: bool = False, minimum: float = 0.0
) -> float | None:
    value = data[key]
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReportError(f"{path}{key}", f"expected a finite number, got {value!r}")
    if value < minimum:
        raise ReportError(f"{path}{key}", f"must be >= {minimum:g}, got {value!r}")
    return float(value)


def _int(data: Mapping[str, Any], key: str, path: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReportError(f"{path}{key}", f"expected a non-negative integer, got {value!r}")
    return value


def _enum(kind: type[_E], data: Mapping[str, Any], key: str, path: str) -> _E:
    try:
        return kind(data[key])
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ReportError(f"{path}{key}", f"expected one of {allowed}; got {data[key]!r}") from None


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise ReportError(key, f"expected a list, got {type(value).__name__}")
    return value


# --- entries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseEntry:
    """One phase: the plan's id and name, how it ended, how long it took against its budget."""

    id: int
    name: str
    status: PhaseStatus
    duration_s: float | None
    budget_s: float
    budget_policy: str | None = None  # record, warn or fail (pipeline.phase_budget); None: not recorded

    @classmethod
    def for_phase(
        cls,
        phase_id: int,
        status: PhaseStatus | str,
        duration_s: float | None,
        time_scale: float,
        budget_policy: str | None = None,
    ) -> PhaseEntry:
        """Return an entry with the plan's name and the budget scaled to the run's time scale."""
        spec = phase(phase_id)
        return cls(
            spec.id,
            spec.name,
            PhaseStatus(status),
            duration_s,
            spec.scaled_budget_s(time_scale),
            budget_policy or None,
        )

    @property
    def over_budget(self) -> bool:
        """Return True when the phase took longer than its budget."""
        return self.duration_s is not None and self.duration_s > self.budget_s

    def to_dict(self) -> dict[str, Any]:
        """Return the contract's phase shape."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "duration_s": self.duration_s,
            "budget_s": self.budget_s,
            "budget_policy": self.budget_policy,
        }

    @classmethod
    def from_dict(cls, data: Any, path: str) -> PhaseEntry:
        """Validate and build from JSON data."""
        obj = _obj(data, path, ("id", "name", "status", "duration_s", "budget_s"), ("budget_policy",))
        p = f"{path}."
        phase_id = _int(obj, "id", p)
        try:
            spec = phase(phase_id)
        except ValueError as exc:
            raise ReportError(f"{p}id", str(exc)) from None
        name = _str(obj, "name", p)
        if name != spec.name:
            raise ReportError(f"{p}name", f"phase {phase_id} is {spec.name!r} in the plan, got {name!r}")
        status = _enum(PhaseStatus, obj, "status", p)
        duration = _num(obj, "duration_s", p, nullable=status is PhaseStatus.SKIPPED)
        budget = _num(obj, "budget_s", p)
        if not budget:
            raise ReportError(f"{p}budget_s", "must be > 0")
        policy = obj.get("budget_policy")
        if policy not in (None, *BUDGET_POLICIES):
            raise ReportError(
                f"{p}budget_policy", f"expected one of {', '.join(BUDGET_POLICIES)} or null; got {policy!r}"
            )
        return cls(phase_id, name, status, duration, budget, policy)


@dataclass(frozen=True)
class DecisionPointEntry:
    """One go/no-go decision and its reason."""

    id: int
    verdict: Decision
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return the contract's decision point shape."""
        return {"id": self.id, "verdict": self.verdict.value, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Any, path: str) -> DecisionPointEntry:
        """Validate and build from JSON data."""
        obj = _obj(data, path, ("id", "verdict", "reason"))
        p = f"{path}."
        dp_id = _int(obj, "id", p)
        if dp_id not in {dp.id for dp in DECISION_POINTS}:
            raise ReportError(
                f"{p}id", f"the plan has decision points 1 to {len(DECISION_POINTS)}, got {dp_id}"
            )
        return cls(dp_id, _enum(Decision, obj, "verdict", p), _str(obj, "reason", p))


_GATE_EXTRAS = ("comparison", "min_samples", "window", "reasons", "decided_after_s")


@dataclass(frozen=True)
class GateEntry:
    """One gate as the report shows it; ``details`` keeps comparison, min_samples, window, reasons."""

    name: str
    verdict: Verdict
    value: float | None
    threshold: float
    unit: str
    samples: int
    source: str
    details: Mapping[str, Any] | None = None

    @classmethod
    def from_result(cls, result: GateResult) -> GateEntry:
        """Return the report entry of a gate result."""
        data = result.to_dict()
        return cls.from_dict(data, "gate")

    def to_dict(self) -> dict[str, Any]:
        """Return the contract's gate shape plus any details."""
        out = {
            "name": self.name,
            "verdict": self.verdict.value,
            "value": self.value,
            "threshold": self.threshold,
            "unit": self.unit,
            "samples": self.samples,
            "source": self.source,
        }
        out.update(self.details or {})
        return out

    @classmethod
    def from_dict(cls, data: Any, path: str) -> GateEntry:
        """Validate and build from JSON data."""
        obj = _obj(
            data, path, ("name", "verdict", "value", "threshold", "unit", "samples", "source"), _GATE_EXTRAS
        )
        p = f"{path}."
        verdict = _enum(Verdict, obj, "verdict", p)
        value = _num(obj, "value", p, nullable=True, minimum=-math.inf)
        if verdict is Verdict.PASS and value is None:
            raise ReportError(f"{p}value", "a passing gate must have a value")
        details = {key: obj[key] for key in _GATE_EXTRAS if key in obj}
        return cls(
            _str(obj, "name", p),
            verdict,
            value,
            _num(obj, "threshold", p, minimum=-math.inf),
            _str(obj, "unit", p),
            _int(obj, "samples", p),
            _str(obj, "source", p),
            details or None,
        )


@dataclass(frozen=True)
class RollbackEntry:
    """The rollback that ran: tier, what triggered it, how long it took against its target, verified."""

    tier: RollbackTier
    trigger: str
    duration_s: float
    target_s: float
    verified: bool
    reason: str | None = None  # why it finished so (the failed step, manual intervention)
    traffic_left: str | None = None  # the traffic split it left, in words

    @classmethod
    def for_tier(
        cls, tier: RollbackTier | str, trigger: str, duration_s: float, time_scale: float, *, verified: bool
    ) -> RollbackEntry:
        """Return an entry with the plan's target for the tier, scaled to the run's time scale."""
        tier = RollbackTier(tier)
        return cls(tier, trigger, duration_s, ROLLBACK_TIERS[tier].target_s * time_scale, verified)

    @property
    def within_target(self) -> bool:
        """Return True when the rollback finished within its target."""
        return self.duration_s <= self.target_s

    def to_dict(self) -> dict[str, Any]:
        """Return the contract's rollback shape (reason and traffic_left when the journal has them)."""
        out: dict[str, Any] = {
            "tier": self.tier.value,
            "trigger": self.trigger,
            "duration_s": self.duration_s,
            "target_s": self.target_s,
            "verified": self.verified,
        }
        for key in ("reason", "traffic_left"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_dict(cls, data: Any, path: str) -> RollbackEntry:
        """Validate and build from JSON data."""
        obj = _obj(
            data, path, ("tier", "trigger", "duration_s", "target_s", "verified"), ("reason", "traffic_left")
        )
        p = f"{path}."
        if not isinstance(obj["verified"], bool):
            raise ReportError(f"{p}verified", f"expected true or false, got {obj['verified']!r}")
        return cls(
            _enum(RollbackTier, obj, "tier", p),
            _str(obj, "trigger", p),
            _num(obj, "duration_s", p),
            _num(obj, "target_s", p),
            obj["verified"],
            _str(obj, "reason", p) if "reason" in obj else None,
            _str(obj, "traffic_left", p) if "traffic_left" in obj else None,
        )


_TOP = (
    "release",
    "previous_release",
    "environment",
    "time_scale",
    "outcome",
    "phases",
    "decision_points",
    "gates",
    "rollback",
)


@dataclass(frozen=True)
class Report:
    """The whole report of one deploy."""

    release: str
    previous_release: str | None
    environment: str
    time_scale: float
    outcome: Outcome
    phases: tuple[PhaseEntry, ...]
    decision_points: tuple[DecisionPointEntry, ...]
    gates: tuple[GateEntry, ...]
    rollback: RollbackEntry | None

    def to_dict(self) -> dict[str, Any]:
        """Return the contract's JSON shape."""
        return {
            "release": self.release,
            "previous_release": self.previous_release,
            "environment": self.environment,
            "time_scale": self.time_scale,
            "outcome": self.outcome.value,
            "phases": [p.to_dict() for p in self.phases],
            "decision_points": [d.to_dict() for d in self.decision_points],
            "gates": [g.to_dict() for g in self.gates],
            "rollback": self.rollback.to_dict() if self.rollback else None,
        }

    def to_json(self) -> str:
        """Return the report as JSON text (validated by a round trip, so it is never written invalid)."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
        Report.from_json(text)
        return text

    @classmethod
    def from_dict(cls, data: Any) -> Report:
        """Validate JSON data against the contract; raise ReportError naming the first bad field."""
        obj = _obj(data, "", _TOP)
        release = _str(obj, "release", "")
        if not SEMVER.fullmatch(release):
            raise ReportError("release", f"not a semantic version: {release!r}")
        previous = _str(obj, "previous_release", "", nullable=True)
        if previous is not None and not SEMVER.fullmatch(previous):
            raise ReportError("previous_release", f"not a semantic version: {previous!r}")
        scale = _num(obj, "time_scale", "")
        if not 0 < scale <= 1:
            raise ReportError("time_scale", f"must be in (0, 1], got {scale!r}")
        phases = tuple(
            PhaseEntry.from_dict(item, f"phases[{i}]") for i, item in enumerate(_list(obj, "phases"))
        )
        ids = [p.id for p in phases]
        if ids != sorted(set(ids)):
            raise ReportError("phases", f"phase ids must be unique and in order, got {ids}")
        decisions = tuple(
            DecisionPointEntry.from_dict(item, f"decision_points[{i}]")
            for i, item in enumerate(_list(obj, "decision_points"))
        )
        gates = tuple(GateEntry.from_dict(item, f"gates[{i}]") for i, item in enumerate(_list(obj, "gates")))
        rollback = None if obj["rollback"] is None else RollbackEntry.from_dict(obj["rollback"], "rollback")
        outcome = _enum(Outcome, obj, "outcome", "")
        if outcome is Outcome.ROLLED_BACK and rollback is None:
            raise ReportError("rollback", "outcome rolled_back needs the rollback that ran")
        if outcome is Outcome.DEPLOYED and rollback is not None:
            raise ReportError("rollback", "a deployed release cannot also have been rolled back")
        return cls(
            release,
            previous,
            _str(obj, "environment", ""),
            scale,
            outcome,
            phases,
            decisions,
            gates,
            rollback,
        )

    @classmethod
    def from_json(cls, text: str) -> Report:
        """Parse and validate report JSON text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReportError("(document)", f"not JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(data)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the report atomically (a reader never sees half a report)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Report:
        """Read and validate a report file."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))
