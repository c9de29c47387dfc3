"""bedrock_release.pipeline.suite_runner: the contract's command line; only exit 0 with tests is a go."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bedrock_release.pipeline.suite_runner import SuiteStep, build_argv, run_step, summarise_junit

_TESTS = """
import pytest

@pytest.mark.good
def test_good():
    assert True

@pytest.mark.bad
def test_bad():
    assert False

@pytest.mark.slow_one
def test_slow():
    import time
    time.sleep(30)
"""
_CONFTEST = """
def pytest_addoption(parser):
    parser.addoption("--target")  # --alluredir and --cucumberjson come from allure-pytest-bdd and pytest-bdd

def pytest_configure(config):
    for name in ("good", "bad", "slow_one", "none"):
        config.addinivalue_line("markers", name)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny project whose tests take the contract's options."""
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "checks_x.py").write_text(_TESTS)
    (tmp_path / "suite" / "conftest.py").write_text(_CONFTEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:allure_pytest\n")
    return tmp_path


def _step(project: Path, name: str, markers: str) -> SuiteStep:
    return SuiteStep(name, markers, project / "target.json", project / "run", ("suite/checks_x.py",))


def test_command_line_is_the_contracts(tmp_path: Path) -> None:
    step = SuiteStep("phase3", "phase3", tmp_path / "t.json", tmp_path / "run")
    argv = build_argv(step, "python")
    assert argv == [
        "python", "-m", "pytest",
        "-p", "pytest_bdd.plugin", "-p", "allure_pytest_bdd.plugin",
        "tests/features", "-m", "phase3",
        "--target", str(tmp_path / "t.json"),
        "--alluredir", str(tmp_path / "run" / "allure-results"),
        "--junitxml", str(tmp_path / "run" / "junit" / "phase3.xml"),
        "--cucumberjson", str(tmp_path / "run" / "cucumber" / "phase3.json"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("markers", "rc", "verdict", "meaning"),
    [
        ("good", 0, "go", "all selected tests passed"),
        ("bad", 1, "no-go", "tests failed"),
        ("none", 5, "no-go", "no tests were collected"),
    ],
)
def test_exit_status_decides(project: Path, markers: str, rc: int, verdict: str, meaning: str) -> None:
    result = run_step(
        _step(project, markers, markers), cwd=project, env={}, timeout_s=60, python=sys.executable
    )
    assert result.rc == rc
    assert result.verdict == verdict
    assert meaning in result.reason()
    assert Path(result.log).exists()
    if rc == 0:
        assert result.summary["tests"] == 1


def test_timeout_is_a_no_go(project: Path) -> None:
    result = run_step(
        _step(project, "slow", "slow_one"), cwd=project, env={}, timeout_s=3, python=sys.executable
    )
    assert result.rc == -9
    assert not result.go
    assert "timeout" in result.reason()


def test_step_names_and_markers_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="step name"):
        SuiteStep("a b", "x", tmp_path, tmp_path)
    with pytest.raises(ValueError, match="marker expression"):
        SuiteStep("ab", " ", tmp_path, tmp_path)


@pytest.mark.parametrize(
    ("xml", "tests"),
    [
        ('<testsuite tests="3" failures="1" errors="0" skipped="0"/>', 3),
        ('<testsuites><testsuite tests="2"/><testsuite tests="1" skipped="1"/></testsuites>', 3),
        ('<testsuite tests="lots" failures="0"/>', 0),
        ('<testsuite tests="-1"/>', 0),
        ("<testsuite", 0),
    ],
)
def test_junit_counts_are_read_or_nothing_is_trusted(tmp_path: Path, xml: str, tests: int) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(xml)
    counts = summarise_junit(path)
    assert counts["tests"] == tests
    assert counts["passed"] == tests - counts["failures"] - counts["errors"] - counts["skipped"]
