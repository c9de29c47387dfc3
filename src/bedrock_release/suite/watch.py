"""The post-deployment watch: the SLO gates re-evaluated window by window under customer traffic.

One watch for the pipeline (pipeline/watch_schedule.py: ``bedrock-release watch``, playbooks/watch.yml)
and for the success criteria's watch step. Each window is one measured span: customer traffic (locust,
no verification header) through the load balancer with the error-rate and latency gates watched live -
a breach their sequential test proves stops that window's load at once - and the serving slots'
/metrics scraped before and after. The window's gates are evaluated with the suite's one evaluation
(``suite.gates.evaluate_slo_gates``); the first window that does not pass (failed or inconclusive:
gates fail closed) ends the watch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from bedrock_release.gates.verdict import GateResult
from bedrock_release.load.runner import monitoring_plan
from bedrock_release.suite.gates import evaluate_slo_gates, live_gates
from bedrock_release.suite.measurement import MeasuredSpan, measure_load
from bedrock_release.suite.slo_spec import SloSpec
from bedrock_release.suite.target import Target

__all__ = ["Evaluation", "Measure", "customer_windows", "watch_windows"]

#: measure(index, seconds): one window of the watch, measured.
Measure = Callable[[int, float], MeasuredSpan]


@dataclass(frozen=True)
class Evaluation:
    """One window of the watch: when it started (s into the watch), how long it measured, its gates."""

    index: int
    started_s: float
    gates: tuple[GateResult, ...]
    measured_s: float | None = None

    @property
    def passed(self) -> bool:
        """Every gate passed (no gate at all is not a pass)."""
        return bool(self.gates) and all(g.passed for g in self.gates)

    @property
    def breaches(self) -> tuple[GateResult, ...]:
        """The gates that did not pass."""
        return tuple(g for g in self.gates if not g.passed)

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (gates without their raw evidence)."""
        return {
            "index": self.index,
            "started_s": round(self.started_s, 3),
            "measured_s": self.measured_s,
            "passed": self.passed,
            "gates": [{k: v for k, v in g.to_dict().items() if k != "raw"} for g in self.gates],
        }


def customer_windows(session: requests.Session, target: Target, specs: Sequence[SloSpec]) -> Measure:
    """Return the measure of one watch window: customer traffic with the specs' gates watched live."""
    if not target.endpoints.traffic:
        raise ValueError("the target has no load balancer endpoint to send customer traffic to")
    traffic = target.endpoints.traffic
    live = live_gates(specs)

    def measure(index: int, seconds: float) -> MeasuredSpan:
        plan = monitoring_plan(
            traffic,
            target.time_scale,
            target.results_dir,
            purpose=f"watch-{index:02d}",
            duration_s=seconds,
            workers=target.load_workers,
        )
        return measure_load(session, target, plan, admin_token=None, live=live).with_required(seconds)

    return measure


def watch_windows(
    measure: Measure,
    specs: Sequence[SloSpec],
    *,
    planned: int,
    window_s: float,
    cost: Callable[[MeasuredSpan, SloSpec], GateResult] | None = None,
    on_evaluation: Callable[[Evaluation, MeasuredSpan], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Evaluation, ...]:
    """Evaluate up to ``planned`` windows of ``window_s``; stop after the first that does not pass."""
    say = progress or (lambda _m: None)
    started = time.monotonic()
    done: list[Evaluation] = []
    for index in range(1, planned + 1):
        say(f"watch evaluation {index} of {planned} ({window_s:g} s window)")
        at = time.monotonic() - started
        span = measure(index, window_s)
        evaluation = Evaluation(index, at, evaluate_slo_gates(span, specs, cost=cost), span.seconds)
        if on_evaluation is not None:
            on_evaluation(evaluation, span)
        done.append(evaluation)
        if not evaluation.passed:
            say(f"breach in evaluation {index}: " + ", ".join(g.name for g in evaluation.breaches))
            break
    return tuple(done)
