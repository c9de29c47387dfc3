"""The SLO gates as every caller evaluates them from a measured span (thresholds come from the steps).

One evaluation for phase 3's steps, the flag monitoring periods and the post-deployment watch: the gate
functions here, :func:`live_gates` (which of them are watched while the load runs) and
:func:`evaluate_slo_gates` (all of them over one span, as the watch re-evaluates them). The error-rate
and latency gates are sequential: a breach their test proved while the load ran (``MeasuredSpan.live``,
gates/sequential.py) fails the gate with the moment it was known; a pass still needs the whole span.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bedrock_release.gates import slo
from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window
from bedrock_release.load.monitor import LiveGate, Measure, find_outcome
from bedrock_release.load.results import ALL
from bedrock_release.suite.measurement import MeasuredSpan
from bedrock_release.suite.prometheus import MetricsError, SlotScrapes
from bedrock_release.suite.slo_spec import SloSpec

__all__ = [
    "cache_hit_rate",
    "cost_against_budget",
    "error_rate_over_span",
    "error_rate_trailing",
    "error_rate_worst",
    "evaluate_slo_gates",
    "gates_summary",
    "live_gates",
    "p95_latency",
    "require_all_passed",
    "validations_passed",
]


def _span_window(span: MeasuredSpan) -> Window:
    seconds = f"{span.seconds:.3g} s" if span.seconds is not None else "unknown duration"
    return Window(f"{span.description}, {seconds}", span.seconds)


def _too_short(result: GateResult, span: MeasuredSpan) -> GateResult:
    why = span.too_short()
    if why is None or result.verdict is not Verdict.PASS:
        return result
    return dataclasses.replace(result, verdict=Verdict.INCONCLUSIVE, reasons=(why, *result.reasons))


def _with_live(result: GateResult, span: MeasuredSpan, gate: LiveGate) -> GateResult:
    """Fail the gate at the moment its sequential test proved a breach; otherwise keep the verdict."""
    outcome = find_outcome(span.live, gate)
    if outcome is None:
        return result
    raw = {**dict(result.raw or {}), "live": outcome.to_dict()}
    look = outcome.breach
    if look is None:
        return dataclasses.replace(result, raw=raw)
    # An error rate's value is the rate the proof rests on; a latency's stays the span's P95 (ms).
    value = (100 * look.bad / look.n if look.n else None) if gate.measure is Measure.FAILED else result.value
    return dataclasses.replace(
        result,
        verdict=Verdict.FAIL,
        value=value,
        samples=look.n,
        reasons=(outcome.reason() or "breach proven", *result.reasons),
        raw=raw,
        decided_after_s=look.t,
    )


def p95_latency(span: MeasuredSpan, kind: str, *, limit_ms: float, min_samples: int) -> GateResult:
    """P95 of one request kind's response times, at most limit_ms over at least min_samples."""
    name = f"p95-latency-{kind}"
    window = _span_window(span)
    if span.latency_source is None:
        return GateResult.unavailable(
            name,
            reason=f"no latency data: {span.traffic_error or 'nothing was measured'}",
            threshold=limit_ms,
            unit="ms",
            comparison=Comparison.AT_MOST,
            min_samples=min_samples,
            window=window,
            source="none",
        )
    source = f"{span.latency_source} (requests named {kind!r})"
    histogram = span.latency.get(kind)
    result = slo.latency_gate(
        name, histogram, threshold=limit_ms, source=source, window=window, min_samples=min_samples
    )
    return _with_live(_too_short(result, span), span, LiveGate.slower(kind, limit_ms))


def _series(span: MeasuredSpan) -> Sequence[Any] | None:
    return span.series.get(ALL) if span.series_source else None


def error_rate_worst(
    span: MeasuredSpan, *, window_s: float, threshold_pct: float, min_requests: int, name: str = "error-rate"
) -> GateResult:
    """Worst rolling window of the span's requests, at most threshold_pct with min_requests each."""
    result = slo.error_rate_worst_window_gate(
        name,
        _series(span),
        threshold_pct=threshold_pct,
        window_s=window_s,
        source=span.series_source,
        min_requests=min_requests,
    )
    return _with_live(_annotate(result, span), span, LiveGate.failed(threshold_pct))


def error_rate_trailing(
    span: MeasuredSpan,
    *,
    window_s: float,
    threshold_pct: float,
    min_requests: int,
    name: str = "error-rate-trailing",
) -> GateResult:
    """The window ending at the span's last sample."""
    result = slo.error_rate_trailing_window_gate(
        name,
        _series(span),
        threshold_pct=threshold_pct,
        window_s=window_s,
        source=span.series_source,
        min_requests=min_requests,
    )
    return _with_live(_annotate(result, span), span, LiveGate.failed(threshold_pct))


def _annotate(result: GateResult, span: MeasuredSpan) -> GateResult:
    if span.series_source is None and span.traffic_error:
        reasons = (*result.reasons, f"no request series: {span.traffic_error}")
        return dataclasses.replace(result, reasons=reasons)
    return result


def cache_hit_rate(span: MeasuredSpan, *, threshold_pct: float, min_lookups: int) -> GateResult:
    """hit / (hit + miss) of frequent queries, counter deltas over the span, summed over serving slots."""
    name = "cache-hit-rate"
    window = _span_window(span)
    if span.before is None or span.after is None or span.metrics_error:
        return GateResult.unavailable(
            name,
            reason=f"metrics source unavailable: {span.metrics_error or 'not scraped'}",
            threshold=threshold_pct,
            unit="percent",
            comparison=Comparison.AT_LEAST,
            min_samples=min_lookups,
            window=window,
            source="none",
        )
    try:
        hits = span.after.delta(
            span.before, "support_cache_requests_total", query_class="frequent", result="hit"
        )
        misses = span.after.delta(
            span.before, "support_cache_requests_total", query_class="frequent", result="miss"
        )
    except MetricsError as exc:
        return GateResult.unavailable(
            name,
            reason=str(exc),
            threshold=threshold_pct,
            unit="percent",
            comparison=Comparison.AT_LEAST,
            min_samples=min_lookups,
            window=window,
            source=span.after.sources,
        )
    source = f'Prometheus support_cache_requests_total{{query_class="frequent"}} deltas, {span.after.sources}'
    result = slo.cache_hit_rate_gate(
        name,
        int(hits),
        int(misses),
        threshold_pct=threshold_pct,
        source=source,
        window=window,
        min_lookups=min_lookups,
    )
    return _too_short(result, span)


def cost_against_budget(
    *,
    threshold_pct: float,
    scrapes: SlotScrapes | None,
    scrape_error: str | None,
    budget: Mapping[str, Any] | None,
    budget_error: str | None,
    sandbox: bool,
) -> GateResult:
    """Current spend against the allocated budget.

    The allocated budget is the Budgets API's limit. The spend is the larger of the Budgets API's
    actual spend and the service's own cost accounting (``support_cost_usd_total`` summed over the
    serving slots): moto never reports spend, and in AWS the service's accounting is a lower bound.
    """
    name = "cost-budget"
    window = Window("current budget period", None)
    limit = None if budget is None else budget.get("limit_usd")
    aws_spend = None if budget is None else budget.get("actual_spend_usd")
    service_spend = None if scrapes is None else scrapes.total("support_cost_usd_total")
    sources = []
    if budget is not None:
        sources.append(
            f"AWS Budgets {budget.get('name')} (limit{', actual spend' if aws_spend is not None else ''})"
        )
    if scrapes is not None:
        sources.append(f"service cost accounting support_cost_usd_total, {scrapes.sources}")
    problems = [p for p in (budget_error, scrape_error) if p]
    if scrapes is not None:
        # No series is no accounting, never 0 spend (the service exports 0 per route from its start).
        silent = sorted(
            slot for slot, snap in scrapes.by_slot.items() if not snap.select("support_cost_usd_total")
        )
        if not scrapes.by_slot:
            problems.append("no slot was scraped for support_cost_usd_total")
        elif silent:
            problems.append("no support_cost_usd_total in the scrape of slot " + ", ".join(silent))
    if problems or limit is None or service_spend is None:
        reason = "; ".join(problems) or "no budget limit or no spend reading"
        return GateResult.unavailable(
            name,
            reason=f"cost source unavailable: {reason}",
            threshold=threshold_pct,
            unit="percent",
            comparison=Comparison.AT_MOST,
            min_samples=slo.MIN_COST_READINGS,
            window=window,
            source="; ".join(sources) or "none",
        )
    readings = {"service_accounting_usd": service_spend, "aws_budgets_actual_spend_usd": aws_spend}
    spend = max(v for v in readings.values() if v is not None)
    chosen = "service cost accounting" if spend == service_spend else "AWS Budgets actual spend"
    if sandbox:
        chosen += " (the sandbox's moto Budgets always reports 0 spend)"
    source = "; ".join([*sources, f"spend taken from {chosen}"])
    result = slo.cost_gate(name, spend, limit, threshold_pct=threshold_pct, source=source, window=window)
    raw = {**dict(result.raw or {}), "readings": readings, "budget": dict(budget or {})}
    return dataclasses.replace(result, raw=raw)


def gates_summary(results: Sequence[GateResult]) -> list[dict[str, Any]]:
    """Return the gates as report entries."""
    return [r.to_dict() for r in results]


def require_all_passed(
    name: str, required: Sequence[str], found: Mapping[str, Mapping[str, Any]], *, source: str
) -> GateResult:
    """A decision point: every required gate has a recorded verdict and every verdict is pass.

    An empty required list is inconclusive: a decision that requires nothing has no evidence.
    """
    missing = [g for g in required if g not in found]
    not_passed = [
        f"{g} ({found[g].get('verdict')})"
        for g in required
        if g in found and found[g].get("verdict") != "pass"
    ]
    passed = len(required) - len(missing) - len(not_passed)
    reasons = []
    if not_passed:
        reasons.append("not passed: " + ", ".join(not_passed))
    if missing:
        reasons.append("never evaluated in this run: " + ", ".join(missing))
    if not required:
        reasons.append("no gate is required: the decision has nothing to stand on")
    if not_passed:
        verdict = Verdict.FAIL
    elif missing or not required:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.PASS
    return GateResult(
        name=name,
        verdict=verdict,
        value=float(passed),
        threshold=float(len(required)),
        unit="gates passed",
        comparison=Comparison.AT_LEAST,
        samples=len(required) - len(missing),
        min_samples=len(required),
        window=Window("this phase of the run", None),
        source=source,
        reasons=tuple(reasons),
        raw={"gates": {g: dict(found[g]) for g in required if g in found}},
    )


def validations_passed(
    name: str,
    plan_tests: Sequence[str],
    scenarios: Sequence[str],
    outcomes: Mapping[str, Sequence[str | None]],
    *,
    source: str,
) -> GateResult:
    """Decision point 3: every validation test of the plan has its scenarios, and each ran and passed.

    ``scenarios`` are the feature file's @validation scenario names (what is required, whatever ran);
    ``outcomes`` maps a scenario name to the outcome of each of its examples in this session (None: did
    not run). A plan test without a scenario named ``"<test> - ..."`` makes the decision inconclusive.
    """
    uncovered = [test for test in plan_tests if not any(s.startswith(f"{test} - ") for s in scenarios)]
    found: dict[str, dict[str, Any]] = {}
    for scenario in scenarios:
        ran = [o for o in outcomes.get(scenario, ()) if o is not None]
        if ran:
            verdict = "pass" if all(o == "passed" for o in ran) else next(o for o in ran if o != "passed")
            found[scenario] = {"verdict": verdict, "examples": len(ran)}
    result = require_all_passed(name, sorted(scenarios), found, source=source)
    if not uncovered:
        return result
    reason = "the plan's validation tests without a scenario: " + ", ".join(uncovered)
    verdict = Verdict.FAIL if result.verdict is Verdict.FAIL else Verdict.INCONCLUSIVE
    return dataclasses.replace(result, verdict=verdict, reasons=(*result.reasons, reason))


def error_rate_over_span(
    span: MeasuredSpan, *, threshold_pct: float, min_requests: int, name: str
) -> GateResult:
    """Failed requests over the whole measured span (one window: the span itself)."""
    series = span.series.get(ALL) if span.series_source else None
    window_s = series[-1].t - series[0].t if series and len(series) > 1 else (span.required_seconds or 1.0)
    result = slo.error_rate_trailing_window_gate(
        name,
        series,
        threshold_pct=threshold_pct,
        window_s=max(window_s, 1e-3),
        source=span.series_source,
        min_requests=min_requests,
    )
    return _with_live(_too_short(_annotate(result, span), span), span, LiveGate.failed(threshold_pct))


# --- the SLO gates together: what is watched live, and one evaluation of a span ------------------


def live_gates(specs: Sequence[SloSpec]) -> tuple[LiveGate, ...]:
    """Return the live gates of the feature's error-rate and latency gates (one per distinct share)."""
    out: list[LiveGate] = []
    for spec in specs:
        if spec.gate.startswith("p95-latency-") and spec.kind:
            out.append(LiveGate.slower(spec.kind, spec.threshold))
        elif spec.gate.startswith("error-rate"):
            out.append(LiveGate.failed(spec.threshold))
    return tuple(dict.fromkeys(out))


def evaluate_slo_gates(
    span: MeasuredSpan,
    specs: Sequence[SloSpec],
    *,
    cost: Callable[[MeasuredSpan, SloSpec], GateResult] | None = None,
) -> tuple[GateResult, ...]:
    """The SLO gates over one measured span, as the watch evaluates them (the span is one window)."""
    out: list[GateResult] = []
    for spec in specs:
        if spec.gate.startswith("p95-latency-") and spec.kind:
            out.append(p95_latency(span, spec.kind, limit_ms=spec.threshold, min_samples=spec.min_samples))
        elif spec.gate == "error-rate":
            out.append(
                error_rate_over_span(
                    span, threshold_pct=spec.threshold, min_requests=spec.min_samples, name="error-rate"
                )
            )
        elif spec.gate == "cache-hit-rate":
            out.append(cache_hit_rate(span, threshold_pct=spec.threshold, min_lookups=spec.min_samples))
        elif spec.gate == "cost-budget" and cost is not None:
            out.append(cost(span, spec))
    return tuple(out)
