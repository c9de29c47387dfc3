"""The canary's split test: does the new slot take the share of the traffic its weight gives it?

The check sends n requests through the load balancer and counts the k that the new slot answered.
It passes when every request was answered and the observed share is within the tolerance t of the
weight p: ``|k/n - p| <= t``. What the check cannot choose is how the balancer routes:

- Caddy's weighted round robin serves the weights in a row: over n requests the new slot's count is
  within one block of ``n * q`` (q its true share), so the observed share is exact up to that block;
- an ALB picks a target group per request at random: k is Binomial(n, q).

Random routing is the worst case, so n is sized for it, by exact binomial sums (docs/gates.md,
"Canary split"): the smallest n (a whole multiple of the caller's rotation cycle) such that

- a healthy canary (q = p) passes each of the m canary steps strictly between 0 and 100 % with
  probability ``>= healthy_pass ** (1/m)``, hence all of them together with ``>= healthy_pass``
  (0.999); at 0 % and 100 % a healthy split is certain (k = 0 or k = n);
- a share off by twice the tolerance (q = p - 2t or p + 2t, where that is a share) passes a step with
  probability ``<= 1 - off_fail`` (it fails with >= 0.99).

The pass/fail bounds on k are computed in exact rational arithmetic, so a share exactly at the
tolerance passes, as every gate of the project does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window

__all__ = ["SplitTest", "partial_steps", "split_gate"]


def _fraction(value: float) -> Fraction:
    return Fraction(repr(float(value)))


def _share(pct: float, name: str) -> Fraction:
    if not math.isfinite(pct) or not 0 <= pct <= 100:
        raise ValueError(f"{name} = {pct!r}: a share is a percentage between 0 and 100")
    return _fraction(pct) / 100


def _bounds(n: int, expected: Fraction, tolerance: Fraction) -> tuple[int, int]:
    """Return the counts k of the new slot that pass among n answers: ``|k/n - p| <= t``."""
    low = math.ceil(n * (expected - tolerance))
    high = math.floor(n * (expected + tolerance))
    return max(low, 0), min(high, n)


def _binomial_mass(n: int, q: float, low: int, high: int) -> float:
    """Return P(low <= K <= high) for K ~ Binomial(n, q), summed in log space (no overflow)."""
    if low > high:
        return 0.0
    if q <= 0.0:
        return 1.0 if low <= 0 else 0.0
    if q >= 1.0:
        return 1.0 if high >= n else 0.0
    log_q, log_rest, log_n = math.log(q), math.log1p(-q), math.lgamma(n + 1)
    total = math.fsum(
        math.exp(log_n - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_q + (n - k) * log_rest)
        for k in range(low, high + 1)
    )
    return min(total, 1.0)


@functools.cache
def _pass_probability(n: int, true_share: Fraction, expected: Fraction, tolerance: Fraction) -> float:
    low, high = _bounds(n, expected, tolerance)
    return _binomial_mass(n, float(true_share), low, high)


def _off_shares(expected: Fraction, tolerance: Fraction) -> tuple[Fraction, ...]:
    return tuple(q for q in (expected - 2 * tolerance, expected + 2 * tolerance) if 0 <= q <= 1)


@functools.cache
def _meets(n: int, expected: Fraction, tolerance: Fraction, step_pass: float, off_pass: float) -> bool:
    if _pass_probability(n, expected, expected, tolerance) < step_pass:
        return False
    return all(
        _pass_probability(n, q, expected, tolerance) <= off_pass for q in _off_shares(expected, tolerance)
    )


@dataclass(frozen=True)
class SplitTest:
    """The design of the split test: tolerance, the two probabilities it guarantees, the steps it covers."""

    tolerance_pp: float = 5.0
    healthy_pass: float = 0.999  # a healthy canary passes every partial step, all together
    off_fail: float = 0.99  # a share off by twice the tolerance fails, at each step
    partial_steps: int = 3  # canary steps strictly between 0 and 100 % (the plan's 5, 25, 50)
    max_requests: int = 100_000

    def __post_init__(self) -> None:
        if not math.isfinite(self.tolerance_pp) or not 0 < self.tolerance_pp < 50:
            raise ValueError(f"tolerance_pp = {self.tolerance_pp!r}: must be above 0 and below 50 points")
        for name in ("healthy_pass", "off_fail"):
            value = getattr(self, name)
            if not math.isfinite(value) or not 0 < value < 1:
                raise ValueError(f"{name} = {value!r}: a probability strictly between 0 and 1")
        if isinstance(self.partial_steps, bool) or not isinstance(self.partial_steps, int):
            raise ValueError(f"partial_steps = {self.partial_steps!r}: a whole number of canary steps")
        if self.partial_steps < 1:
            raise ValueError(f"partial_steps = {self.partial_steps!r}: at least one canary step")

    @property
    def step_pass(self) -> float:
        """The pass probability each partial step needs so that all of them pass with ``healthy_pass``."""
        return self.healthy_pass ** (1 / self.partial_steps)

    @property
    def _tolerance(self) -> Fraction:
        return _fraction(self.tolerance_pp) / 100

    def passing_counts(self, requests: int, expected_share_pct: float) -> tuple[int, int]:
        """Return the lowest and highest count of the new slot that pass among ``requests`` answers."""
        return _bounds(requests, _share(expected_share_pct, "expected_share_pct"), self._tolerance)

    def pass_probability(self, requests: int, true_share_pct: float, expected_share_pct: float) -> float:
        """Return the exact probability that the check passes under random routing with that true share."""
        if requests < 1:
            raise ValueError(f"requests = {requests!r}: at least one request")
        return _pass_probability(
            requests,
            _share(true_share_pct, "true_share_pct"),
            _share(expected_share_pct, "expected_share_pct"),
            self._tolerance,
        )

    def meets(self, requests: int, expected_share_pct: float) -> bool:
        """Return whether ``requests`` answers give both guarantees at this expected share."""
        if requests < 1:
            return False
        expected = _share(expected_share_pct, "expected_share_pct")
        return _meets(requests, expected, self._tolerance, self.step_pass, 1 - self.off_fail)

    def sample_size(self, expected_share_pct: float, *, at_least: int = 1, multiple_of: int = 1) -> int:
        """Return the smallest request count >= ``at_least``, a multiple of ``multiple_of``, that ``meets``.

        ``multiple_of`` is the balancer's rotation cycle (Caddy: the reduced weight total), so the
        count the check sends is exactly one that was proved, not a rounded-up neighbour of it: the
        binomial pass probability is not monotonic in n.
        """
        if multiple_of < 1:
            raise ValueError(f"multiple_of = {multiple_of!r}: a rotation cycle of at least 1")
        start = max(1, math.ceil(max(at_least, 1) / multiple_of)) * multiple_of
        found = _smallest(self, _share(expected_share_pct, "expected_share_pct"), start, multiple_of)
        if found is None:
            raise ValueError(
                f"no request count up to {self.max_requests} lets a {self.tolerance_pp:g} pp tolerance at "
                f"{expected_share_pct:g} % pass a healthy canary with {self.step_pass:.6f} and fail a share "
                f"{2 * self.tolerance_pp:g} pp off with {self.off_fail:g}"
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        """Return the design as JSON-ready data (the gate's evidence)."""
        return {
            "tolerance_pp": self.tolerance_pp,
            "healthy_pass": self.healthy_pass,
            "off_fail": self.off_fail,
            "partial_steps": self.partial_steps,
            "step_pass": self.step_pass,
            "routing_model": "random per request (binomial); a rotation is within one block of exact",
        }


@functools.cache
def _smallest(test: SplitTest, expected: Fraction, start: int, multiple_of: int) -> int | None:
    tolerance, step_pass, off_pass = test._tolerance, test.step_pass, 1 - test.off_fail
    for requests in range(start, test.max_requests + 1, multiple_of):
        if _meets(requests, expected, tolerance, step_pass, off_pass):
            return requests
    return None


def partial_steps(steps: Iterable[int | float]) -> int:
    """Return how many canary steps lie strictly between 0 and 100 % (at least 1)."""
    return max(1, sum(1 for step in steps if 0 < float(step) < 100))


def split_gate(
    counts: Mapping[str, int],
    *,
    new_slot: str,
    expected_share_pct: float,
    errors: int = 0,
    test: SplitTest | None = None,
    source: str,
    window: Window,
    name: str | None = None,
) -> GateResult:
    """Return the split test's verdict from the requests each slot answered and those that failed.

    Inconclusive when nothing was answered or the answered count does not carry the design's
    guarantees (too few, or a count the design was not proved for); fail when a request failed or
    the share is outside the tolerance on enough answers; pass otherwise.
    """
    test = test or SplitTest()
    if new_slot not in counts:
        raise ValueError(f"new_slot = {new_slot!r}: counts name only {sorted(counts)}")
    bad = {slot: count for slot, count in counts.items() if isinstance(count, bool) or int(count) != count}
    if bad or any(int(count) < 0 for count in counts.values()) or errors < 0:
        raise ValueError(f"counts {dict(counts)} and errors {errors!r} must be whole numbers >= 0")
    answered = sum(int(count) for count in counts.values())
    served = int(counts[new_slot])
    required = test.sample_size(expected_share_pct)
    raw: dict[str, Any] = {
        "counts": dict(counts),
        "errors": errors,
        "expected_share_pct": expected_share_pct,
        "design": test.to_dict(),
    }
    deviation: float | None = None
    reasons: list[str] = []
    if answered == 0:
        verdict = Verdict.INCONCLUSIVE
        reasons.append("no request was answered by a slot")
    else:
        low, high = test.passing_counts(answered, expected_share_pct)
        deviation = round(abs(100 * served / answered - expected_share_pct), 3)
        within = low <= served <= high
        enough = test.meets(answered, expected_share_pct)
        raw.update(passing_counts=[low, high], meets_design=enough)
        if errors:
            verdict = Verdict.FAIL
            reasons.append(f"{errors} of {answered + errors} requests failed")
        elif not enough:
            verdict = Verdict.INCONCLUSIVE
            reasons.append(
                f"{answered} answered requests do not give the design's guarantees at "
                f"{expected_share_pct:g} % (at least {required} needed)"
            )
        else:
            verdict = Verdict.PASS if within else Verdict.FAIL
        if not within:
            reasons.append(
                f"slot {new_slot} answered {served} of {answered}; {low}..{high} pass at "
                f"{expected_share_pct:g} % ± {test.tolerance_pp:g} pp"
            )
    return GateResult(
        name=name or f"canary-split-{expected_share_pct:g}pct",
        verdict=verdict,
        value=deviation,
        threshold=test.tolerance_pp,
        unit="percentage points",
        comparison=Comparison.AT_MOST,
        samples=answered,
        min_samples=required,
        window=window,
        source=source,
        reasons=tuple(reasons),
        raw=raw,
    )
