"""What the deploy journal says the pipeline did: rollout, canary, flags, rollbacks (pure functions).

Each function takes the journal's records (oldest first) and returns facts or a list of problems;
the steps decide. Field names follow docs/contracts.md, "The deploy journal".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit_trail import AuditRecord
from bedrock_release.plan import FLAGS
from bedrock_release.suite.journal import parse_ts

__all__ = [
    "CanaryStep",
    "FlagActivation",
    "Rollback",
    "canary_steps",
    "flag_activations",
    "flag_values_at",
    "latest_rollback",
    "rollout_problems",
    "truthy",
]


def truthy(value: Any) -> bool:
    """Return True for a flag value that means on (a bool or the SSM string "true")."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


# --- component rollout ---------------------------------------------------------------------------


def rollout_problems(
    records: Sequence[AuditRecord], *, slot: str, order: Sequence[str], expected_count: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """Check the component rollout on a slot: all components, in order, each healthy before the next.

    Only the records after the last ``slot_release_set`` for the slot count (a redeploy restarts the
    rollout). Returns (problems, the rollout as evidence).
    """
    start = max(
        (r.seq for r in records if r.action == "slot_release_set" and r.data.get("slot") == slot), default=-1
    )
    mine = [r for r in records if r.seq > start and r.data.get("slot") == slot]
    activations = [r for r in mine if r.action == "component_activated"]
    checks = [r for r in mine if r.action == "component_health_checked"]
    problems: list[str] = []
    if start < 0:
        problems.append(
            f"no slot_release_set record for slot {slot}: the journal does not show the deployment"
        )
    names = [str(r.data.get("component")) for r in activations]
    if len(names) != expected_count or len(set(names)) != expected_count:
        problems.append(
            f"{len(set(names))} distinct components activated ({names}), expected {expected_count}"
        )
    if names != list(order)[: len(names)] or len(names) != len(order):
        problems.append(f"activation order {names} differs from the dependency order {list(order)}")
    evidence = []
    for index, act in enumerate(activations):
        nxt = activations[index + 1].seq if index + 1 < len(activations) else None
        healthy = [
            c
            for c in checks
            if c.data.get("component") == act.data.get("component")
            and c.seq > act.seq
            and (nxt is None or c.seq < nxt)
        ]
        ok = any(c.data.get("healthy") is True for c in healthy)
        evidence.append(
            {"component": act.data.get("component"), "activated_seq": act.seq, "healthy_before_next": ok}
        )
        if not ok:
            name = act.data.get("component")
            problems.append(f"{name} has no passing health check before the next component was deployed")
    return problems, evidence


# --- canary --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CanaryStep:
    """One traffic_weights_set and the split observed after it (if any)."""

    seq: int
    weights: Mapping[str, int]
    new_share_pct: float
    observed: Mapping[str, Any] | None


def _share(weights: Mapping[str, Any], slot: str) -> float:
    total = sum(int(v) for v in weights.values())
    return 100.0 * int(weights.get(slot, 0)) / total if total else 0.0


def canary_steps(records: Sequence[AuditRecord], new_slot: str) -> list[CanaryStep]:
    """Return the canary steps (weights moving toward the new slot) with their observed splits."""
    sets = [r for r in records if r.action == "traffic_weights_set"]
    observed = [r for r in records if r.action == "traffic_split_observed"]
    out = []
    for index, rec in enumerate(sets):
        weights = dict(rec.data.get("weights", {}))
        nxt = sets[index + 1].seq if index + 1 < len(sets) else None
        seen = [
            o
            for o in observed
            if o.seq > rec.seq and (nxt is None or o.seq < nxt) and o.data.get("weights") == weights
        ]
        out.append(
            CanaryStep(rec.seq, weights, _share(weights, new_slot), dict(seen[-1].data) if seen else None)
        )
    return out


# --- flags ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagActivation:
    """A flag turned on, and the flag-window gates recorded before the next flag change."""

    flag: str
    seq: int
    at: datetime
    window_gates: tuple[Mapping[str, Any], ...]


def flag_activations(
    records: Sequence[AuditRecord], *, before_seq: int | None = None
) -> list[FlagActivation]:
    """Return every flag_set to on (before ``before_seq``), each with its flag_window gate records."""
    relevant = [r for r in records if before_seq is None or r.seq < before_seq]
    ons = [r for r in relevant if r.action == "flag_set" and truthy(r.data.get("value"))]
    changes = [r for r in relevant if r.action == "flag_set"]
    out = []
    for rec in ons:
        nxt = next((c.seq for c in changes if c.seq > rec.seq), None)
        gates = tuple(
            dict(g.data.get("gate", {}))
            for g in relevant
            if g.action == "gate_evaluated"
            and g.data.get("marker") == "flag_window"
            and g.seq > rec.seq
            and (nxt is None or g.seq < nxt)
        )
        out.append(FlagActivation(str(rec.data.get("flag")), rec.seq, parse_ts(rec.ts), gates))
    return out


def flag_values_at(records: Sequence[AuditRecord], seq: int) -> dict[str, bool | None]:
    """Replay flags_snapshot and flag_set up to (not including) seq; None = unknown."""
    values: dict[str, bool | None] = dict.fromkeys(FLAGS)
    for rec in records:
        if rec.seq >= seq:
            break
        if rec.action == "flags_snapshot":
            for flag, value in dict(rec.data.get("values", {})).items():
                if flag in values:
                    values[flag] = truthy(value)
        elif rec.action == "flag_set" and rec.data.get("flag") in values:
            values[str(rec.data["flag"])] = truthy(rec.data.get("value"))
    return values


# --- rollbacks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollback:
    """The latest rollback of a tier: the records before it, its start, its records, its finish."""

    tier: str
    before: tuple[AuditRecord, ...]
    started: AuditRecord
    records: tuple[AuditRecord, ...]
    finished: AuditRecord | None

    def elapsed_s(self, now: datetime) -> float:
        """Return the duration: as recorded when finished, else from the failure (or the start) until now."""
        if self.finished is not None and isinstance(self.finished.data.get("duration_s"), int | float):
            return float(self.finished.data["duration_s"])
        # The pipeline times a rollback from the failure (rollback_started.failure_at), not its own start.
        failure_at = self.started.data.get("failure_at")
        start = parse_ts(str(failure_at)) if isinstance(failure_at, str) else parse_ts(self.started.ts)
        return (now - start).total_seconds()

    def immediate_done_seq(self) -> int | None:
        """Return the seq at which all five flags were off within this rollback, None if never.

        A flag switched on again before every flag was off means the immediate rollback did not
        run first.
        """
        state = flag_values_at(self.before, self.started.seq + 1)
        if all(value is False for value in state.values()):
            return self.started.seq
        for rec in self.records:
            if rec.action == "flag_set" and rec.data.get("flag") in state:
                if truthy(rec.data.get("value")):
                    return None
                state[str(rec.data["flag"])] = False
                if all(value is False for value in state.values()):
                    return rec.seq
        return None


def latest_rollback(records: Sequence[AuditRecord], tier: str) -> Rollback | None:
    """Return the latest rollback of a tier with every record after its start."""
    starts = [r for r in records if r.action == "rollback_started" and r.data.get("tier") == tier]
    if not starts:
        return None
    start = starts[-1]
    before = tuple(r for r in records if r.seq <= start.seq)
    after = tuple(r for r in records if r.seq > start.seq)
    finished = next(
        (r for r in after if r.action == "rollback_finished" and r.data.get("tier") == tier), None
    )
    return Rollback(tier, before, start, after, finished)
