"""Phase time budgets: the inventory's policy (record, warn, fail) judged, journaled and reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from pl_journal_helpers import Clock, journal, started

from bedrock_release.pipeline.phase_budget import DEFAULT_POLICY, BudgetPolicy, judge
from bedrock_release.report.builder import write_report
from bedrock_release.report.model import PhaseEntry, Report, ReportError
from bedrock_release.report.render import load_view, render_markdown


def test_the_default_policy_is_warn() -> None:
    assert DEFAULT_POLICY is BudgetPolicy.WARN
    assert [p.value for p in BudgetPolicy] == ["record", "warn", "fail"]


@pytest.mark.parametrize(
    ("policy", "fails", "warns", "says"),
    [
        ("record", False, False, "policy record: recorded in the journal and the report"),
        ("warn", False, True, "policy warn: a warning; the phase counts as passed"),
        ("fail", True, False, "policy fail: the phase fails"),
    ],
)
def test_an_overrun_is_judged_by_the_policy(policy: str, fails: bool, warns: bool, says: str) -> None:
    verdict = judge(3, 61.0, 60.0, policy)
    assert verdict.over
    assert (verdict.fails, verdict.warns) == (fails, warns)
    assert verdict.message() == f"phase 3 took 61.0 s, over its budget of 60.0 s ({says})"


@pytest.mark.parametrize("policy", ["record", "warn", "fail"])
def test_a_phase_within_its_budget_neither_warns_nor_fails(policy: str) -> None:
    verdict = judge(3, 60.0, 60.0, policy)  # exactly at the budget is within it
    assert (verdict.over, verdict.fails, verdict.warns) == (False, False, False)
    assert verdict.message() == "phase 3 took 60.0 s, within its budget of 60.0 s"


@pytest.mark.parametrize("policy", ["", "Warn", "abort", None])
def test_an_unknown_policy_is_refused_naming_the_three(policy: object) -> None:
    with pytest.raises(ValueError, match=r"must be one of record, warn, fail"):
        judge(1, 1.0, 2.0, policy)  # type: ignore[arg-type]


def test_the_report_shows_the_policy_and_each_overrun(tmp_path: Path) -> None:
    clock = Clock()
    j = journal(tmp_path, clock)
    started(j, scale=0.05)
    for pid in range(1, 8):
        j.phase_started(pid)
        seconds = 120.0 if pid == 3 else 10.0  # phase 3: 20 min x 0.05 = 60 s budget
        clock.advance(seconds)
        budget = PhaseEntry.for_phase(pid, "passed", seconds, 0.05).budget_s
        j.phase_finished(pid, "passed", duration_s=seconds, budget_s=budget, budget_policy="warn")
    j.run_finished("deployed")
    path, report = write_report(tmp_path)
    assert [p.budget_policy for p in report.phases] == ["warn"] * 7
    assert [p.id for p in report.phases if p.over_budget] == [3]
    assert Report.load(path) == report
    text = render_markdown(load_view(tmp_path))
    assert "- **Phase budget policy**: warn (over budget: phase 3)" in text
    assert "| 3 | SLO Gate Validation | passed | 120 | 60 | yes (warn) |" in text


def test_a_report_with_an_unknown_policy_is_refused() -> None:
    entry = PhaseEntry.for_phase(2, "passed", 1.0, 0.05, "warn").to_dict()
    assert entry["budget_policy"] == "warn"
    with pytest.raises(ReportError, match=r"phases\[1\]\.budget_policy: expected one of record, warn, fail"):
        PhaseEntry.from_dict({**entry, "budget_policy": "ignore"}, "phases[1]")
    assert (
        PhaseEntry.from_dict({k: v for k, v in entry.items() if k != "budget_policy"}, "p").budget_policy
        is None
    )
