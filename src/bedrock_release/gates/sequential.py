"""Sequential breach tests: a gate fails as soon as the evidence proves a breach, however often it looks.

The error-rate and latency gates are each about a share of "bad" requests: failed requests against the
error-rate threshold, and requests slower than the latency threshold against the 5 % a P95 allows (the
P95 is above T exactly when more than 5 % of the requests are slower than T). While the load runs, each
such share is tested with a one-sided mixture sequential probability ratio test (Wald; Robbins' mixture):

    H0: the share p of bad requests is at most p0 (the gate's threshold).

After n requests with b bad ones, the likelihood ratio of a breach rate p1 > p0 against p0 is

    L(p1) = (p1 / p0) ** b * ((1 - p1) / (1 - p0)) ** (n - b)

and the statistic is the mean of L over the breach rates p1 = m * p0, m in ``MULTIPLES``. Under H0 every
L(p1) is a non-negative supermartingale with mean at most 1 (a martingale at p = p0; smaller for p < p0,
since p1 > p0), and so is their mean; Ville's inequality then bounds the chance that it *ever* reaches
1 / alpha, however many times and whenever it is looked at:

    P_H0( sup_n  mean_m L_n(m * p0)  >=  1 / alpha )  <=  alpha.

A breach is proven when the statistic reaches 1 / alpha, with alpha = ``ALPHA`` = 0.001 per gate: a
healthy release (p <= p0) is failed early by a gate at most once in a thousand runs. A pass is never
decided early: it still needs the plan's whole window and the gate's own rule (gates/slo.py). The
computation, exact false-failure rates and detection times are in docs/gates.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ALPHA", "MULTIPLES", "BreachTest", "Crossing", "crossing"]

#: The chance that a gate fails a healthy release early, at most (Ville's inequality).
ALPHA = 0.001
#: The breach rates the test mixes, as multiples of the threshold: a release 2x to 5x over it (and any
#: worse) is detected nearly as fast as by a test built for exactly its rate (the mixture costs ln 3 =
#: 1.1 nats of evidence); docs/gates.md compares other choices.
MULTIPLES = (2.0, 3.0, 5.0)


@dataclass(frozen=True)
class BreachTest:
    """The test of one gate: H0 'the share of bad requests is at most p0', proven wrong at 1 / alpha."""

    p0: float
    alpha: float = ALPHA

    def __post_init__(self) -> None:
        if isinstance(self.p0, bool) or not isinstance(self.p0, int | float) or not 0 <= self.p0 <= 1:
            raise ValueError(f"breach test: p0 must be a share in [0, 1], got {self.p0!r}")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, int | float) or not 0 < self.alpha < 1:
            raise ValueError(f"breach test: alpha must be in (0, 1), got {self.alpha!r}")

    @property
    def alternatives(self) -> tuple[float, ...]:
        """Return the breach rates mixed: the multiples of p0 below 1, else the midpoint of (p0, 1)."""
        rates = tuple(m * self.p0 for m in MULTIPLES if m * self.p0 < 1)
        return rates or ((1 + self.p0) / 2,)

    @property
    def bound(self) -> float:
        """Return ln(1 / alpha): the log statistic that proves a breach."""
        return math.log(1 / self.alpha)

    def log_statistic(self, n: int, bad: int) -> float:
        """Return ln of the mixture likelihood ratio after n requests with `bad` bad ones."""
        if isinstance(n, bool) or isinstance(bad, bool) or not 0 <= bad <= n:
            raise ValueError(f"breach test: need 0 <= bad <= n, got bad={bad!r}, n={n!r}")
        if self.p0 == 0:
            # A threshold of 0: one bad request is the whole proof, none is no evidence at all.
            return math.inf if bad else 0.0
        if self.p0 == 1:
            return -math.inf  # nothing can exceed a share of 100 %
        good = n - bad
        logs = [
            bad * math.log(p1 / self.p0) + good * math.log((1 - p1) / (1 - self.p0))
            for p1 in self.alternatives
        ]
        top = max(logs)
        return top + math.log(sum(math.exp(x - top) for x in logs) / len(logs))

    def proves_breach(self, n: int, bad: int) -> bool:
        """Return True when n requests with `bad` bad ones prove the share is above p0."""
        return self.log_statistic(n, bad) >= self.bound

    def bad_needed(self, n: int) -> int | None:
        """Return the fewest bad requests of n that prove a breach, None when even n of n would not."""
        if not self.proves_breach(n, n):
            return None
        low, high = 0, n  # the statistic grows with `bad`: bisect for the first proof
        while low < high:
            middle = (low + high) // 2
            if self.proves_breach(n, middle):
                high = middle
            else:
                low = middle + 1
        return low

    def thresholds(self, n_max: int) -> tuple[int, ...]:
        """Return, for n = 1 .. n_max, the fewest bad requests of n that prove a breach (n + 1: none do)."""
        out = []
        needed = 0
        for n in range(1, n_max + 1):
            # The bad count a proof needs never falls as n grows (more good requests only lower the ratio).
            while needed <= n and not self.proves_breach(n, needed):
                needed += 1
            out.append(needed)
        return tuple(out)

    def describe(self) -> str:
        """Return the test in words for gate reasons and evidence."""
        rates = ", ".join(f"{100 * p:.3g} %" for p in self.alternatives)
        return (
            f"mixture SPRT of share <= {100 * self.p0:.3g} % against {rates}; breach proven at "
            f"likelihood ratio >= {1 / self.alpha:g} (alpha {self.alpha:g} for any number of looks)"
        )


@dataclass(frozen=True)
class Crossing:
    """When a test proves a breach if every request is bad with probability p: exact, not simulated."""

    test: BreachTest
    p: float
    by_n: tuple[float, ...]  # by_n[k]: probability that the proof comes with request k + 1

    @property
    def probability(self) -> float:
        """Return the chance of a proof within len(by_n) requests (for p <= p0: a false failure)."""
        return math.fsum(self.by_n)

    def requests_for(self, q: float) -> int | None:
        """Return the fewest requests after which a proof has come with probability q, None if never."""
        total = 0.0
        for index, mass in enumerate(self.by_n):
            total += mass
            if total >= q:
                return index + 1
        return None


def crossing(test: BreachTest, p: float, n_max: int) -> Crossing:
    """Return the exact distribution of the request that proves a breach, looking after every request.

    A dynamic programme over the number of bad requests among the paths not yet stopped; looking after
    every request is the most looks there can be, so any real schedule of looks crosses no more often.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"p must be a share in [0, 1], got {p!r}")
    alive = [1.0]  # alive[b]: probability of b bad requests so far and no proof yet
    by_n = []
    for needed in test.thresholds(n_max):
        grown = [0.0] * (len(alive) + 1)
        for bad, mass in enumerate(alive):
            grown[bad] += mass * (1 - p)
            grown[bad + 1] += mass * p
        by_n.append(math.fsum(grown[needed:]))
        alive = grown[:needed]
    return Crossing(test, p, tuple(by_n))
