"""Threshold drift between the deployment plan and the feature files: a loosened or dropped one is refused.

The plan (docs/deployment-plan.md) is the source of every threshold; the feature files restate them
as the gates that actually run. This module reads each threshold from the plan's own text, finds every
place a feature states it, and reports a feature that accepts more than the plan does (``loosened``)
or a scenario that no longer states a threshold it must (``dropped``). Tightening is allowed. A plan
that no longer states a threshold in the expected words is itself a problem: the check fails closed.

    python -m bedrock_release.gates.threshold_drift [--plan docs/deployment-plan.md] [--features features]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gherkin.errors import CompositeParserException, ParserException
from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

__all__ = [
    "CATALOGUE",
    "DriftError",
    "DriftProblem",
    "DriftReport",
    "FeatureStatement",
    "PlanThreshold",
    "ThresholdSpec",
    "check_drift",
    "feature_statements",
    "main",
    "plan_thresholds",
]

_N = r"(?P<v>\d+(?:\.\d+)?|zero|no)"
_UPPER = r"(?P<op>at most|less than|below)"
_LOWER = r"(?P<op>at least|above|more than)"
_OPS = {
    "at most": "<=",
    "less than": "<",
    "below": "<",
    "at least": ">=",
    "above": ">",
    "more than": ">",
    "≤": "<=",
    "<": "<",
    "≥": ">=",
    ">": ">",
}
_WORDS = {"<=": "at most", "<": "less than", ">=": "at least", ">": "more than", "=": "exactly"}


class DriftError(ValueError):
    """The plan or a feature file cannot be read, or the plan no longer states a threshold."""


@dataclass(frozen=True)
class StepPattern:
    """How a feature states a threshold: a step regex (groups ``v`` and ``op``) and its scope."""

    regex: str
    op: str = ""  # fixed comparison when the regex has no ``op`` group
    scenario: str = ""  # only in scenarios whose name matches this regex


@dataclass(frozen=True)
class ThresholdSpec:
    """One threshold of the plan: where the plan states it and where the features must restate it."""

    id: str
    title: str
    unit: str
    plan: str  # regex over the plan's text with groups ``v`` and optionally ``op``
    steps: tuple[StepPattern, ...]
    sites: tuple[tuple[str, str], ...]  # (feature file, scenario name) that must state it
    plan_op: str = ""  # when the plan's words carry no operator ("zero ...", "2-minute ...")
    factor: float = 1.0  # plan unit -> feature unit (1.5 s -> 1500 ms)


@dataclass(frozen=True)
class PlanThreshold:
    """A threshold as the plan states it."""

    id: str
    title: str
    op: str
    value: float
    unit: str
    source: str  # "docs/deployment-plan.md:58"
    text: str

    def describe(self) -> str:
        """``at most 1500 ms``."""
        return f"{_WORDS[self.op]} {self.value:g} {self.unit}"


@dataclass(frozen=True)
class FeatureStatement:
    """A threshold as one step of one scenario states it."""

    id: str
    feature: str
    scenario: str
    line: int
    op: str
    value: float
    unit: str
    text: str

    def describe(self) -> str:
        """``at most 2000 ms``."""
        return f"{_WORDS[self.op]} {self.value:g} {self.unit}"


@dataclass(frozen=True)
class DriftProblem:
    """A loosened or dropped threshold, naming the feature file, the scenario and both values."""

    kind: str  # "loosened" | "dropped"
    threshold: str
    feature: str
    scenario: str
    line: int | None
    plan_value: str
    feature_value: str | None
    plan_source: str

    def __str__(self) -> str:
        where = f"{self.feature}:{self.line}" if self.line else self.feature
        if self.kind == "dropped":
            return (
                f"{where}, scenario {self.scenario!r}: no longer states the plan's threshold "
                f"{self.threshold} ({self.plan_value}, {self.plan_source}): dropped"
            )
        return (
            f"{where}, scenario {self.scenario!r}: {self.threshold} is {self.feature_value} but the plan "
            f"({self.plan_source}) says {self.plan_value}: loosened"
        )


@dataclass(frozen=True)
class DriftReport:
    """Every plan threshold, every feature statement of one, and the problems found."""

    plan: tuple[PlanThreshold, ...]
    statements: tuple[FeatureStatement, ...]
    problems: tuple[DriftProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """No threshold loosened or dropped."""
        return not self.problems

    def summary(self) -> str:
        """One line for a log, then one line per problem."""
        head = f"{len(self.plan)} plan thresholds, {len(self.statements)} feature statements: " + (
            "no drift" if self.ok else f"{len(self.problems)} drift problem(s)"
        )
        return "\n".join([head, *map(str, self.problems)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ok": self.ok,
            "plan": [asdict(p) for p in self.plan],
            "statements": [asdict(s) for s in self.statements],
            "problems": [{**asdict(p), "message": str(p)} for p in self.problems],
        }


_PV = "All SLO gates pass consistently for"
CATALOGUE: tuple[ThresholdSpec, ...] = (
    ThresholdSpec(
        "staging-pass-rate",
        "staging test success rate",
        "percent",
        r"All staging tests pass with (?P<op>>)\s*(?P<v>\d+(?:\.\d+)?)% success rate",
        (StepPattern(rf"the success rate across all staging tests is {_LOWER} {_N} percent"),),
        (("pre_deployment.feature", "All staging test suites pass with more than 95% success"),),
    ),
    ThresholdSpec(
        "critical-vulnerabilities",
        "critical vulnerabilities in the security scan",
        "findings",
        r"Security scan results show (?P<v>zero) critical vulnerabilities",
        (StepPattern(rf"the number of critical findings is {_UPPER} {_N}\b"),),
        (("pre_deployment.feature", "Security scan shows zero critical vulnerabilities"),),
        plan_op="<=",
    ),
    ThresholdSpec(
        "p95-latency-generation",
        "P95 latency of generation requests",
        "ms",
        r"\|\s*P95 Latency\s*\|\s*(?P<op>≤)\s*(?P<v>\d+(?:\.\d+)?)\s*s \(generation\)",
        (
            StepPattern(rf"the P95 latency of generation requests (?:[a-z ]+ )?is {_UPPER} {_N} ms\b"),
            StepPattern(rf'the alarm "p95-latency-generation" exists with threshold {_N} ms\b', op="<="),
        ),
        (
            ("slo_gates.feature", "P95 latency of generation requests"),
            (
                "flag_activation.feature",
                "No performance degradation in the 2-minute monitoring period after a flag is activated",
            ),
            ("monitoring.feature", "Performance alert on <alert>"),
        ),
        factor=1000.0,
    ),
    ThresholdSpec(
        "p95-latency-cached",
        "P95 latency of cached requests",
        "ms",
        r"(?P<op>≤)\s*(?P<v>\d+(?:\.\d+)?)\s*ms \(cached\)",
        (
            StepPattern(rf"the P95 latency of cached requests (?:[a-z ]+ )?is {_UPPER} {_N} ms\b"),
            StepPattern(rf'the alarm "p95-latency-cached" exists with threshold {_N} ms\b', op="<="),
        ),
        (
            ("slo_gates.feature", "P95 latency of cached requests"),
            ("production_validation.feature", "Performance Optimization - caching and optimization features"),
            ("monitoring.feature", "Performance alert on <alert>"),
        ),
    ),
    ThresholdSpec(
        "error-rate",
        "error rate",
        "percent",
        r"\|\s*Error Rate\s*\|\s*(?P<op>≤)\s*(?P<v>\d+(?:\.\d+)?)%",
        (
            StepPattern(rf"\berror rate\b[^.]*? {_UPPER} {_N} percent\b"),
            StepPattern(rf'the alarm "error-rate" exists with threshold {_N} percent\b', op="<="),
        ),
        (
            ("slo_gates.feature", "Error rate over a 5-minute rolling window"),
            (
                "flag_activation.feature",
                "No performance degradation in the 2-minute monitoring period after a flag is activated",
            ),
            ("production_validation.feature", "Decision point 3 - all validation tests pass, system stable"),
            (
                "component_deployment.feature",
                "The traffic split observed through the load balancer matches the canary step",
            ),
            (
                "rollback.feature",
                "Immediate rollback returns the system to MCP-only operation in less than 5 minutes",
            ),
            (
                "rollback.feature",
                "Partial rollback re-enables the stable features one at a time in less than 10 minutes",
            ),
            (
                "rollback.feature",
                "Full rollback reverts traffic, deployments and configuration in less than 30 minutes",
            ),
            ("monitoring.feature", "Performance alert on <alert>"),
        ),
    ),
    ThresholdSpec(
        "error-rate-window",
        "rolling window of the error rate",
        "minutes",
        r"\|\s*Error Rate\s*\|[^|\n]*\|\s*(?P<v>\d+)-minute rolling window",
        (
            StepPattern(rf"{_N}-minute rolling window", op="="),
            StepPattern(rf"trailing {_N}-minute window", op="="),
        ),
        (
            ("slo_gates.feature", "Background"),
            ("slo_gates.feature", "Error rate over a 5-minute rolling window"),
        ),
        plan_op="=",
    ),
    ThresholdSpec(
        "cost-budget",
        "current spend against the allocated budget",
        "percent",
        r"\|\s*Cost Budget\s*\|\s*(?P<op>≤)\s*(?P<v>\d+(?:\.\d+)?)% of allocated budget",
        (
            StepPattern(rf"the current spend is {_UPPER} {_N} percent of the allocated budget"),
            StepPattern(rf'the alarm "cost-budget" exists with threshold {_N} percent\b', op="<="),
        ),
        (("slo_gates.feature", "Cost budget"), ("monitoring.feature", "Performance alert on <alert>")),
    ),
    ThresholdSpec(
        "cache-hit-rate",
        "cache hit rate of frequent queries",
        "percent",
        r"\|\s*Cache Hit Rate\s*\|\s*(?P<op>≥)\s*(?P<v>\d+(?:\.\d+)?)% for frequent queries",
        (StepPattern(rf"the cache hit rate of frequent queries is {_LOWER} {_N} percent\b"),),
        (
            ("slo_gates.feature", "Cache hit rate for frequent queries"),
            ("production_validation.feature", "Performance Optimization - caching and optimization features"),
        ),
    ),
    ThresholdSpec(
        "flag-monitoring-period",
        "monitoring period after each flag activation",
        "minutes",
        r"(?P<v>\d+)-minute monitoring period after each activation",
        (
            StepPattern(rf"the {_N}-minute monitoring period", op=">="),
            StepPattern(rf"every monitoring period lasted {_LOWER} {_N} minutes"),
        ),
        (
            (
                "flag_activation.feature",
                "No performance degradation in the 2-minute monitoring period after a flag is activated",
            ),
            (
                "flag_activation.feature",
                "The flags were activated one at a time in the plan's order, "
                "each followed by its monitoring period",
            ),
        ),
        plan_op=">=",
    ),
    *(
        ThresholdSpec(
            f"rollback-{tier.lower()}-time",
            f"{tier} rollback target time",
            "minutes",
            rf"\*\*{tier} Rollback\*\* \((?P<op><)\s*(?P<v>\d+) minutes\)",
            (StepPattern(rf"the rollback finished in {_UPPER} {_N} minutes", scenario=rf"^{tier} rollback"),),
            (("rollback.feature", scenario),),
        )
        for tier, scenario in (
            (
                "Immediate",
                "Immediate rollback returns the system to MCP-only operation in less than 5 minutes",
            ),
            (
                "Partial",
                "Partial rollback re-enables the stable features one at a time in less than 10 minutes",
            ),
            ("Full", "Full rollback reverts traffic, deployments and configuration in less than 30 minutes"),
        )
    ),
    ThresholdSpec(
        "post-deployment-watch",
        "SLO gates passing consistently after the deployment",
        "hours",
        rf"{_PV} (?P<v>\d+) hours post-deployment",
        (StepPattern(rf"the watch covered {_N} hours", op=">="),),
        (("success_criteria.feature", "All SLO gates pass consistently for 2 hours post-deployment"),),
        plan_op=">=",
    ),
    ThresholdSpec(
        "critical-errors",
        "critical errors or security incidents",
        "count",
        r"(?P<v>Zero) critical errors or security incidents",
        (StepPattern(rf"^{_N} compliance violation, PII leak or critical error was recorded", op="<="),),
        (("success_criteria.feature", "Zero critical errors or security incidents"),),
        plan_op="<=",
    ),
    ThresholdSpec(
        "routing-efficiency",
        "hybrid routing efficiency (optimal decisions)",
        "percent",
        r"Hybrid routing efficiency (?P<op>>)\s*(?P<v>\d+(?:\.\d+)?)% optimal decisions",
        (
            StepPattern(
                rf"the share of routing decisions equal to the optimal decision is {_LOWER} {_N} percent"
            ),
        ),
        (("success_criteria.feature", "Hybrid routing efficiency above 95% optimal decisions"),),
    ),
    ThresholdSpec(
        "latency-reduction",
        "support operations latency reduction",
        "percent",
        r"Support operations latency reduced by (?P<op>>)\s*(?P<v>\d+(?:\.\d+)?)%",
        (StepPattern(rf"the mean latency of support operations is {_LOWER} {_N} percent lower"),),
        (
            (
                "success_criteria.feature",
                "Support operations latency reduced by more than 20% against the MCP-only baseline",
            ),
        ),
    ),
    ThresholdSpec(
        "gap-detection-accuracy",
        "implementation gap detection accuracy",
        "percent",
        r"Implementation gap detection accuracy (?P<op>>)\s*(?P<v>\d+(?:\.\d+)?)%",
        (StepPattern(rf"implementation gap is detected correctly is {_LOWER} {_N} percent"),),
        (("success_criteria.feature", "Implementation gap detection accuracy above 85%"),),
    ),
    ThresholdSpec(
        "troubleshooting-time-reduction",
        "manual troubleshooting time reduction",
        "percent",
        r"Manual troubleshooting time reduced by (?P<op>>)\s*(?P<v>\d+(?:\.\d+)?)%",
        (StepPattern(rf"troubleshooting-time reduction is {_LOWER} {_N} percent"),),
        (("success_criteria.feature", "Manual troubleshooting time reduced by more than 40%"),),
    ),
    ThresholdSpec(
        "customer-impacting-incidents",
        "customer-impacting incidents",
        "count",
        r"(?P<v>Zero) customer-impacting incidents",
        (StepPattern(rf"records {_N} customer-impacting incidents", op="<="),),
        (("success_criteria.feature", "Zero customer-impacting incidents"),),
        plan_op="<=",
    ),
    ThresholdSpec(
        "compliance-violations",
        "compliance violations",
        "count",
        r"(?P<v>Zero) compliance violations or security incidents",
        (StepPattern(rf"^{_N} compliance violation was recorded since the deployment", op="<="),),
        (
            (
                "success_criteria.feature",
                "GDPR compliance, complete audit trail and EU data residency across all routing paths",
            ),
        ),
        plan_op="<=",
    ),
)


def _value(text: str, where: str) -> float:
    if text.lower() in ("zero", "no"):
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise DriftError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise DriftError(f"{where}: {text!r} is not a finite number")
    return value


def _read(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DriftError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DriftError(f"{what} {path} is unreadable: {exc}") from None
    if not text.strip():
        raise DriftError(f"{what} {path} is empty")
    return text


def plan_thresholds(
    plan_path: Path | str, *, label: str = "docs/deployment-plan.md"
) -> tuple[PlanThreshold, ...]:
    """Read every catalogued threshold from the plan's text; DriftError for one it no longer states."""
    text = _read(Path(plan_path), "deployment plan")
    out = []
    for spec in CATALOGUE:
        match = re.search(spec.plan, text)
        if match is None:
            raise DriftError(
                f"{label} no longer states the {spec.title} in the expected words ({spec.plan!r}): "
                "update the drift catalogue (bedrock_release.gates.threshold_drift) together with the plan"
            )
        where = f"{label}:{text.count(chr(10), 0, match.start()) + 1}"
        op = _OPS.get(match.groupdict().get("op") or "", spec.plan_op)
        out.append(
            PlanThreshold(
                spec.id, spec.title, op, _value(match["v"], where) * spec.factor, spec.unit, where, match[0]
            )
        )
    return tuple(out)


def _scenarios(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    feature = document.get("feature") or {}
    for child in feature.get("children", []):
        if "background" in child:
            yield {**child["background"], "name": "Background"}
        elif "scenario" in child:
            yield child["scenario"]
        elif "rule" in child:
            for sub in child["rule"].get("children", []):
                if "background" in sub:
                    yield {**sub["background"], "name": "Background"}
                elif "scenario" in sub:
                    yield sub["scenario"]


def _expanded_steps(scenario: Mapping[str, Any]) -> Iterator[tuple[int, str]]:
    """(line, text) of each step; an outline's steps once per Examples row, placeholders filled in."""
    steps = scenario.get("steps", [])
    rows: list[tuple[int, dict[str, str]]] = []
    for examples in scenario.get("examples", []):
        header = [c["value"] for c in (examples.get("tableHeader") or {}).get("cells", [])]
        for row in examples.get("tableBody", []):
            values = [c["value"] for c in row["cells"]]
            rows.append((row["location"]["line"], dict(zip(header, values, strict=False))))
    if not rows:
        for step in steps:
            yield step["location"]["line"], step["text"]
        return
    for line, values in rows:
        for step in steps:
            text = re.sub(r"<([^<>]+)>", lambda m: values.get(m[1], m[0]), step["text"])  # noqa: B023
            yield line, text


def feature_statements(features_dir: Path | str, *, label: str = "features") -> tuple[FeatureStatement, ...]:
    """Every step of every feature file that states a threshold of the catalogue."""
    base = Path(features_dir)
    if not base.is_dir():
        raise DriftError(f"features folder {base} does not exist")
    out: list[FeatureStatement] = []
    for path in sorted(base.glob("*.feature")):
        name = f"{label}/{path.name}"
        try:
            document = Parser().parse(TokenScanner(_read(path, "feature file")))
        except (ParserException, CompositeParserException) as exc:
            raise DriftError(f"{name} is not valid Gherkin: {exc}") from None
        for scenario in _scenarios(document):
            for line, text in _expanded_steps(scenario):
                for spec in CATALOGUE:
                    for pattern in spec.steps:
                        if pattern.scenario and not re.search(pattern.scenario, scenario["name"]):
                            continue
                        for match in re.finditer(pattern.regex, text):
                            op = _OPS.get(match.groupdict().get("op") or "", pattern.op)
                            where = f"{name}:{line}"
                            out.append(
                                FeatureStatement(
                                    spec.id,
                                    name,
                                    scenario["name"],
                                    line,
                                    op,
                                    _value(match["v"], where),
                                    spec.unit,
                                    text,
                                )
                            )
    return tuple(out)


def _accepts_more(plan_op: str, plan_value: float, op: str, value: float) -> bool:
    """Whether ``x op value`` (the feature) accepts an x that ``x plan_op plan_value`` (the plan) does not."""
    if plan_op == "=":
        return op != "=" or value != plan_value
    if op == "=":
        return not _holds(plan_op, value, plan_value)
    upper = {"<=", "<"}
    if (plan_op in upper) != (op in upper):
        return True  # a lower bound where the plan sets an upper one, or the reverse
    if value != plan_value:
        return value > plan_value if plan_op in upper else value < plan_value
    return plan_op in ("<", ">") and op in ("<=", ">=")  # same number, but the feature admits it


def _holds(op: str, x: float, bound: float) -> bool:
    return {"<=": x <= bound, "<": x < bound, ">=": x >= bound, ">": x > bound, "=": x == bound}[op]


def check_drift(
    plan_path: Path | str,
    features_dir: Path | str,
    *,
    plan_label: str = "docs/deployment-plan.md",
    features_label: str = "features",
) -> DriftReport:
    """Compare every feature statement with the plan; report loosened and dropped thresholds."""
    plan = plan_thresholds(plan_path, label=plan_label)
    statements = feature_statements(features_dir, label=features_label)
    by_id = {p.id: p for p in plan}
    problems: list[DriftProblem] = []
    for s in statements:
        p = by_id[s.id]
        if _accepts_more(p.op, p.value, s.op, s.value):
            problems.append(
                DriftProblem(
                    "loosened", p.title, s.feature, s.scenario, s.line, p.describe(), s.describe(), p.source
                )
            )
    stated = {(s.id, s.feature, s.scenario) for s in statements}
    for spec in CATALOGUE:
        p = by_id[spec.id]
        for feature, scenario in spec.sites:
            name = f"{features_label}/{feature}"
            if (spec.id, name, scenario) not in stated:
                problems.append(
                    DriftProblem("dropped", p.title, name, scenario, None, p.describe(), None, p.source)
                )
    return DriftReport(plan, statements, tuple(problems))


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: exit 0 without drift, 1 with drift (each problem on stderr), 2 when a file cannot be read."""
    parser = argparse.ArgumentParser(
        prog="python -m bedrock_release.gates.threshold_drift", description=__doc__
    )
    parser.add_argument("--plan", default="docs/deployment-plan.md", help="the deployment plan")
    parser.add_argument("--features", default="features", help="the folder of the feature files")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    try:
        report = check_drift(args.plan, args.features)
    except DriftError as exc:
        print(f"threshold drift check refused: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary().splitlines()[0])
    for problem in report.problems:
        print(f"threshold drift: {problem}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
