"""The Allure label hook of the root conftest: epic = release, feature = phase, story = gate, severity.

The hook is exercised for real: a throwaway feature runs in a pytest subprocess with the root
conftest loaded as a plugin and allure-pytest-bdd writing results, and the labels are read back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bedrock_release.suite.labels import scenario_labels, severity_of

REPO = Path(__file__).resolve().parents[3]

FEATURE = """@phase1
Feature: Phase 9 - Label Check
  Scenario: A critical gate
    Given nothing
    Then it holds

  @blocker @critical
  Scenario: A gate tagged twice
    Given nothing
    Then it holds

  @normal
  Scenario Outline: Gate <n>
    Given nothing
    Then it holds

    Examples:
      | n |
      | 1 |
"""

BINDING = """from pytest_bdd import given, scenarios, then

scenarios("labels.feature")


@given("nothing")
def nothing() -> None:
    pass


@then("it holds")
def holds() -> None:
    pass
"""


def test_severity_is_the_most_blocking_tag() -> None:
    assert severity_of({"gate", "critical", "blocker"}) == "blocker"
    assert severity_of({"critical"}) == "critical"
    assert severity_of({"gate"}) == "normal"
    labels = dict(
        scenario_labels(release="1.1.0", feature="Phase 3", scenario="Cost budget", tags={"critical"})
    )
    assert labels == {
        "epic": "release 1.1.0",
        "feature": "Phase 3",
        "story": "Cost budget",
        "severity": "critical",
    }


@pytest.fixture
def results(tmp_path: Path) -> list[dict[str, object]]:
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "labels.feature").write_text(FEATURE)
    (tmp_path / "test_labels.py").write_text(BINDING)
    (tmp_path / "pytest.ini").write_text("[pytest]\nbdd_features_base_dir = features/\n")
    target = json.loads((REPO / "tests" / "unit" / "suite" / "data" / "target.json").read_text())
    (tmp_path / "target.json").write_text(json.dumps(target))
    out = tmp_path / "allure"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:allure_pytest", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", str(tmp_path / "pytest.ini"), "--strict-markers",
         "--target", str(tmp_path / "target.json"), "--alluredir", str(out),
         str(tmp_path / "test_labels.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(p.read_text()) for p in out.glob("*-result.json")]


def _labels(result: dict[str, object], name: str) -> list[str]:
    return [lab["value"] for lab in result["labels"] if lab["name"] == name]  # type: ignore[index, union-attr]


def test_the_hook_sets_each_label_once_from_release_feature_scenario_and_tags(
    results: list[dict[str, object]],
) -> None:
    by_name = {r["name"]: r for r in results}
    assert set(by_name) == {"A critical gate", "A gate tagged twice", "Gate 1"}  # outlines are rendered
    for result in results:
        assert _labels(result, "epic") == ["release 1.1.0"]
        assert _labels(result, "feature") == ["Phase 9 - Label Check"]
        assert _labels(result, "story") == [result["name"]]
        assert len(_labels(result, "severity")) == 1
    assert _labels(by_name["A critical gate"], "severity") == ["normal"]
    assert _labels(by_name["A gate tagged twice"], "severity") == ["blocker"]
