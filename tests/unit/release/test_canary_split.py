"""The canary split test (bedrock_release.gates.canary_split): its guarantees, exact and simulated.

The design promises, at the plan's steps 5, 25, 50 and 100 %: a healthy canary passes every step
together with probability >= 0.999 and a share off by twice the tolerance fails a step with >= 0.99,
for random per-request routing (an ALB) and for Caddy's weighted round robin. Here the promise is
checked three ways: recomputed exactly with integer arithmetic (independent of the module's
log-space sums), simulated for random routing, and simulated for Caddy's rotation through
``observe_split`` itself (the pipeline's code path).
"""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import numpy as np
import pytest

from bedrock_release.gates.canary_split import SplitTest, partial_steps, split_gate
from bedrock_release.gates.verdict import GateResult, Verdict, Window
from bedrock_release.pipeline import traffic

STEPS = (5, 25, 50, 100)
TOLERANCE = 5
WINDOW = Window("simulated", None)


def _cycle(share: int) -> int:
    """Caddy's rotation cycle at this canary share (the reduced weight total)."""
    return sum(traffic.reduced(traffic.canary_weights("green", share)))


def _sent(test: SplitTest, share: int) -> int:
    """The request count the pipeline sends at this step (traffic_split: floor 40, Caddy's cycle)."""
    return test.sample_size(share, at_least=40, multiple_of=_cycle(share))


def _exact_pass(n: int, true_share: Fraction, low: int, high: int) -> Fraction:
    """P(low <= K <= high), K ~ Binomial(n, true_share), as an exact rational."""
    num, den = true_share.numerator, true_share.denominator
    total = sum(math.comb(n, k) * num**k * (den - num) ** (n - k) for k in range(low, high + 1))
    return Fraction(total, den**n)


def _bounds_by_definition(n: int, share_pct: int, tolerance_pp: int) -> tuple[int, int]:
    """The counts k with |k/n - p| <= t, found by testing every k (not by the module's formula)."""
    share, tolerance = Fraction(share_pct, 100), Fraction(tolerance_pp, 100)
    ok = [k for k in range(n + 1) if abs(Fraction(k, n) - share) <= tolerance]
    return ok[0], ok[-1]


# --- the guarantees, computed exactly ---------------------------------------------------------------


@pytest.mark.parametrize("multiple_of_cycle", [True, False], ids=["caddy-cycle", "any-count"])
def test_a_healthy_canary_passes_every_step_with_at_least_0_999_exactly(multiple_of_cycle: bool) -> None:
    test = SplitTest(tolerance_pp=TOLERANCE, partial_steps=partial_steps(STEPS))
    family = Fraction(1)
    for share in STEPS:
        n = _sent(test, share) if multiple_of_cycle else test.sample_size(share)
        low, high = _bounds_by_definition(n, share, TOLERANCE)
        assert test.passing_counts(n, share) == (low, high)
        exact = _exact_pass(n, Fraction(share, 100), low, high)
        assert abs(float(exact) - test.pass_probability(n, share, share)) < 1e-9
        family *= exact
    assert family >= Fraction(999, 1000), float(family)


@pytest.mark.parametrize("share", STEPS)
def test_a_share_off_by_twice_the_tolerance_fails_a_step_with_at_least_0_99_exactly(share: int) -> None:
    test = SplitTest(tolerance_pp=TOLERANCE, partial_steps=partial_steps(STEPS))
    n = _sent(test, share)
    low, high = _bounds_by_definition(n, share, TOLERANCE)
    off = [q for q in (share - 2 * TOLERANCE, share + 2 * TOLERANCE) if 0 <= q <= 100]
    assert off, "every plan step has a share twice the tolerance away"
    for q in off:
        passes = _exact_pass(n, Fraction(q, 100), low, high)
        assert passes <= Fraction(1, 100), (share, q, float(passes))


def test_the_old_check_of_40_requests_passes_a_healthy_random_canary_only_about_a_third_of_the_time() -> None:
    """Why the test exists: 40 requests within 5 points, at 5, 25 and 50 %: P(all pass) = 0.347."""
    test = SplitTest()
    family = 1.0
    for share in (5, 25, 50):
        family *= test.pass_probability(40, share, share)
    assert 0.34 < family < 0.36
    assert not any(test.meets(40, share) for share in STEPS)


def test_the_sample_sizes_are_the_documented_ones() -> None:
    """docs/gates.md "Canary split" shows these numbers; a change of the design shows here first."""
    test = SplitTest(partial_steps=3)
    assert round(test.step_pass, 6) == 0.999667
    assert [test.sample_size(s) for s in STEPS] == [271, 950, 1271, 156]
    assert [_sent(test, s) for s in STEPS] == [280, 960, 1280, 156]


def test_the_smallest_count_is_returned_and_the_pass_probability_is_not_monotonic_in_n() -> None:
    test = SplitTest()
    n = test.sample_size(50)
    assert test.meets(n, 50)
    assert not any(test.meets(m, 50) for m in range(n - 200, n))
    assert not test.meets(n + 1, 50), "the binomial sawtooth: the next count is not proved"
    assert test.sample_size(50, at_least=n + 1) == n + 2
    assert test.sample_size(50, multiple_of=2) == 1280  # 1272..1278 do not meet; 1280 does


# --- the guarantees, simulated -------------------------------------------------------------------------


def _passes_through_the_gate(counts: np.ndarray, n: int, share: int, test: SplitTest) -> np.ndarray:
    """split_gate's verdict (the one the pipeline uses) for every simulated count of the new slot."""
    verdicts = {
        int(k): split_gate(
            {"green": int(k), "blue": n - int(k)},
            new_slot="green",
            expected_share_pct=share,
            test=test,
            source="simulated ALB",
            window=WINDOW,
        ).verdict
        is Verdict.PASS
        for k in np.unique(counts)
    }
    return np.array([verdicts[int(k)] for k in counts])


def test_simulated_random_routing_keeps_both_guarantees() -> None:
    """20 000 canaries of a balancer that picks per request at random (an ALB), judged by split_gate."""
    test = SplitTest(partial_steps=partial_steps(STEPS))
    rng = np.random.default_rng(20261127)
    runs = 20_000
    every_step_passed = np.ones(runs, dtype=bool)
    for share in STEPS:
        n = _sent(test, share)
        every_step_passed &= _passes_through_the_gate(rng.binomial(n, share / 100, size=runs), n, share, test)
    # 0.999 expects at most 20 failed canaries of 20 000; more than 40 is beyond its 99.99 % quantile.
    assert int((~every_step_passed).sum()) <= 40, int((~every_step_passed).sum())
    for share in STEPS:
        n = _sent(test, share)
        for q in (share - 2 * TOLERANCE, share + 2 * TOLERANCE):
            if 0 <= q <= 100:
                counts = rng.binomial(n, q / 100, size=runs)
                passed = int(_passes_through_the_gate(counts, n, share, test).sum())
                # 0.01 expects at most 200 passes of 20 000; more than 250 is beyond its 99.99 % quantile.
                assert passed <= 250, (share, q, passed)


class _CaddyRotation:
    """Caddy's weighted_round_robin: a shared counter modulo the weight total, each weight served in a row.

    ``foreign`` is the chance that another client's request takes the next pick (customers, probes):
    the canary check then sees the rotation from a random, moving position.
    """

    def __init__(self, weights: dict[str, int], *, rng: random.Random, foreign: float) -> None:
        blocks = zip(traffic.SLOTS, traffic.reduced(weights), strict=True)
        self.order = list(itertools.chain.from_iterable([slot] * size for slot, size in blocks))
        self.index = rng.randrange(len(self.order))
        self.rng, self.foreign = rng, foreign

    def fetch(self, _url: str, _timeout: float) -> str | None:
        while self.rng.random() < self.foreign:
            self.index += 1
        self.index += 1
        return self.order[self.index % len(self.order)]


@pytest.mark.parametrize("foreign", [0.0, 0.3], ids=["alone", "with-other-traffic"])
def test_simulated_caddy_rotation_keeps_both_guarantees_through_observe_split(foreign: float) -> None:
    rng = random.Random(11)  # noqa: S311 - a seeded simulation, not a secret
    test = SplitTest(partial_steps=partial_steps(STEPS))
    for share in STEPS:
        n = _sent(test, share)
        weights = traffic.canary_weights("green", share)
        healthy = [
            traffic.observe_split(
                "http://lb/version",
                weights,
                "green",
                requests=n,
                tolerance_pp=TOLERANCE,
                fetch=_CaddyRotation(weights, rng=rng, foreign=foreign).fetch,
            )
            for _ in range(20)
        ]
        assert all(o.within_tolerance for o in healthy), [o.counts for o in healthy if not o.within_tolerance]
        for q in (share - 2 * TOLERANCE, share + 2 * TOLERANCE):
            if not 0 <= q <= 100:
                continue
            misrouted = traffic.canary_weights("green", q)  # the balancer gives the new slot q, not share
            seen = [
                traffic.observe_split(
                    "http://lb/version",
                    weights,
                    "green",
                    requests=n,
                    tolerance_pp=TOLERANCE,
                    fetch=_CaddyRotation(misrouted, rng=rng, foreign=foreign).fetch,
                )
                for _ in range(20)
            ]
            assert not any(o.within_tolerance for o in seen), (share, q)
            assert all(o.gate("sim").verdict is Verdict.FAIL for o in seen)


# --- the gate's verdicts ------------------------------------------------------------------------------


def _gate(green: int, blue: int, share: float = 50, errors: int = 0) -> GateResult:
    return split_gate(
        {"blue": blue, "green": green},
        new_slot="green",
        expected_share_pct=share,
        errors=errors,
        source="X-Slot of 1280 GET /version",
        window=WINDOW,
    )


def test_a_share_exactly_at_the_tolerance_passes_and_one_request_more_fails() -> None:
    at_edge = _gate(704, 576)  # 55.0 % of 1280
    assert at_edge.verdict is Verdict.PASS
    assert at_edge.value == 5.0
    assert at_edge.samples == 1280
    assert at_edge.min_samples == 1271
    assert at_edge.raw["design"]["step_pass"] == pytest.approx(0.999667, abs=1e-6)
    beyond = _gate(705, 575)
    assert beyond.verdict is Verdict.FAIL
    assert "answered 705 of 1280; 576..704 pass" in beyond.message()


def test_too_few_answers_are_inconclusive_never_a_pass_even_at_the_exact_weight() -> None:
    few = _gate(20, 20)  # the old check's 40 requests, exactly 50 %
    assert few.verdict is Verdict.INCONCLUSIVE
    assert "at least 1271 needed" in few.message()
    valley = _gate(636, 636)  # 1272 answers: above the minimum but a count the design does not cover
    assert valley.verdict is Verdict.INCONCLUSIVE
    nothing = _gate(0, 0)
    assert nothing.verdict is Verdict.INCONCLUSIVE
    assert nothing.value is None
    assert "no request was answered" in nothing.message()


def test_a_failed_request_fails_the_gate_whatever_the_share() -> None:
    failed = _gate(640, 639, errors=1)
    assert failed.verdict is Verdict.FAIL
    assert "1 of 1280 requests failed" in failed.message()


def test_bad_input_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="new_slot = 'green': counts name only"):
        split_gate({"blue": 1}, new_slot="green", expected_share_pct=5, source="s", window=WINDOW)
    with pytest.raises(ValueError, match="whole numbers >= 0"):
        _gate(-1, 1, share=5)
    with pytest.raises(ValueError, match="expected_share_pct = 120"):
        _gate(1, 1, share=120)
    with pytest.raises(ValueError, match="tolerance_pp = 0"):
        SplitTest(tolerance_pp=0)
    with pytest.raises(ValueError, match="healthy_pass = 1"):
        SplitTest(healthy_pass=1)
    with pytest.raises(ValueError, match="partial_steps = 0"):
        SplitTest(partial_steps=0)
    with pytest.raises(ValueError, match="no request count up to 500"):
        SplitTest(tolerance_pp=0.5, max_requests=500).sample_size(50)


def test_partial_steps_counts_the_shares_strictly_between_0_and_100() -> None:
    assert partial_steps([5, 25, 50, 100]) == 3
    assert partial_steps([100]) == 1
    assert partial_steps([1, 2, 5, 10, 25, 50, 75, 100]) == 7
