"""Threshold drift: a feature that loosens or drops one of the plan's thresholds is refused, naming it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_release import plan as plan_constants
from bedrock_release.gates.threshold_drift import (
    CATALOGUE,
    DriftError,
    _accepts_more,
    check_drift,
    main,
    plan_thresholds,
)

REPO = Path(__file__).resolve().parents[3]
PLAN = REPO / "docs" / "deployment-plan.md"
FEATURES = REPO / "features"


@pytest.fixture
def features(tmp_path: Path) -> Path:
    """A private copy of features/ to edit."""
    return Path(shutil.copytree(FEATURES, tmp_path / "features"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_repository_features_keep_every_plan_threshold() -> None:
    report = check_drift(PLAN, FEATURES)
    assert report.ok, report.summary()
    assert len(report.plan) == len(CATALOGUE) == 20
    assert {s.id for s in report.statements} == {p.id for p in report.plan}


def test_plan_values_read_from_the_plan_text_agree_with_the_plan_constants() -> None:
    """bedrock_release.plan is the plan as code: it may not drift from the plan's text either."""
    read = {p.id: p for p in plan_thresholds(PLAN)}
    for gate in plan_constants.PLAN_SLO_GATES:
        assert (read[gate.name].op, read[gate.name].value, read[gate.name].unit) == (
            gate.comparison,
            gate.threshold,
            gate.unit,
        )
    assert read["flag-monitoring-period"].value * 60 == plan_constants.FLAG_MONITORING_S
    assert read["error-rate-window"].value * 60 == plan_constants.ROLLING_WINDOW_S
    for tier, spec in plan_constants.ROLLBACK_TIERS.items():
        assert read[f"rollback-{tier.value}-time"].value * 60 == spec.target_s


def test_every_number_of_the_plans_gates_and_criteria_is_catalogued() -> None:
    """Each threshold-like number in the plan's gate, activation, rollback and success sections is checked."""
    text = PLAN.read_text(encoding="utf-8")
    covered = [m.span() for spec in CATALOGUE for m in re.finditer(spec.plan, text)]
    sections = [
        ("**Gate Criteria**", "### Phase 2"),
        ("**SLO Gates**", "**Validation Process**"),
        ("**Activation Strategy**", "### Phase 6"),
        ("### Rollback Procedures", "## Success Criteria"),
        ("## Success Criteria", "## Post-Deployment"),
    ]
    # Stated in the features as "no personal data reached Bedrock or the MCP server": a count, not a percent.
    not_numeric_in_features = {"100% GDPR compliance"}
    loose = []
    for begin, end in sections:
        lo, hi = text.index(begin), text.index(end, text.index(begin))
        for m in re.finditer(
            r"\d+(?:\.\d+)?\s*(?:%|ms\b|s\b|-minute|minutes|hours)|\b[Zz]ero\b", text[lo:hi]
        ):
            at = lo + m.start()
            if any(a <= at < b for a, b in covered):
                continue
            line = text[text.rfind("\n", 0, at) + 1 : text.find("\n", at)]
            if not any(ok in line for ok in not_numeric_in_features):
                loose.append(line.strip())
    assert loose == []


def test_a_loosened_latency_names_file_scenario_plan_and_feature_values(features: Path) -> None:
    _edit(features / "slo_gates.feature", "is at most 1500 ms", "is at most 2000 ms")
    report = check_drift(PLAN, features)
    assert not report.ok
    [problem] = report.problems
    text = str(problem)
    assert problem.kind == "loosened"
    assert "features/slo_gates.feature:" in text
    assert "scenario 'P95 latency of generation requests'" in text
    assert "at most 1500 ms" in text
    assert "at most 2000 ms" in text
    assert "docs/deployment-plan.md:56" in text


def test_a_weaker_operator_with_the_same_number_is_loosening(features: Path) -> None:
    _edit(features / "pre_deployment.feature", "is above 95 percent", "is at least 95 percent")
    [problem] = check_drift(PLAN, features).problems
    assert "staging test success rate is at least 95 percent" in str(problem)
    assert "more than 95 percent" in str(problem)


@pytest.mark.parametrize(
    ("feature", "old", "new", "scenario"),
    [
        (
            "production_validation.feature",
            "at least 80 percent over at least 200 lookups",
            "at least 70 percent over at least 200 lookups",
            "Performance Optimization - caching and optimization features",
        ),
        (
            "monitoring.feature",
            "| cost-budget           | 80 ",
            "| cost-budget           | 95 ",
            "Performance alert",
        ),
        ("rollback.feature", "finished in less than 10", "finished in less than 15", "Partial rollback"),
        (
            "flag_activation.feature",
            "lasted at least 2 minutes",
            "lasted at least 1 minutes",
            "The flags were",
        ),
        ("slo_gates.feature", "every 5-minute rolling window", "every 1-minute rolling window", "Error rate"),
        ("success_criteria.feature", "records 0 customer", "records 2 customer", "Zero customer-impacting"),
        ("component_deployment.feature", "at most 1.0 percent", "at most 5.0 percent", "The traffic split"),
    ],
)
def test_loosening_anywhere_is_refused(
    features: Path, feature: str, old: str, new: str, scenario: str
) -> None:
    _edit(features / feature, old, new)
    problems = check_drift(PLAN, features).problems
    assert [p.kind for p in problems] == ["loosened"]
    assert problems[0].feature == f"features/{feature}"
    assert problems[0].scenario.startswith(scenario)


def test_a_dropped_threshold_names_the_scenario_that_no_longer_states_it(features: Path) -> None:
    _edit(
        features / "slo_gates.feature",
        "Then the current spend is at most 80 percent of the allocated budget",
        "Then the current spend is reported",
    )
    [problem] = check_drift(PLAN, features).problems
    assert problem.kind == "dropped"
    assert str(problem) == (
        "features/slo_gates.feature, scenario 'Cost budget': no longer states the plan's threshold current "
        "spend against the allocated budget (at most 80 percent, docs/deployment-plan.md:58): dropped"
    )


def test_a_removed_feature_file_drops_its_thresholds(features: Path) -> None:
    (features / "rollback.feature").unlink()
    problems = check_drift(PLAN, features).problems
    assert {p.kind for p in problems} == {"dropped"}
    assert len(problems) == 6  # three error-rate sites and three target times


def test_tightening_is_allowed(features: Path) -> None:
    _edit(features / "slo_gates.feature", "is at most 1500 ms", "is at most 1200 ms")
    _edit(features / "slo_gates.feature", "is at least 80 percent", "is at least 90 percent")
    assert check_drift(PLAN, features).ok


def test_a_changed_unit_is_not_silently_accepted(features: Path) -> None:
    _edit(features / "slo_gates.feature", "is at most 1500 ms", "is at most 1.5 s")
    [problem] = check_drift(PLAN, features).problems
    assert problem.kind == "dropped"
    assert problem.scenario == "P95 latency of generation requests"


def test_a_plan_that_no_longer_states_a_threshold_fails_closed(tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text(PLAN.read_text().replace("≥ 80% for frequent queries", "high for frequent queries"))
    with pytest.raises(DriftError, match="no longer states the cache hit rate of frequent queries"):
        check_drift(plan, FEATURES)


@pytest.mark.parametrize(
    ("plan_text", "feature_text", "needle"),
    [
        (None, "Feature: x\n", "does not exist"),
        ("", "Feature: x\n", "is empty"),
        ("plan", "Feature: x\n  Scenario: y\n    Then z\n  Examples broken |\n", "not valid Gherkin"),
    ],
)
def test_unreadable_inputs_are_refused(tmp_path: Path, plan_text, feature_text: str, needle: str) -> None:
    plan = tmp_path / "plan.md"
    if plan_text is not None:
        plan.write_text(plan_text if plan_text != "plan" else PLAN.read_text())
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "broken.feature").write_text(feature_text)
    with pytest.raises(DriftError, match=needle):
        check_drift(plan, tmp_path / "features")


def test_cli_exit_codes(features: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--plan", str(PLAN), "--features", str(FEATURES)]) == 0
    _edit(features / "slo_gates.feature", "is at least 80 percent", "is at least 60 percent")
    assert main(["--plan", str(PLAN), "--features", str(features)]) == 1
    assert "loosened" in capsys.readouterr().err
    assert main(["--plan", str(features / "nope.md"), "--features", str(features)]) == 2


_OPS = st.sampled_from(["<=", "<", ">=", ">", "="])


@given(_OPS, st.integers(0, 20), _OPS, st.integers(0, 20))
def test_loosening_means_the_feature_accepts_a_value_the_plan_refuses(
    plan_op: str, plan_value: int, op: str, value: int
) -> None:
    """Checked against brute force on a grid of halves: the feature's pass set must lie in the plan's."""

    def holds(o: str, x: float, bound: float) -> bool:
        return {"<=": x <= bound, "<": x < bound, ">=": x >= bound, ">": x > bound, "=": x == bound}[o]

    grid = [x / 2 for x in range(-4, 46)]
    escapes = any(holds(op, x, value) and not holds(plan_op, x, plan_value) for x in grid)
    assert _accepts_more(plan_op, plan_value, op, value) == escapes
