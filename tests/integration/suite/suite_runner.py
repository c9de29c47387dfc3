"""Run the verification suite as the pipeline does (a pytest subprocess) and read what it wrote."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import ElementTree

from sandbox.settings import REPO_ROOT


@dataclass(frozen=True)
class Case:
    """One scenario's outcome in the JUnit XML."""

    name: str
    outcome: str  # passed, failed, error, skipped
    message: str
    seconds: float


@dataclass(frozen=True)
class SuiteRun:
    """A pytest run of tests/features: exit status, per-scenario outcomes, output, where it wrote."""

    rc: int
    cases: tuple[Case, ...]
    output: str
    wall_s: float
    out_dir: Path
    files: Mapping[str, Path] = field(default_factory=dict)

    def case(self, fragment: str) -> Case:
        """The single case whose test name contains the fragment (scenario words, spaces as _)."""
        wanted = fragment.lower().replace(" ", "_").replace("-", "")
        found = [c for c in self.cases if wanted in c.name]
        assert len(found) == 1, (
            f"{fragment!r} matches {[c.name for c in found]} among {[c.name for c in self.cases]}"
        )
        return found[0]

    def outcomes(self) -> dict[str, str]:
        """Scenario name -> outcome."""
        return {c.name: c.outcome for c in self.cases}


def _cases(junit: Path) -> tuple[Case, ...]:
    if not junit.exists():
        return ()
    out = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in {"failure", "error", "skipped"}:
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = f"{child.get('message', '')}\n{child.text or ''}"
        out.append(Case(case.get("name", ""), outcome, message, float(case.get("time", 0))))
    return tuple(out)


def run_suite(
    target: Path,
    out_dir: Path,
    env: Mapping[str, str],
    *,
    markers: str | None = None,
    extra: Sequence[str] = (),
    step: str = "run",
    timeout_s: float = 1200,
) -> SuiteRun:
    """``python -m pytest tests/features -m <markers> --target ...`` writing Allure, JUnit and cucumber."""
    files = {
        "junit": out_dir / "junit" / f"{step}.xml",
        "cucumber": out_dir / "cucumber" / f"{step}.json",
        "allure": out_dir / "allure-results",
    }
    for path in files.values():
        (path if path.suffix == "" else path.parent).mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pytest", "tests/features", "--target", str(target),
        "--alluredir", str(files["allure"]), "--junitxml", str(files["junit"]),
        "--cucumberjson", str(files["cucumber"]), "-p", "no:cacheprovider", "-q", *extra,
    ]  # fmt: skip
    if markers:
        command[4:4] = ["-m", markers]
    started = time.monotonic()
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return SuiteRun(
        done.returncode,
        _cases(files["junit"]),
        done.stdout + done.stderr,
        time.monotonic() - started,
        out_dir,
        files,
    )
