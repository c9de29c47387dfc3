"""Steps of features/slo_gates.feature (phase 3): locust load, then every SLO gate from its evidence."""

# ruff: noqa: PLR0917 - pytest-bdd passes fixtures to steps as positional parameters

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then

from bedrock_release.load.runner import slo_plan
from bedrock_release.suite import gates
from bedrock_release.suite.aws_readings import read_budget
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.measurement import MeasuredSpan, measure_load, scrape_or_error
from bedrock_release.suite.slo_spec import load_slo_specs

_FEATURE = Path(__file__).resolve().parents[3] / "features" / "slo_gates.feature"

#: The SLO gates of phase 3 (the decision point requires every one of them).
PHASE3_GATES = (
    "p95-latency-generation",
    "p95-latency-cached",
    "error-rate",
    "error-rate-trailing",
    "cost-budget",
    "cache-hit-rate",
)


@pytest.fixture(scope="session")
def slo_span(target: Any, http: Any, secrets: Any, pytestconfig: pytest.Config) -> MeasuredSpan:
    """The phase 3 load, run once per session: verification traffic for two rolling windows.

    The feature's error-rate and latency gates are watched while it runs: a breach their sequential
    test proves stops the load at once and fails those gates; a pass still needs the whole load.
    """

    if not target.endpoints.traffic:
        inconclusive("SLO load", "the target has no load balancer endpoint")
    plan = slo_plan(
        target.endpoints.traffic,
        target.time_scale,
        target.results_dir,
        duration_s=pytestconfig.getoption("--load-duration-s"),
        workers=target.load_workers,
    )
    live = gates.live_gates(load_slo_specs(_FEATURE))
    return measure_load(http, target, plan, admin_token=secrets.support_admin_token, live=live)


@given(
    parsers.parse(
        "the SLO load has run through the load balancer for at least one {minutes:d}-minute rolling window"
    ),
    target_fixture="measured_span",
)
def slo_load_has_run(
    minutes: int, slo_span: MeasuredSpan, target: Any, evidence: EvidenceRecorder
) -> MeasuredSpan:
    """Locust drove verification traffic through the load balancer (once per session)."""
    span = slo_span.with_required(target.scaled(minutes * 60))
    evidence.data("SLO load", dict(span.raw))
    return span


@then(
    parsers.parse(
        "the error rate in every {minutes:d}-minute rolling window is at most {pct:g} percent "
        "over at least {min_requests:d} requests per window"
    )
)
def error_rate_every_window(
    minutes: int,
    pct: float,
    min_requests: int,
    measured_span: MeasuredSpan,
    target: Any,
    evidence: EvidenceRecorder,
) -> None:
    """The worst rolling window of the load's requests."""
    evidence.gate(
        gates.error_rate_worst(
            measured_span, window_s=target.scaled(minutes * 60), threshold_pct=pct, min_requests=min_requests
        )
    )


@then(
    parsers.parse(
        "the error rate in the trailing {minutes:d}-minute window is at most {pct:g} percent "
        "over at least {min_requests:d} requests"
    )
)
def error_rate_trailing_window(
    minutes: int,
    pct: float,
    min_requests: int,
    measured_span: MeasuredSpan,
    target: Any,
    evidence: EvidenceRecorder,
) -> None:
    """The rolling window ending when the load stopped."""
    evidence.gate(
        gates.error_rate_trailing(
            measured_span, window_s=target.scaled(minutes * 60), threshold_pct=pct, min_requests=min_requests
        )
    )


@then(parsers.parse("the current spend is at most {pct:g} percent of the allocated budget"))
def spend_within_budget(
    pct: float,
    measured_span: MeasuredSpan,
    target: Any,
    http: Any,
    budgets: Any,
    sts: Any,
    evidence: EvidenceRecorder,
) -> None:
    """Spend (the service's cost accounting, or AWS Budgets' if higher) against the Budgets limit."""
    scrapes, scrape_error = scrape_or_error(http, target, measured_span.slots or (target.new_slot,))
    budget, budget_error = read_budget(budgets, sts, target.budget_name)
    evidence.gate(
        gates.cost_against_budget(
            threshold_pct=pct,
            scrapes=scrapes,
            scrape_error=scrape_error,
            budget=budget,
            budget_error=budget_error,
            sandbox=target.is_sandbox,
        )
    )


@then("every SLO gate of this phase passed")
def every_slo_gate_passed(gate_ledger: list[Any], journal: Any, evidence: EvidenceRecorder) -> None:
    """Decision point 2: all six SLO gates were evaluated in this run and passed."""
    from bedrock_release.suite.decisions import phase_gates  # noqa: PLC0415

    found, source = phase_gates(3, gate_ledger, journal)
    evidence.gate(gates.require_all_passed("decision-point-2", PHASE3_GATES, found, source=source))
