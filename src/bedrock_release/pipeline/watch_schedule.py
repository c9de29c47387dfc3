"""The post-deployment watch as the pipeline runs it: SLO gates re-evaluated on a schedule, stop at a breach.

Every two rolling windows (the plan's 5 minutes x the run's time scale; ``windows_per_evaluation``), for
the plan's two hours x the time scale, one evaluation: customer traffic through the load balancer for
that period (locust, in the sandbox where no customer exists), the serving slots' /metrics scraped
before and after, and the gates of features/slo_gates.feature evaluated with the suite's own gate math.
Every gate of every evaluation is appended to the run's journal (``gate_evaluated``, phase ``watch``);
the first evaluation that does not pass - failed or inconclusive, gates fail closed - ends the watch as
a breach. Rolling back is the playbook's job (playbooks/watch.yml), so it is the audited rollback of the
run, timed against its target like any other.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrock_release.gates.verdict import GateResult
from bedrock_release.load.runner import monitoring_plan
from bedrock_release.pipeline.journal import JOURNAL_NAME, Journal
from bedrock_release.plan import ROLLING_WINDOW_S
from bedrock_release.suite import gates
from bedrock_release.suite.clients import aws_client, http_session
from bedrock_release.suite.measurement import MeasuredSpan, measure_load
from bedrock_release.suite.slo_spec import SloSpec, load_slo_specs
from bedrock_release.suite.target import TargetError, load_target

__all__ = ["ACTOR", "Evaluation", "WatchError", "WatchOutcome", "evaluate_span", "run_from_cli", "watch"]

ACTOR = "post-deployment-watch"
_FEATURE = Path(__file__).resolve().parents[3] / "features" / "slo_gates.feature"


class WatchError(ValueError):
    """A watch that cannot start (no target, no load balancer); names the input."""


@dataclass(frozen=True)
class Evaluation:
    """One scheduled evaluation of the SLO gates."""

    index: int
    started_s: float
    gates: tuple[GateResult, ...]

    @property
    def passed(self) -> bool:
        """Every gate passed (no gate at all is not a pass)."""
        return bool(self.gates) and all(g.passed for g in self.gates)

    @property
    def breaches(self) -> tuple[GateResult, ...]:
        """The gates that did not pass."""
        return tuple(g for g in self.gates if not g.passed)


@dataclass(frozen=True)
class WatchOutcome:
    """How the watch ended: every evaluation, planned count, and the breach if any."""

    run_dir: str
    planned: int
    window_s: float
    required_s: float
    evaluations: tuple[Evaluation, ...]

    @property
    def passed(self) -> bool:
        """All planned evaluations ran and passed."""
        return len(self.evaluations) == self.planned and all(e.passed for e in self.evaluations)

    @property
    def breach(self) -> str | None:
        """The first breach in words (the rollback's trigger), None when there was none."""
        for evaluation in self.evaluations:
            if not evaluation.passed:
                what = (
                    "; ".join(
                        f"{g.name} {g.verdict.value} (value {g.value if g.value is not None else 'none'}, "
                        f"threshold {g.threshold:g} {g.unit})"
                        for g in evaluation.breaches
                    )
                    or "no gate evaluated"
                )
                return f"post-deployment watch evaluation {evaluation.index} of {self.planned}: {what}"
        return None

    def summary(self) -> str:
        """One paragraph for people."""
        head = (
            f"post-deployment watch of {self.run_dir}: {len(self.evaluations)} of {self.planned} evaluations "
            f"every {self.window_s:g} s (required {self.required_s:g} s)"
        )
        return f"{head}; every gate passed" if self.passed else f"{head}; BREACH: {self.breach}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the playbook reads it)."""
        return {
            "run_dir": self.run_dir,
            "planned": self.planned,
            "window_s": self.window_s,
            "required_s": self.required_s,
            "passed": self.passed,
            "breach": self.breach,
            "evaluations": [
                {
                    "index": e.index,
                    "started_s": round(e.started_s, 3),
                    "passed": e.passed,
                    "gates": [{k: v for k, v in g.to_dict().items() if k != "raw"} for g in e.gates],
                }
                for e in self.evaluations
            ],
        }


def evaluate_span(
    span: MeasuredSpan,
    specs: Sequence[SloSpec],
    *,
    cost: Callable[[MeasuredSpan, SloSpec], GateResult] | None = None,
) -> tuple[GateResult, ...]:
    """The SLO gates over one measured window (the window is one rolling window: one error-rate gate)."""
    out: list[GateResult] = []
    for spec in specs:
        if spec.gate.startswith("p95-latency-") and spec.kind:
            out.append(
                gates.p95_latency(span, spec.kind, limit_ms=spec.threshold, min_samples=spec.min_samples)
            )
        elif spec.gate == "error-rate":
            out.append(
                gates.error_rate_over_span(
                    span, threshold_pct=spec.threshold, min_requests=spec.min_samples, name="error-rate"
                )
            )
        elif spec.gate == "cache-hit-rate":
            out.append(gates.cache_hit_rate(span, threshold_pct=spec.threshold, min_lookups=spec.min_samples))
        elif spec.gate == "cost-budget" and cost is not None:
            out.append(cost(span, spec))
    return tuple(out)


def _cost_gate(target: Any) -> Callable[[MeasuredSpan, SloSpec], GateResult]:
    from bedrock_release.suite.aws_readings import read_budget  # noqa: PLC0415

    def gate(span: MeasuredSpan, spec: SloSpec) -> GateResult:
        try:
            budget, error = read_budget(
                aws_client(target, "budgets"), aws_client(target, "sts"), target.budget_name
            )
        except ValueError as exc:
            budget, error = None, str(exc)
        return gates.cost_against_budget(
            threshold_pct=spec.threshold,
            scrapes=span.after,
            scrape_error=span.metrics_error,
            budget=budget,
            budget_error=error,
            sandbox=target.is_sandbox,
        )

    return gate


def _record(journal: Journal, index: int, result: GateResult) -> None:
    gate = {k: v for k, v in result.to_dict().items() if k != "raw"}
    gate["name"] = f"watch-{index:02d}:{result.name}"
    journal.record(
        "gate_evaluated",
        {"phase": "watch", "marker": "post_deployment", "evaluation": index, "gate": gate},
        actor=ACTOR,
    )


def watch(
    run_dir: Path,
    *,
    hours: float = 2.0,
    windows_per_evaluation: int = 2,
    measure: Callable[[int, float], MeasuredSpan] | None = None,
    progress: Callable[[str], None] | None = None,
    specs: Sequence[SloSpec] | None = None,
) -> WatchOutcome:
    """Run the watch of a deployed run; every evaluation journaled; stop at the first breach."""
    try:
        target = load_target(run_dir / "target.json")
    except (TargetError, OSError) as exc:
        raise WatchError(f"{run_dir}: {exc}") from None
    if not (run_dir / JOURNAL_NAME).is_file():
        raise WatchError(f"{run_dir}: no deploy journal ({JOURNAL_NAME})")
    if not hours > 0:
        raise WatchError(f"--hours must be > 0, got {hours!r}")
    if windows_per_evaluation < 1:
        raise WatchError(f"--windows must be >= 1, got {windows_per_evaluation!r}")
    # The load is sized for the error gate's 1000 requests per rolling window (x1.5); the cache gate's 500
    # frequent lookups are about a third of it, so one window alone is borderline: two by default.
    window_s = ROLLING_WINDOW_S * target.time_scale * windows_per_evaluation
    required_s = hours * 3600 * target.time_scale
    planned = max(1, math.ceil(required_s / window_s - 1e-9))
    specs = tuple(specs or load_slo_specs(_FEATURE))
    journal = Journal(run_dir / JOURNAL_NAME, actor=ACTOR)
    cost = _cost_gate(target)
    say = progress or (lambda _m: None)
    if measure is None:
        if not target.endpoints.traffic:
            raise WatchError(f"{run_dir}/target.json: no load balancer endpoint to send customer traffic to")
        http = http_session()

        def measure(index: int, seconds: float) -> MeasuredSpan:
            plan = monitoring_plan(
                target.endpoints.traffic,
                target.time_scale,
                target.results_dir,
                purpose=f"watch-{index:02d}",
                duration_s=seconds,
            )
            return measure_load(http, target, plan, admin_token=None).with_required(seconds)

    started = time.monotonic()
    done: list[Evaluation] = []
    for index in range(1, planned + 1):
        say(f"watch evaluation {index} of {planned} ({window_s:g} s window)")
        at = time.monotonic() - started
        span = measure(index, window_s)
        evaluation = Evaluation(index, at, evaluate_span(span, specs, cost=cost))
        for result in evaluation.gates:
            _record(journal, index, result)
        done.append(evaluation)
        if not evaluation.passed:
            say(f"breach in evaluation {index}: " + ", ".join(g.name for g in evaluation.breaches))
            break
    outcome = WatchOutcome(str(run_dir), planned, window_s, required_s, tuple(done))
    out = target.results_dir / "watch.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(outcome.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    return outcome


def run_from_cli(run_dir: Path, args: Any, *, progress: Callable[[str], None] | None = None) -> WatchOutcome:
    """``bedrock-release watch``."""
    return watch(run_dir, hours=args.hours, windows_per_evaluation=args.windows, progress=progress)
