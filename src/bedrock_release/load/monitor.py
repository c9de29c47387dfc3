"""The live gates: each gate's sequential breach test, evaluated on every progress the load master writes.

``run_load(plan, monitor=LoadMonitor(gates))`` hands the monitor what the master has merged, about once
a second. Each :class:`LiveGate` counts its share of bad requests (failed ones, or ones slower than a
latency threshold) and its :class:`~bedrock_release.gates.sequential.BreachTest` decides whether that
share is already proven above the gate's threshold; the first proof stops the load. Every look is kept:
the gate step reads, from :meth:`LoadMonitor.outcome`, whether and when its breach was proven.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bedrock_release.gates.sequential import ALPHA, BreachTest
from bedrock_release.load.results import ALL, KindStats, LoadProgress

__all__ = ["LiveGate", "LiveOutcome", "LoadMonitor", "Look", "Measure", "find_outcome"]


class Measure(enum.StrEnum):
    """What makes a request bad for a live gate."""

    FAILED = "failed"
    SLOWER = "slower"


@dataclass(frozen=True)
class LiveGate:
    """One share a gate is about: requests of ``kind`` (or ``all``) that failed, or were slower than a limit.

    ``threshold`` is the gate's own: a percentage of failures, or a latency limit in ms whose quantile
    ``quantile`` must not exceed it (so at most ``1 - quantile`` of the requests may be slower).
    """

    kind: str
    measure: Measure
    threshold: float
    quantile: float = 0.95

    def __post_init__(self) -> None:
        object.__setattr__(self, "measure", Measure(self.measure))
        if not math.isfinite(self.threshold) or self.threshold < 0:
            raise ValueError(f"live gate {self.kind}: threshold must be a finite number >= 0")
        if not 0 < self.quantile < 1:
            raise ValueError(f"live gate {self.kind}: quantile must be in (0, 1), got {self.quantile!r}")

    @classmethod
    def failed(cls, threshold_pct: float, kind: str = ALL) -> LiveGate:
        """Return the live gate of an error rate of at most threshold_pct percent."""
        return cls(kind, Measure.FAILED, threshold_pct)

    @classmethod
    def slower(cls, kind: str, limit_ms: float, quantile: float = 0.95) -> LiveGate:
        """Return the live gate of a latency quantile of at most limit_ms."""
        return cls(kind, Measure.SLOWER, limit_ms, quantile)

    @property
    def allowed_share(self) -> float:
        """Return the largest share of bad requests the gate allows (its test's p0)."""
        if self.measure is Measure.FAILED:
            return min(1.0, self.threshold / 100)
        return 1 - self.quantile

    def count(self, kinds: Mapping[str, KindStats]) -> tuple[int, int]:
        """Return (requests, bad requests) of the gate's kind in the merged totals."""
        chosen = (
            list(kinds.values()) if self.kind == ALL else [kinds[self.kind]] if self.kind in kinds else []
        )
        if self.measure is Measure.FAILED:
            return sum(k.requests for k in chosen), sum(k.failures for k in chosen)
        n = bad = 0
        for stats in chosen:
            for bucket in stats.histogram().buckets:
                n += bucket.count
                # Only a bucket wholly above the limit counts: a bucket holding it proves nothing.
                if bucket.lower >= self.threshold:
                    bad += bucket.count
        return n, bad

    def describe(self) -> str:
        """Return the share in words."""
        who = "requests" if self.kind == ALL else f"{self.kind} requests"
        if self.measure is Measure.FAILED:
            return f"failed {who} (at most {self.threshold:g} %)"
        return (
            f"{who} slower than {self.threshold:g} ms (at most {100 * self.allowed_share:g} % for a "
            f"P{100 * self.quantile:g} of at most {self.threshold:g} ms)"
        )


@dataclass(frozen=True)
class Look:
    """One evaluation of a live gate: t seconds into the load, n requests of which `bad` were bad."""

    t: float
    n: int
    bad: int
    log_statistic: float

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (an infinite statistic as None)."""
        value = self.log_statistic if math.isfinite(self.log_statistic) else None
        return {"t": self.t, "n": self.n, "bad": self.bad, "log_statistic": value}


@dataclass(frozen=True)
class LiveOutcome:
    """Everything a live gate's test saw: how often it looked, its last look, and its proof, if any."""

    gate: LiveGate
    test: BreachTest
    looks: int
    last: Look | None
    breach: Look | None

    def reason(self) -> str | None:
        """Return the proven breach in words, None without one."""
        if self.breach is None:
            return None
        share = 100 * self.breach.bad / self.breach.n if self.breach.n else 0.0
        return (
            f"breach proven {self.breach.t:.3g} s into the load: {self.breach.bad} of {self.breach.n} "
            f"{self.gate.describe()} = {share:.3g} %; {self.test.describe()}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready evidence."""
        return {
            "kind": self.gate.kind,
            "measure": self.gate.measure.value,
            "threshold": self.gate.threshold,
            "allowed_share": self.gate.allowed_share,
            "test": self.test.describe(),
            "looks": self.looks,
            "last": self.last.to_dict() if self.last else None,
            "breach": self.breach.to_dict() if self.breach else None,
        }


class LoadMonitor:
    """The ``run_load`` monitor of a set of live gates: returns the first proven breach as the stop reason."""

    def __init__(self, gates: Iterable[LiveGate], *, alpha: float = ALPHA) -> None:
        self.gates: tuple[LiveGate, ...] = tuple(dict.fromkeys(gates))  # one test per distinct share
        self._tests = {g: BreachTest(g.allowed_share, alpha) for g in self.gates}
        self._looks = dict.fromkeys(self.gates, 0)
        self._last: dict[LiveGate, Look] = {}
        self._breach: dict[LiveGate, Look] = {}

    def look(self, t: float, kinds: Mapping[str, KindStats]) -> str | None:
        """Evaluate every gate on merged totals t seconds in; return the reasons of new proofs, or None."""
        found = []
        for gate in self.gates:
            n, bad = gate.count(kinds)
            test = self._tests[gate]
            look = Look(round(t, 3), n, bad, test.log_statistic(n, bad))
            self._looks[gate] += 1
            self._last[gate] = look
            if gate not in self._breach and look.log_statistic >= test.bound:
                self._breach[gate] = look
                found.append(self.outcome(gate).reason() or "")
        return "; ".join(found) or None

    def __call__(self, progress: LoadProgress) -> str | None:
        """Look at one progress of the load (the runner's monitor protocol)."""
        return self.look(progress.t, progress.kinds)

    def outcome(self, gate: LiveGate) -> LiveOutcome:
        """Return what the gate's test saw (KeyError for a gate this monitor does not watch)."""
        return LiveOutcome(
            gate, self._tests[gate], self._looks[gate], self._last.get(gate), self._breach.get(gate)
        )

    def outcomes(self) -> tuple[LiveOutcome, ...]:
        """Return every gate's outcome."""
        return tuple(self.outcome(g) for g in self.gates)


def find_outcome(outcomes: Sequence[LiveOutcome], gate: LiveGate) -> LiveOutcome | None:
    """Return the outcome of exactly this live gate (same kind, measure and threshold), None if unwatched."""
    return next((o for o in outcomes if o.gate == gate), None)
