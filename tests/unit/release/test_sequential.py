"""The sequential breach test (gates/sequential.py): valid under any number of looks, fast on breaches.

Exact numbers come from the dynamic programme (``crossing``); the simulation draws the same runs at
random (seeded: the test is deterministic) and must agree with it. Sandbox sizes (docs/gates.md): the
phase 3 load sends 3000 requests in 30 s (100 requests/s), 30 % of them generation requests; a flag
window sends 600 in 6 s.
"""

from __future__ import annotations

import math
import random

import pytest

from bedrock_release.gates.sequential import ALPHA, BreachTest, crossing

ERRORS = BreachTest(0.01)  # error rate at most 1 %
SLOW = BreachTest(0.05)  # P95 within its limit: at most 5 % slower than it
PHASE3_REQUESTS, PHASE3_GENERATION = 3000, 900


def simulate(test: BreachTest, p: float, n_max: int, runs: int, seed: int) -> list[int | None]:
    """The request at which each simulated run proves a breach (None: never), looking after every one.

    Bad requests are drawn as geometric gaps; between two bad requests the statistic only falls, so
    looking right after each bad request is looking after every request.
    """
    rng = random.Random(seed)  # noqa: S311 - a simulation, not secrets
    needed = test.thresholds(n_max)
    log_good = math.log1p(-p)
    out: list[int | None] = []
    for _ in range(runs):
        n, bad, proof = 0, 0, None
        while proof is None:
            n += 1 + math.floor(math.log(1.0 - rng.random()) / log_good)
            if n > n_max:
                break
            bad += 1
            if bad >= needed[n - 1]:
                proof = n
        out.append(proof)
    return out


@pytest.mark.parametrize(("test", "n_max"), [(ERRORS, PHASE3_REQUESTS), (SLOW, PHASE3_GENERATION)])
def test_a_healthy_release_is_failed_early_at_most_once_in_a_thousand_runs(
    test: BreachTest, n_max: int
) -> None:
    # Exactly at the threshold (the worst healthy release: the least bit worse would be a breach),
    # looking after every single request, the most looks there can be.
    exact = crossing(test, test.p0, n_max).probability
    assert exact <= ALPHA
    runs = 40_000
    simulated = simulate(test, test.p0, n_max, runs, seed=13)
    false_failures = sum(1 for proof in simulated if proof is not None)
    assert false_failures / runs <= ALPHA
    # The simulation agrees with the exact value (within 4 standard errors): the two check each other.
    assert abs(false_failures / runs - exact) <= 4 * math.sqrt(exact / runs)


def test_a_better_release_is_failed_early_even_less_often() -> None:
    assert (
        crossing(ERRORS, 0.005, PHASE3_REQUESTS).probability
        < crossing(ERRORS, 0.01, PHASE3_REQUESTS).probability
    )
    assert crossing(ERRORS, 0.001, PHASE3_REQUESTS).probability < 1e-6


def test_the_bound_holds_for_a_window_many_times_longer() -> None:
    # Ville's inequality has no horizon: a production load of 5 requests/s for 20 minutes is no worse.
    assert crossing(ERRORS, 0.01, 20_000).probability <= ALPHA


@pytest.mark.parametrize(
    ("test", "p", "n_max", "median_at_most", "window_requests"),
    [
        # 5 % errors, 5x the threshold: the phase 3 rolling window holds 1500 requests (15 s).
        (ERRORS, 0.05, PHASE3_REQUESTS, 180, 1500),
        # 15 % of generation requests slower than the limit, 3x the 5 % a P95 allows: 900 in the load.
        (SLOW, 0.15, PHASE3_GENERATION, 105, 900),
    ],
)
def test_a_plain_breach_is_proven_within_a_fifth_of_its_window(
    test: BreachTest, p: float, n_max: int, median_at_most: int, window_requests: int
) -> None:
    exact = crossing(test, p, n_max)
    assert exact.probability > 0.999
    median = exact.requests_for(0.5)
    assert median is not None
    assert median <= median_at_most
    assert median <= 0.2 * window_requests
    proofs = [n for n in simulate(test, p, n_max, 4000, seed=29) if n is not None]
    assert len(proofs) >= 0.999 * 4000
    assert sorted(proofs)[len(proofs) // 2] == pytest.approx(median, rel=0.1)


def test_a_breach_needs_its_evidence_table_quoted_in_the_docs() -> None:
    assert [ERRORS.bad_needed(n) for n in (100, 300, 1000, 3000)] == [8, 12, 25, 55]
    assert [SLOW.bad_needed(n) for n in (100, 300, 900)] == [16, 33, 76]
    # Ten failures in ten requests prove a 1 % threshold broken; one failure proves nothing.
    assert ERRORS.proves_breach(10, 10)
    assert not ERRORS.proves_breach(1000, 10)


def test_an_observed_share_within_the_threshold_never_proves_a_breach() -> None:
    for n in (10, 100, 1000, 5000):
        assert not ERRORS.proves_breach(n, n // 100)
        assert not SLOW.proves_breach(n, n // 20)


def test_thresholds_of_zero_and_one_hundred_percent() -> None:
    zero = BreachTest(0.0)
    assert zero.proves_breach(1, 1)
    assert not zero.proves_breach(10_000, 0)
    everything = BreachTest(1.0)
    assert not everything.proves_breach(10, 10)
    assert BreachTest(0.6).alternatives == (0.8,)  # no multiple of 60 % is below 100 %


@pytest.mark.parametrize(
    ("p0", "alpha", "needle"),
    [
        (-0.1, ALPHA, "p0"),
        (1.5, ALPHA, "p0"),
        (True, ALPHA, "p0"),
        (0.01, 0.0, "alpha"),
        (0.01, 1.0, "alpha"),
    ],
)
def test_bad_parameters_are_refused_by_name(p0: float, alpha: float, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        BreachTest(p0, alpha)


@pytest.mark.parametrize(("n", "bad"), [(5, 6), (5, -1), (-1, 0)])
def test_impossible_counts_are_refused(n: int, bad: int) -> None:
    with pytest.raises(ValueError, match="bad <= n"):
        ERRORS.log_statistic(n, bad)
