"""Live gates (load/monitor.py) and how the suite's gates use them: a proven breach fails at once."""

from __future__ import annotations

import dataclasses

from bedrock_release.gates.histogram import from_buckets
from bedrock_release.gates.slo import CounterSample
from bedrock_release.gates.verdict import Verdict
from bedrock_release.load.monitor import LiveGate, LoadMonitor
from bedrock_release.load.record import LoadRecord, RequestLog
from bedrock_release.load.results import ALL, parse_progress
from bedrock_release.suite import gates
from bedrock_release.suite.measurement import MeasuredSpan
from bedrock_release.suite.slo_spec import SloSpec

T0 = 1_700_000_000.0
SLOW_GENERATION = LiveGate.slower("generation", 1500)
ERRORS = LiveGate.failed(1.0)


def progress(t: float, *requests: tuple[str, bool, float]):
    """What the master would have merged t seconds in, read back as the runner reads it."""
    record, log = LoadRecord(T0), RequestLog()
    for kind, failed, ms in requests:
        log.record(kind, T0 + 0.5, failed, ms)
    record.add("w1", log.report())
    return parse_progress(record.progress(t), path="p.progress")


def test_slower_counts_only_buckets_wholly_above_the_limit() -> None:
    seen = progress(1.0, ("generation", False, 1500.0), ("generation", False, 1500.2), ("cached", False, 9e3))
    assert SLOW_GENERATION.count(seen.kinds) == (2, 1)  # 1500.0 is in (1490, 1500]: within the limit
    assert ERRORS.count(seen.kinds) == (3, 0)
    assert LiveGate.slower("emergency", 300).count(seen.kinds) == (0, 0)


def test_the_monitor_stops_the_load_once_at_the_first_proof() -> None:
    monitor = LoadMonitor([SLOW_GENERATION, ERRORS, ERRORS])
    assert monitor.gates == (SLOW_GENERATION, ERRORS)  # one test per distinct share
    healthy = progress(1.0, *[("generation", False, 200.0)] * 50)
    assert monitor(healthy) is None
    # 40 of 100 generation requests at 2 s: far beyond the 5 % a P95 of 1500 ms allows.
    broken = progress(2.0, *[("generation", False, 200.0)] * 60, *[("generation", False, 2000.0)] * 40)
    reason = monitor(broken)
    assert reason is not None
    assert reason.startswith("breach proven 2 s into the load: 40 of 100 generation requests slower")
    assert monitor(broken) is None  # already reported
    outcome = monitor.outcome(SLOW_GENERATION)
    assert (outcome.looks, outcome.breach.t, outcome.breach.n, outcome.breach.bad) == (3, 2.0, 100, 40)
    assert monitor.outcome(ERRORS).breach is None


def span(**changes: object) -> MeasuredSpan:
    series = tuple(CounterSample(float(t), 100 * t, t // 10) for t in range(31))
    base = MeasuredSpan(
        description="test load",
        seconds=30.0,
        required_seconds=30.0,
        latency={"generation": from_buckets({"120": 290, "2000": 10})},
        latency_source="locust results r.json",
        series={ALL: series},
        series_source="locust results r.json",
    )
    return dataclasses.replace(base, **changes)


def _outcomes(*looks: tuple[LiveGate, float, list[tuple[str, bool, float]]]) -> tuple:
    monitor = LoadMonitor([gate for gate, _, _ in looks])
    for gate, t, requests in looks:
        monitor.look(t, progress(t, *requests).kinds)
        assert monitor.outcome(gate).looks == 1
    return monitor.outcomes()


def test_a_proven_latency_breach_fails_the_gate_when_it_was_known_even_if_the_load_was_cut_short() -> None:
    live = _outcomes(
        (SLOW_GENERATION, 3.2, [("generation", False, 200.0)] * 60 + [("generation", False, 2000.0)] * 40)
    )
    short = span(seconds=3.4, required_seconds=30.0, live=live)
    result = gates.p95_latency(short, "generation", limit_ms=1500, min_samples=300)
    assert result.verdict is Verdict.FAIL
    assert result.decided_after_s == 3.2
    assert result.samples == 100
    assert result.reasons[0].startswith("breach proven 3.2 s into the load")
    assert "known 3.2 s into the window" in result.message()
    assert result.to_dict()["decided_after_s"] == 3.2
    assert result.raw["live"]["breach"]["bad"] == 40


def test_a_proven_error_breach_fails_every_error_rate_gate_at_that_threshold() -> None:
    live = _outcomes((ERRORS, 2.0, [("routine", True, 5.0)] * 20 + [("routine", False, 5.0)] * 180))
    short = span(seconds=2.1, live=live, series={ALL: (CounterSample(0, 0, 0), CounterSample(2.1, 200, 20))})
    for result in (
        gates.error_rate_worst(short, window_s=15, threshold_pct=1.0, min_requests=1000),
        gates.error_rate_trailing(short, window_s=15, threshold_pct=1.0, min_requests=1000),
        gates.error_rate_over_span(short, threshold_pct=1.0, min_requests=200, name="error-rate-flag-window"),
    ):
        assert result.verdict is Verdict.FAIL, result.message()
        assert result.value == 10.0  # 20 of 200 when the breach was proven
        assert result.decided_after_s == 2.0
    # A gate at another threshold was not what the test watched: its own rule decides (too short).
    other = gates.error_rate_worst(short, window_s=15, threshold_pct=5.0, min_requests=1000)
    assert other.verdict is Verdict.INCONCLUSIVE
    assert other.decided_after_s is None


def test_without_a_proof_the_gate_keeps_its_own_verdict_and_shows_the_looks() -> None:
    live = _outcomes((SLOW_GENERATION, 30.0, [("generation", False, 120.0)] * 300))
    result = gates.p95_latency(span(live=live), "generation", limit_ms=1500, min_samples=300)
    assert result.verdict is Verdict.PASS
    assert result.decided_after_s is None
    assert result.raw["live"]["breach"] is None
    assert result.raw["live"]["looks"] == 1


def test_the_live_gates_of_the_slo_feature_are_its_error_rate_and_latency_gates() -> None:
    specs = (
        SloSpec("p95-latency-generation", 1500, 300, kind="generation"),
        SloSpec("p95-latency-cached", 300, 300, kind="cached"),
        SloSpec("error-rate", 1.0, 1000, window_minutes=5),
        SloSpec("error-rate-trailing", 1.0, 1000, window_minutes=5),
        SloSpec("cost-budget", 80, 1),
        SloSpec("cache-hit-rate", 80, 500),
    )
    assert gates.live_gates(specs) == (
        LiveGate.slower("generation", 1500),
        LiveGate.slower("cached", 300),
        LiveGate.failed(1.0),
    )
    evaluated = gates.evaluate_slo_gates(span(), specs)
    assert [g.name for g in evaluated] == [
        "p95-latency-generation",
        "p95-latency-cached",
        "error-rate",
        "cache-hit-rate",
    ]
