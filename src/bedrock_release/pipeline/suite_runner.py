"""Running the verification suite exactly as docs/contracts.md "Running the verification suite" says.

Exit status 0 is a go; anything else is a no-go: tests failed (1), interrupted (2), internal error
(3), usage error (4), **no tests collected (5)** and a timeout alike. Output goes to a log file in the
run's results folder, never into the process environment or Ansible's output beyond a short tail.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import parse as parse_xml

__all__ = ["RC_MEANING", "SuiteRun", "SuiteStep", "build_argv", "run_step", "summarise_junit"]

RC_MEANING = {
    0: "all selected tests passed",
    1: "tests failed",
    2: "the run was interrupted",
    3: "pytest hit an internal error",
    4: "pytest was called wrongly (usage error)",
    5: "no tests were collected for this marker expression",
}
#: The only pytest plugins a suite step loads. Entry-point autoloading is off for the step's process:
#: the dev tools in the same environment (hypothesis, xdist, anyio, locust's plugin) cost about 3 s of
#: start-up per step and add nothing to the gates (docs/benchmarks.md).
SUITE_PLUGINS = ("pytest_bdd.plugin", "allure_pytest_bdd.plugin")
_STEP = re.compile(r"^[A-Za-z0-9_.-]+$")
_TAIL_LINES = 40


@dataclass(frozen=True)
class SuiteStep:
    """One pipeline step that runs the suite: its name, marker expression and where results go."""

    step: str
    markers: str
    target: Path
    run_dir: Path
    test_paths: tuple[str, ...] = ("tests/features",)

    def __post_init__(self) -> None:
        if not _STEP.fullmatch(self.step):
            raise ValueError(f"step name {self.step!r} must be letters, digits, '.', '_' or '-'")
        if not self.markers.strip():
            raise ValueError("a suite step needs a marker expression")

    @property
    def junit(self) -> Path:
        """``runs/<run-id>/junit/<step>.xml``."""
        return self.run_dir / "junit" / f"{self.step}.xml"

    @property
    def cucumber(self) -> Path:
        """``runs/<run-id>/cucumber/<step>.json``."""
        return self.run_dir / "cucumber" / f"{self.step}.json"

    @property
    def allure(self) -> Path:
        """``runs/<run-id>/allure-results``."""
        return self.run_dir / "allure-results"

    @property
    def log(self) -> Path:
        """The step's pytest output."""
        return self.run_dir / "results" / f"suite-{self.step}.log"


def build_argv(step: SuiteStep, python: str = sys.executable) -> list[str]:
    """Return the contract's command line for a step."""
    return [
        python,
        "-m",
        "pytest",
        *(arg for plugin in SUITE_PLUGINS for arg in ("-p", plugin)),
        *step.test_paths,
        "-m",
        step.markers,
        "--target",
        str(step.target),
        "--alluredir",
        str(step.allure),
        "--junitxml",
        str(step.junit),
        "--cucumberjson",
        str(step.cucumber),
    ]


def summarise_junit(path: Path) -> dict[str, int]:
    """Return {tests, failures, errors, skipped, passed} from a junit XML (zeros when absent)."""
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    try:
        # defusedxml: no entity expansion, even though the file is our own pytest's output.
        root = parse_xml(path).getroot()
    except (OSError, ParseError, DefusedXmlException):
        return {**counts, "passed": 0}
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for suite in suites:
        for key in counts:
            raw = suite.get(key, "0") or "0"
            if not raw.isdigit():  # a count that is not a count: nothing in the file can be trusted
                return {**dict.fromkeys(counts, 0), "passed": 0}
            counts[key] += int(raw)
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return {**counts}


@dataclass(frozen=True)
class SuiteRun:
    """The outcome of one step: exit status, verdict, counts and where the evidence is."""

    step: str
    markers: str
    rc: int
    duration_s: float
    summary: Mapping[str, Any]
    log: str
    tail: str

    @property
    def go(self) -> bool:
        """Return True only for exit 0 with at least one test run (fails closed)."""
        return self.rc == 0 and int(self.summary.get("tests", 0)) > 0

    @property
    def verdict(self) -> str:
        """Return ``go`` or ``no-go``."""
        return "go" if self.go else "no-go"

    def reason(self) -> str:
        """Return one line saying why the step is a go or no-go."""
        counts = ", ".join(f"{k} {self.summary.get(k, 0)}" for k in ("tests", "passed", "failures", "errors"))
        meaning = RC_MEANING.get(self.rc, "pytest did not finish (timeout or signal)")
        if self.rc == 0 and not self.go:
            meaning = "pytest exited 0 but ran no test"
        where = f"suite step {self.step} (-m '{self.markers}')"
        return f"{where}: exit {self.rc}: {meaning} ({counts}); log {self.log}"

    def to_dict(self) -> dict[str, Any]:
        """Return the module result / journal form."""
        return {
            "step": self.step,
            "markers": self.markers,
            "rc": self.rc,
            "go": self.go,
            "verdict": self.verdict,
            "duration_s": self.duration_s,
            "summary": {**self.summary, "reason": self.reason()},
            "log": self.log,
            "tail": self.tail,
        }


def run_step(
    step: SuiteStep,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    python: str = sys.executable,
    extra_args: Sequence[str] = (),
) -> SuiteRun:
    """Run pytest for a step; never raises for a failing suite (the verdict says no-go)."""
    for folder in (step.junit.parent, step.cucumber.parent, step.allure, step.log.parent):
        folder.mkdir(parents=True, exist_ok=True)
    step.junit.unlink(missing_ok=True)
    argv = [*build_argv(step, python), *extra_args]
    started = time.monotonic()
    with step.log.open("w", encoding="utf-8") as log:
        log.write("$ " + " ".join(argv) + "\n")
        log.flush()
        try:
            proc = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
                argv,
                cwd=cwd,
                env={**os.environ, **env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
            )
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            log.write(f"\n[pipeline] pytest exceeded {timeout_s:.0f} s and was killed\n")
            rc = -9
    duration = round(time.monotonic() - started, 3)
    lines = step.log.read_text(encoding="utf-8", errors="replace").splitlines()
    return SuiteRun(
        step=step.step,
        markers=step.markers,
        rc=rc,
        duration_s=duration,
        summary=summarise_junit(step.junit),
        log=str(step.log),
        tail="\n".join(lines[-_TAIL_LINES:]),
    )
