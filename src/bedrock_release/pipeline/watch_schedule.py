"""The post-deployment watch as the pipeline runs it: SLO gates re-evaluated on a schedule, stop at a breach.

Every two rolling windows (the plan's 5 minutes x the run's time scale; ``windows_per_evaluation``), for
the plan's two hours x the time scale, one evaluation: the suite's watch (``suite.watch``: customer
traffic through the load balancer, locust in the sandbox where no customer exists, with the error-rate
and latency gates watched live; the serving slots' /metrics scraped before and after; the gates of
features/slo_gates.feature evaluated with the suite's one evaluation). Every gate of every evaluation
is appended to the run's journal (``gate_evaluated``, phase ``watch``, with ``decided_after_s`` when a
sequential test knew early); the first evaluation that does not pass - failed or inconclusive, gates
fail closed - ends the watch as a breach. Rolling back is the playbook's job (playbooks/watch.yml), so
it is the audited rollback of the run, timed against its target like any other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrock_release.gates.verdict import GateResult
from bedrock_release.pipeline.journal import JOURNAL_NAME, Journal
from bedrock_release.plan import ROLLING_WINDOW_S
from bedrock_release.suite import gates
from bedrock_release.suite.clients import aws_client, http_session
from bedrock_release.suite.measurement import MeasuredSpan
from bedrock_release.suite.slo_spec import SloSpec, load_slo_specs
from bedrock_release.suite.target import TargetError, load_target
from bedrock_release.suite.watch import Evaluation, customer_windows, watch_windows

__all__ = ["ACTOR", "Evaluation", "WatchError", "WatchOutcome", "run_from_cli", "watch"]

ACTOR = "post-deployment-watch"
_FEATURE = Path(__file__).resolve().parents[3] / "features" / "slo_gates.feature"


class WatchError(ValueError):
    """A watch that cannot start (no target, no load balancer); names the input."""


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
            "evaluations": [e.to_dict() for e in self.evaluations],
        }


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
    if measure is None:
        try:
            measure = customer_windows(http_session(), target, specs)
        except ValueError as exc:
            raise WatchError(f"{run_dir}/target.json: {exc}") from None

    def journaled(evaluation: Evaluation, _span: MeasuredSpan) -> None:
        for result in evaluation.gates:
            _record(journal, evaluation.index, result)

    done = watch_windows(
        measure,
        specs,
        planned=planned,
        window_s=window_s,
        cost=cost,
        on_evaluation=journaled,
        progress=progress,
    )
    outcome = WatchOutcome(str(run_dir), planned, window_s, required_s, done)
    out = target.results_dir / "watch.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(outcome.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    return outcome


def run_from_cli(run_dir: Path, args: Any, *, progress: Callable[[str], None] | None = None) -> WatchOutcome:
    """``bedrock-release watch``."""
    return watch(run_dir, hours=args.hours, windows_per_evaluation=args.windows, progress=progress)
