"""Run a pytest suite as a subprocess against the unpacked artifact, writing its JUnit XML and log."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bedrock_release.pre_deployment._origin_plugin import CODE_DIR_VARIABLE
from bedrock_release.pre_deployment.junit import CaseResult, Outcome, write_junit

__all__ = ["SuiteRun", "checkout_tests", "run_pytest_suite"]

#: pytest's exit codes that mean the tests ran (0 all passed, 1 some failed).
_RAN = (0, 1)


@dataclass(frozen=True)
class SuiteRun:
    """How a suite was run and how long it took."""

    method: str
    duration_s: float
    exit_code: int | None = None


def checkout_tests(repo_root: Path, commit: str | None, paths: Sequence[str], dest: Path) -> tuple[Path, str]:
    """Return (folder holding the tests, description): the artifact's source commit if git has it.

    A dirty or unknown commit cannot be checked out faithfully; then the working tree is used and
    the description says so.
    """
    if commit and not commit.endswith("+dirty"):
        proc = subprocess.run(  # noqa: S603 - fixed argv
            ["git", "-C", str(repo_root), "archive", "--format=tar", commit, *paths],  # noqa: S607
            capture_output=True,
            check=False,
            timeout=120,
        )
        if proc.returncode == 0:
            dest.mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
                archive.extractall(dest, filter="data")
            return dest, f"tests from the artifact's source commit {commit[:12]} (git archive)"
        reason = f"git archive {commit[:12]} failed: {proc.stderr.decode(errors='replace').strip()[:200]}"
    else:
        reason = "the artifact was built from uncommitted sources" if commit else "no source commit recorded"
    return repo_root, f"tests from the working tree ({reason})"


def run_pytest_suite(
    *,
    name: str,
    test_paths: Sequence[str],
    cwd: Path,
    code_dir: Path,
    junit: Path,
    log: Path,
    allure: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 600.0,
) -> SuiteRun:
    """Run pytest with the artifact first on PYTHONPATH; a run that could not start is an error case.

    With ``allure`` the run also writes its Allure results there (allure-pytest, as a real staging
    run does); the project's pytest configuration disables allure-pytest, whose ``--alluredir``
    clashes with allure-pytest-bdd's, so this run swaps the two.
    """
    junit.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        **(env or {}),
        "PYTHONPATH": os.pathsep.join([str(code_dir), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "PYTHONDONTWRITEBYTECODE": "1",
        CODE_DIR_VARIABLE: str(code_dir),
    }
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *test_paths,
        "-p",
        "no:cacheprovider",
        "-p",
        "bedrock_release.pre_deployment._origin_plugin",
        "-o",
        f"junit_suite_name={name}",
        f"--junitxml={junit}",
        "-q",
    ]
    if allure is not None:
        shutil.rmtree(allure, ignore_errors=True)
        argv += ["-p", "no:allure_pytest_bdd", "-p", "allure_pytest", f"--alluredir={allure}"]
    started = time.monotonic()
    junit.unlink(missing_ok=True)
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
            argv, cwd=cwd, env=environment, capture_output=True, text=True, check=False, timeout=timeout_s
        )
        output, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = f"{exc.stdout or ''}{exc.stderr or ''}\ntimed out after {timeout_s:.0f} s", None
    duration = time.monotonic() - started
    log.write_text(f"$ {' '.join(argv)}\n(cwd {cwd})\n\n{output}\nexit code: {code}\n", encoding="utf-8")
    if code not in _RAN or not junit.exists():
        # The suite did not run to completion: say so as an error case, never as an empty pass.
        message = f"pytest did not complete (exit code {code}); see logs/{log.name}"
        tail = output[-4000:]
        write_junit(junit, name, [CaseResult("pytest_run", name, Outcome.ERROR, duration, message, tail)])
        if allure is not None:
            shutil.rmtree(allure, ignore_errors=True)  # a partial run's results would tell another story
    return SuiteRun(method=f"pytest {' '.join(test_paths)}", duration_s=duration, exit_code=code)
