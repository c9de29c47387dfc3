"""The gate steps' math on synthetic spans: evidence in, verdict and reasons out, fail closed."""

from __future__ import annotations

from bedrock_release.gates.histogram import from_buckets
from bedrock_release.gates.slo import CounterSample
from bedrock_release.gates.verdict import Verdict
from bedrock_release.monitoring.thresholds import tagged_scenarios
from bedrock_release.plan import PLAN_DOCUMENT, VALIDATION_TESTS
from bedrock_release.suite import gates
from bedrock_release.suite.measurement import MeasuredSpan
from bedrock_release.suite.prometheus import SlotScrapes, parse_metrics


def span(**changes: object) -> MeasuredSpan:
    series = tuple(CounterSample(float(t), 100 * t, t // 10) for t in range(31))
    base = MeasuredSpan(
        description="test load",
        seconds=30.0,
        latency={"generation": from_buckets({"120": 290, "2000": 10}), "cached": from_buckets({"9": 50})},
        latency_source="locust results r.json",
        series={"all": series},
        series_source="locust results r.json",
        slots=("green",),
    )
    return MeasuredSpan(**{**base.__dict__, **changes})


def cache(hits: int, misses: int) -> SlotScrapes:
    text = (
        f'support_cache_requests_total{{query_class="frequent",result="hit"}} {hits}\n'
        f'support_cache_requests_total{{query_class="frequent",result="miss"}} {misses}\n'
        f'support_cost_usd_total{{route="direct"}} 4.0\n'
    )
    return SlotScrapes({"green": parse_metrics(text, source="http://g/metrics")})


def test_p95_passes_fails_and_is_inconclusive_with_too_few_samples() -> None:
    assert gates.p95_latency(span(), "generation", limit_ms=1500, min_samples=300).verdict is Verdict.PASS
    failed = gates.p95_latency(span(), "generation", limit_ms=100, min_samples=300)
    assert failed.verdict is Verdict.FAIL
    assert "locust results r.json (requests named 'generation')" in failed.message()
    thin = gates.p95_latency(span(), "cached", limit_ms=300, min_samples=300)
    assert thin.verdict is Verdict.INCONCLUSIVE
    assert "too few samples: 50 < 300" in thin.message()


def test_no_load_results_is_inconclusive_with_the_reason() -> None:
    broken = span(latency={}, latency_source=None, traffic_error="locust exited with status 2")
    result = gates.p95_latency(broken, "generation", limit_ms=1500, min_samples=300)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "locust exited with status 2" in result.message()
    rate = gates.error_rate_worst(
        span(series={}, series_source=None, traffic_error="no results"),
        window_s=15,
        threshold_pct=1,
        min_requests=1000,
    )
    assert rate.verdict is Verdict.INCONCLUSIVE
    assert "no results" in rate.message()


def test_a_span_shorter_than_required_never_passes() -> None:
    result = gates.p95_latency(span(required_seconds=60.0), "generation", limit_ms=1500, min_samples=300)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "shorter than the required 60 s" in result.message()


def test_error_rate_worst_window_and_over_the_span() -> None:
    worst = gates.error_rate_worst(span(), window_s=15, threshold_pct=1.0, min_requests=1000)
    assert worst.verdict is Verdict.PASS
    assert (
        gates.error_rate_worst(span(), window_s=15, threshold_pct=0.05, min_requests=1000).verdict
        is Verdict.FAIL
    )
    whole = gates.error_rate_over_span(span(), threshold_pct=1.0, min_requests=200, name="e")
    assert whole.verdict is Verdict.PASS
    assert whole.samples == 3000


def test_cache_hit_rate_needs_two_good_scrapes() -> None:
    good = span(before=cache(0, 0), after=cache(900, 100))
    assert gates.cache_hit_rate(good, threshold_pct=80, min_lookups=500).verdict is Verdict.PASS
    low = span(before=cache(0, 0), after=cache(300, 300))
    assert gates.cache_hit_rate(low, threshold_pct=80, min_lookups=500).verdict is Verdict.FAIL
    stopped = span(before=cache(0, 0), after=None, metrics_error="http://g/metrics did not answer")
    result = gates.cache_hit_rate(stopped, threshold_pct=80, min_lookups=500)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "metrics source unavailable: http://g/metrics did not answer" in result.message()


def test_cost_takes_the_higher_spend_and_says_which() -> None:
    budget = {"name": "b", "limit_usd": 50.0, "actual_spend_usd": 0.0}
    ok = gates.cost_against_budget(
        threshold_pct=80,
        scrapes=cache(1, 1),
        scrape_error=None,
        budget=budget,
        budget_error=None,
        sandbox=True,
    )
    assert ok.verdict is Verdict.PASS
    assert ok.value == 8.0
    assert "spend taken from service cost accounting" in ok.source
    over = gates.cost_against_budget(
        threshold_pct=80,
        scrapes=cache(1, 1),
        scrape_error=None,
        budget={**budget, "actual_spend_usd": 45.0},
        budget_error=None,
        sandbox=False,
    )
    assert over.verdict is Verdict.FAIL
    assert "AWS Budgets actual spend" in over.source
    gone = gates.cost_against_budget(
        threshold_pct=80,
        scrapes=None,
        scrape_error=None,
        budget=None,
        budget_error="Budgets: EndpointConnectionError",
        sandbox=True,
    )
    assert gone.verdict is Verdict.INCONCLUSIVE
    assert "EndpointConnectionError" in gone.message()


def test_a_slot_whose_scrape_has_no_cost_series_is_no_spend_reading() -> None:
    """Missing is inconclusive: it used to count as 0 USD and pass the budget."""
    budget = {"name": "b", "limit_usd": 50.0, "actual_spend_usd": 0.0}
    silent = parse_metrics(
        'support_cache_requests_total{query_class="frequent",result="hit"} 1\n', source="b"
    )
    scrapes = SlotScrapes({"green": cache(1, 1).by_slot["green"], "blue": silent})
    gate = gates.cost_against_budget(
        threshold_pct=80, scrapes=scrapes, scrape_error=None, budget=budget, budget_error=None, sandbox=True
    )
    assert gate.verdict is Verdict.INCONCLUSIVE
    assert "no support_cost_usd_total in the scrape of slot blue" in gate.message()
    nobody = gates.cost_against_budget(
        threshold_pct=80,
        scrapes=SlotScrapes({}),
        scrape_error=None,
        budget=budget,
        budget_error=None,
        sandbox=True,
    )
    assert nobody.verdict is Verdict.INCONCLUSIVE


def test_a_decision_point_needs_every_gate_evaluated_and_passed() -> None:
    required = ("a", "b", "c")
    passed = gates.require_all_passed("dp", required, {g: {"verdict": "pass"} for g in required}, source="s")
    assert passed.verdict is Verdict.PASS
    missing = gates.require_all_passed("dp", required, {"a": {"verdict": "pass"}}, source="s")
    assert missing.verdict is Verdict.INCONCLUSIVE
    assert "never evaluated in this run: b, c" in missing.message()
    failed = gates.require_all_passed(
        "dp", required, {g: {"verdict": "inconclusive"} for g in required}, source="s"
    )
    assert failed.verdict is Verdict.FAIL


def test_a_decision_point_that_requires_nothing_is_inconclusive() -> None:
    empty = gates.require_all_passed("dp", (), {"a": {"verdict": "pass"}}, source="s")
    assert empty.verdict is Verdict.INCONCLUSIVE
    assert "no gate is required" in empty.message()


PHASE6_FEATURE = PLAN_DOCUMENT.parents[1] / "features" / "production_validation.feature"


def test_decision_point_3_requires_the_feature_files_scenarios_not_what_ran() -> None:
    scenarios = tagged_scenarios(PHASE6_FEATURE, "validation")
    # The feature file covers each of the plan's six validation tests; DP3 itself is no validation.
    assert len(scenarios) == 6
    assert all(any(s.startswith(f"{t} - ") for s in scenarios) for t in VALIDATION_TESTS)
    every = {s: ["passed", "passed"] for s in scenarios}
    assert (
        gates.validations_passed("dp3", VALIDATION_TESTS, scenarios, every, source="s").verdict
        is Verdict.PASS
    )
    # Only the scenarios that ran used to be required: one deselected scenario passed the decision.
    ran_five = {s: ["passed"] for s in scenarios[1:]}
    short = gates.validations_passed("dp3", VALIDATION_TESTS, scenarios, ran_five, source="s")
    assert short.verdict is Verdict.INCONCLUSIVE
    assert f"never evaluated in this run: {scenarios[0]}" in short.message()
    not_run = {**every, scenarios[0]: [None]}
    assert gates.validations_passed("dp3", VALIDATION_TESTS, scenarios, not_run, source="s").verdict is (
        Verdict.INCONCLUSIVE
    )
    one_example_failed = {**every, scenarios[0]: ["passed", "failed"]}
    failed = gates.validations_passed("dp3", VALIDATION_TESTS, scenarios, one_example_failed, source="s")
    assert failed.verdict is Verdict.FAIL
    assert f"{scenarios[0]} (failed)" in failed.message()


def test_decision_point_3_is_inconclusive_when_a_plan_test_has_no_scenario() -> None:
    scenarios = [s for s in tagged_scenarios(PHASE6_FEATURE, "validation") if not s.startswith("Audit Trail")]
    outcomes = {s: ["passed"] for s in scenarios}
    result = gates.validations_passed("dp3", VALIDATION_TESTS, scenarios, outcomes, source="s")
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "the plan's validation tests without a scenario: Audit Trail Verification" in result.message()
    nothing = gates.validations_passed("dp3", VALIDATION_TESTS, [], {}, source="s")
    assert nothing.verdict is Verdict.INCONCLUSIVE
