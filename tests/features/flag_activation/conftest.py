"""Steps of features/flag_activation.feature (phase 5): flag windows with customer traffic, the journal."""

# ruff: noqa: PLR0917 - pytest-bdd passes fixtures to steps as positional parameters

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from pytest_bdd import given, parsers, then, when

from bedrock_release.load.monitor import LiveGate
from bedrock_release.load.runner import monitoring_plan
from bedrock_release.plan import FLAGS
from bedrock_release.suite import gates
from bedrock_release.suite.checks import require
from bedrock_release.suite.evidence import EvidenceRecorder, inconclusive
from bedrock_release.suite.flag_checks import slot_flags, store_flags
from bedrock_release.suite.journal import JournalError
from bedrock_release.suite.measurement import MeasuredSpan, measure_load
from bedrock_release.suite.run_record import flag_activations
from bedrock_release.suite.traffic import serving_slots


def _records(journal: Any) -> Any:
    if journal is None:
        inconclusive("flag activation record", "the target names no deploy journal")
    try:
        return journal.records()
    except JournalError as exc:
        inconclusive("flag activation record", str(exc))


@given("the flag just activated is on in every serving slot", target_fixture="activated_flag")
def flag_just_activated(target: Any, http: Any, ssm: Any, journal: Any, evidence: EvidenceRecorder) -> str:
    """The journal's latest flag_set to on names the flag; the store and every serving slot have it on."""
    activations = flag_activations(_records(journal))
    if not activations:
        inconclusive("flag window", "the journal records no flag activation")
    flag = activations[-1].flag
    store = store_flags(ssm, target)
    views = slot_flags(http, target, serving_slots(http, target))
    evidence.data("flag", {"flag": flag, "store": store.values, "slots": {v.source: v.values for v in views}})
    require(store.healthy and store.values.get(flag), f"{flag} is not on in the flag store ({store.detail})")
    off = [v.source for v in views if not v.values.get(flag)]
    require(not off, f"{flag} is not on in {off}")
    return flag


ERROR_RATE_OVER_PERIOD = parsers.parse(
    "the error rate over the monitoring period is at most {pct:g} percent "
    "over at least {min_requests:d} requests"
)
P95_OVER_PERIOD = parsers.parse(
    "the P95 latency of {kind} requests over the monitoring period is at most {limit_ms:d} ms "
    "over at least {min_samples:d} samples"
)


def _live_gates(steps: Sequence[str]) -> tuple[LiveGate, ...]:
    """The gates the scenario's Then steps state, to watch while the monitoring period's load runs."""
    out = []
    for text in steps:
        if ERROR_RATE_OVER_PERIOD.is_matching(text):
            values = ERROR_RATE_OVER_PERIOD.parse_arguments(text) or {}
            out.append(LiveGate.failed(values["pct"]))
        elif P95_OVER_PERIOD.is_matching(text):
            values = P95_OVER_PERIOD.parse_arguments(text) or {}
            out.append(LiveGate.slower(values["kind"], values["limit_ms"]))
    return tuple(out)


@when(
    parsers.parse("customer traffic is observed for the {minutes:d}-minute monitoring period"),
    target_fixture="measured_span",
)
def observe_monitoring_period(
    minutes: int,
    activated_flag: str,
    target: Any,
    http: Any,
    scenario_steps: tuple[str, ...],
    evidence: EvidenceRecorder,
) -> MeasuredSpan:
    """locust customer traffic (no verification header) for the monitoring period at the time scale.

    The scenario's error-rate and latency gates are watched while it runs: a degradation their
    sequential test proves ends the period at once (and fails those gates); a pass needs all of it.
    """
    if not target.endpoints.traffic:
        inconclusive("monitoring period", "the target has no load balancer endpoint")
    period = target.scaled(minutes * 60)
    plan = monitoring_plan(
        target.endpoints.traffic,
        target.time_scale,
        target.results_dir,
        purpose=f"flag-window-{activated_flag.lower().replace('_', '-')}",
        duration_s=period,
        workers=target.load_workers,
    )
    span = measure_load(http, target, plan, admin_token=None, live=_live_gates(scenario_steps)).with_required(
        period
    )
    evidence.data("monitoring period", dict(span.raw))
    return span


@then(ERROR_RATE_OVER_PERIOD)
def error_rate_over_period(
    pct: float, min_requests: int, measured_span: MeasuredSpan, evidence: EvidenceRecorder
) -> None:
    """Failed requests over the whole monitoring period."""
    evidence.gate(
        gates.error_rate_over_span(
            measured_span, threshold_pct=pct, min_requests=min_requests, name="error-rate-flag-window"
        )
    )


@then(P95_OVER_PERIOD)
def p95_over_period(
    kind: str, limit_ms: int, min_samples: int, measured_span: MeasuredSpan, evidence: EvidenceRecorder
) -> None:
    """P95 of one request kind over the monitoring period."""
    evidence.gate(gates.p95_latency(measured_span, kind, limit_ms=limit_ms, min_samples=min_samples))


@then(
    "the flag activation record shows this order, each flag activated only after the previous one's "
    "monitoring period passed"
)
def activation_order(journal: Any, datatable: list[list[str]], evidence: EvidenceRecorder) -> None:
    """flag_set records turn the flags on in the table's order, each after a passed monitoring window."""
    header, *rows = datatable
    column = {name: index for index, name in enumerate(header)}
    wanted = [row[column["flag"]] for row in sorted(rows, key=lambda r: int(r[column["order"]]))]
    require(wanted == list(FLAGS), f"the table's order {wanted} is not the plan's {list(FLAGS)}")
    records = _records(journal)
    first_rollback = next((r.seq for r in records if r.action == "rollback_started"), None)
    activations = flag_activations(records, before_seq=first_rollback)
    evidence.data(
        "activations",
        [
            {"flag": a.flag, "seq": a.seq, "at": a.at.isoformat(), "window_gates": list(a.window_gates)}
            for a in activations
        ],
    )
    order = [a.flag for a in activations]
    if not order:
        inconclusive("flag activation record", "the journal records no flag activation")
    require(order == wanted, f"flags were activated in the order {order}, not {wanted}")
    for previous, activation in itertools.pairwise(activations):
        gates_of_previous = previous.window_gates
        require(
            gates_of_previous,
            f"{activation.flag} was activated without a monitoring window after {previous.flag}",
        )
        failed = [g.get("name") for g in gates_of_previous if g.get("verdict") != "pass"]
        require(
            not failed,
            f"{activation.flag} was activated although {previous.flag}'s window did not pass: {failed}",
        )
    require(
        activations[-1].window_gates, f"the monitoring window after {activations[-1].flag} was not recorded"
    )


@then(parsers.parse("every monitoring period lasted at least {minutes:d} minutes at the run's time scale"))
def periods_long_enough(minutes: int, target: Any, journal: Any) -> None:
    """Each flag's recorded error-rate window spans the scaled period."""
    period = target.scaled(minutes * 60)
    records = _records(journal)
    first_rollback = next((r.seq for r in records if r.action == "rollback_started"), None)
    short = []
    activations = flag_activations(records, before_seq=first_rollback)
    if not activations:
        inconclusive("monitoring periods", "the journal records no flag activation")
    for activation in activations:
        spans = [
            float((g.get("window") or {}).get("seconds") or 0)
            for g in activation.window_gates
            if str(g.get("name", "")).startswith("error-rate")
        ]
        if not spans or max(spans) + 0.25 < period:
            short.append(f"{activation.flag}: {max(spans) if spans else 0:g} s")
    require(not short, f"monitoring periods shorter than {period:g} s: {short}")


@then("every serving slot reports all five flags on and its flag store healthy")
def slots_report_flags_on(target: Any, http: Any, evidence: EvidenceRecorder) -> None:
    """GET /v1/flags of every serving slot: all five on, store ok."""
    views = slot_flags(http, target, serving_slots(http, target))
    evidence.data("slots", [{"source": v.source, "values": v.values, "healthy": v.healthy} for v in views])
    problems = [f"{v.source}: off {v.off(True)}" for v in views if v.off(True)]
    problems += [f"{v.source}: flag store not healthy ({v.detail})" for v in views if not v.healthy]
    require(not problems, "; ".join(problems))
