"""Staging test results: run the release's four suites on this machine, record them, read them back."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from bedrock_release.pre_deployment._io import (
    SCHEMA,
    Fields,
    format_time,
    read_json_object,
    sha256_file,
    write_json_atomic,
)
from bedrock_release.pre_deployment._pytest_suite import SuiteRun, checkout_tests, run_pytest_suite
from bedrock_release.pre_deployment.allure import read_allure_results, tree_sha256
from bedrock_release.pre_deployment.errors import EvidenceError
from bedrock_release.pre_deployment.junit import (
    CaseResult,
    Outcome,
    SuiteCounts,
    read_junit,
    suite_name,
    write_junit,
)
from bedrock_release.pre_deployment.layout import SUITES, EvidencePaths
from bedrock_release.release import artifact as release_artifact

__all__ = [
    "KIND",
    "SECURITY_TESTS",
    "UNIT_TESTS",
    "StagingResults",
    "import_staging_results",
    "produce_staging_results",
    "read_staging_results",
]

KIND = "staging-test-results"
#: The unit tests of what the artifact holds (support_service, audit_trail).
UNIT_TESTS = ("tests/unit/support_service", "tests/unit/audit_trail")
SECURITY_TESTS = ("tests/security",)
#: What the tests read besides themselves (pytest configuration, documents the tests check).
_TEST_SUPPORT = ("pyproject.toml", "docs")


@dataclass(frozen=True)
class StagingResults:
    """Verified staging results: counts recounted from each suite's JUnit file."""

    release: str
    artifact_sha256: str
    suites: Mapping[str, SuiteCounts]
    totals: SuiteCounts
    pass_rate_pct: float
    produced_at: str
    source: str

    def suites_without_tests(self) -> tuple[str, ...]:
        """Return the suites that ran no test at all."""
        return tuple(name for name, counts in self.suites.items() if counts.tests == 0)


# --- producing -----------------------------------------------------------------------------------


def _logger(path: Path) -> Callable[[str], None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w", encoding="utf-8")

    def log(line: str) -> None:
        handle.write(line + "\n")
        handle.flush()

    return log


def _sandbox_suites(
    wanted: Sequence[str],
    artifact: release_artifact.Artifact,
    releases_dir: Path,
    paths: EvidencePaths,
) -> dict[str, SuiteRun]:
    """Run integration and/or performance against one private sandbox running the release."""
    from bedrock_release.pre_deployment.integration import run_integration_suite  # noqa: PLC0415
    from bedrock_release.pre_deployment.performance import run_performance_suite  # noqa: PLC0415
    from bedrock_release.pre_deployment.staging_target import staging_sandbox  # noqa: PLC0415

    release = artifact.manifest.release
    logs = {suite: _logger(paths.staging_logs / f"{suite}.log") for suite in wanted}
    runs: dict[str, SuiteRun] = {}
    started = time.monotonic()
    try:
        with staging_sandbox(
            release, artifact.manifest.components, releases_dir=releases_dir, log_dir=paths.staging_logs
        ) as target:
            for suite in wanted:
                began = time.monotonic()
                if suite == "integration":
                    cases = run_integration_suite(target, logs[suite])
                    method = "requests through Caddy to a private sandbox running the release on both slots"
                else:
                    cases, record = run_performance_suite(target, logs[suite])
                    write_json_atomic(paths.staging / "performance.json", record)
                    method = f"{record['requests']} requests, {record['method']}"
                write_junit(paths.junit(suite), suite_name(suite, release), cases)
                runs[suite] = SuiteRun(method, time.monotonic() - began)
    except Exception as exc:
        for suite in wanted:
            if suite in runs:
                continue
            message = f"staging sandbox failed: {type(exc).__name__}: {exc}"
            logs[suite](message)
            case = CaseResult("staging_sandbox", f"staging.{suite}", Outcome.ERROR, 0.0, message, "")
            write_junit(paths.junit(suite), suite_name(suite, release), [case])
            runs[suite] = SuiteRun("private staging sandbox (did not run)", time.monotonic() - started)
    return runs


def produce_staging_results(
    release: str,
    *,
    releases_dir: Path,
    evidence_dir: Path,
    repo_root: Path,
    suites: Sequence[str] = SUITES,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> StagingResults:
    """Run the suites against the release artifact and write their JUnit files and the summary.

    Suites not asked for keep their earlier results if the summary is about the same artifact;
    otherwise they are recorded as not run (no file: the reader refuses the summary).
    """
    unknown = sorted(set(suites) - set(SUITES))
    if unknown or not suites:
        raise ValueError(f"suites must be among {', '.join(SUITES)}; got {list(suites)}")
    artifact = release_artifact.load(release, releases_dir)
    paths = EvidencePaths.of(evidence_dir)
    began = time.monotonic()
    runs: dict[str, SuiteRun] = {}
    with tempfile.TemporaryDirectory(prefix="staging-code-") as tmp:
        code = Path(tmp) / "code"
        release_artifact.unpack(release, code, releases_dir=releases_dir)
        tests_root, tests_source = checkout_tests(
            repo_root,
            artifact.manifest.source_commit,
            [*UNIT_TESTS, *_TEST_SUPPORT],
            Path(tmp) / "tests",
        )
        if "unit" in suites:
            run = run_pytest_suite(
                name=suite_name("unit", release),
                test_paths=UNIT_TESTS,
                cwd=tests_root,
                code_dir=code,
                junit=paths.junit("unit"),
                allure=paths.allure("unit"),
                log=paths.staging_logs / "unit.log",
            )
            runs["unit"] = SuiteRun(
                f"{run.method} against the unpacked artifact; {tests_source}", run.duration_s
            )
        sandboxed = [s for s in ("integration", "performance") if s in suites]
        if sandboxed:
            runs.update(_sandbox_suites(sandboxed, artifact, releases_dir, paths))
        if "security" in suites:
            # Scanners, not behaviour tests: run from the repository the release was built from, whose
            # files the secrets scan reads; bandit and the dependency audit read the unpacked artifact.
            run = run_pytest_suite(
                name=suite_name("security", release),
                test_paths=SECURITY_TESTS,
                cwd=repo_root,
                code_dir=code,
                junit=paths.junit("security"),
                allure=paths.allure("security"),
                log=paths.staging_logs / "security.log",
                env={"BEDROCK_SECURITY_CODE_DIR": str(code), "BEDROCK_SECURITY_REPO": str(repo_root)},
            )
            runs["security"] = SuiteRun(
                f"{run.method} (bandit, secrets scan, dependency audit)", run.duration_s
            )
    _write_summary(
        paths,
        release=release,
        sha=artifact.manifest.sha256,
        environment=f"sandbox on {socket.gethostname()} (this machine)",
        runs=runs,
        duration_s=time.monotonic() - began,
        moment=now(),
    )
    return read_staging_results(evidence_dir, release=release, artifact_sha256=artifact.manifest.sha256)


def _previous_suites(paths: EvidencePaths, release: str, sha: str) -> dict[str, Any]:
    try:
        data = json.loads(paths.staging_summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    same = (
        isinstance(data, dict)
        and data.get("release") == release
        and data.get("artifact_sha256") == sha
        and isinstance(data.get("suites"), dict)
    )
    return data["suites"] if same else {}


def _suite_entry(paths: EvidencePaths, suite: str, release: str, run: SuiteRun) -> dict[str, Any]:
    """The summary's entry of one suite: its JUnit file and Allure folder (where it has one), counts."""
    entry: dict[str, Any] = {}
    counts = None
    junit, allure = paths.junit(suite), paths.allure(suite)
    if junit.exists():
        counts = read_junit(junit, suite=suite, release=release)
        entry["junit"] = {"file": f"junit/{suite}.xml", "sha256": sha256_file(junit)}
    if allure.is_dir():
        from_allure = read_allure_results(allure)
        _agree(junit, counts, allure, from_allure)
        counts = counts or from_allure
        entry["allure"] = {"dir": f"allure/{suite}", "sha256": tree_sha256(allure)}
    if counts is None:
        raise EvidenceError(junit, f"suite {suite} left neither JUnit XML nor Allure results")
    return {**entry, **counts.to_dict(), "duration_s": round(run.duration_s, 3), "method": run.method}


def _agree(junit: Path, counts: SuiteCounts | None, allure: Path, from_allure: SuiteCounts) -> None:
    """JUnit and Allure of one run must tell the same story (Allure's broken is JUnit's failure or error)."""
    if counts is None:
        return
    same = (counts.tests, counts.passed, counts.skipped, counts.failures + counts.errors) == (
        from_allure.tests,
        from_allure.passed,
        from_allure.skipped,
        from_allure.failures + from_allure.errors,
    )
    if not same:
        raise EvidenceError(
            junit,
            f"holds {counts.to_dict()}, but the Allure results {allure} hold {from_allure.to_dict()}: "
            "not the same run",
        )


def _write_summary(
    paths: EvidencePaths,
    *,
    release: str,
    sha: str,
    environment: str,
    runs: Mapping[str, SuiteRun],
    duration_s: float,
    moment: datetime,
) -> None:
    suites: dict[str, Any] = {}
    previous = _previous_suites(paths, release, sha)
    totals = SuiteCounts.zero()
    for suite in SUITES:
        if suite in runs:
            suites[suite] = _suite_entry(paths, suite, release, runs[suite])
        elif suite in previous:
            suites[suite] = previous[suite]
        else:
            continue
        totals += SuiteCounts(**{k: suites[suite][k] for k in SuiteCounts.zero().to_dict()})
    summary = {
        "schema": SCHEMA,
        "kind": KIND,
        "release": release,
        "artifact_sha256": sha,
        "environment": environment,
        "produced_at": format_time(moment),
        "duration_s": round(duration_s, 3),
        "suites": suites,
        "totals": totals.to_dict(),
        "pass_rate_pct": round(100.0 * totals.passed / totals.tests, 4) if totals.tests else 0.0,
    }
    write_json_atomic(paths.staging_summary, summary)


# --- importing what a real staging produced --------------------------------------------------------


def import_staging_results(
    release: str,
    *,
    artifact_sha256: str,
    evidence_dir: Path,
    junit: Mapping[str, Path],
    allure: Mapping[str, Path],
    environment: str,
    now: datetime | None = None,
) -> StagingResults:
    """Take a real staging run's JUnit XML files and/or Allure results folders, one per suite.

    Each source is read with the strict readers where it is (an error names the source file), the
    JUnit and Allure of one suite must agree, and only then is it copied under ``staging/`` and the
    summary written; every suite of the plan needs at least one source.
    """
    unknown = sorted((set(junit) | set(allure)) - set(SUITES))
    if unknown:
        raise ValueError(f"unknown suites {unknown}: the staging suites are {', '.join(SUITES)}")
    missing = [suite for suite in SUITES if suite not in junit and suite not in allure]
    if missing:
        raise ValueError(
            f"no results for the suites {missing}: every staging suite needs JUnit XML or Allure"
        )
    for suite in SUITES:
        counts = read_junit(junit[suite], suite=suite, release=release) if suite in junit else None
        if suite in allure:
            _agree(junit.get(suite, Path("-")), counts, allure[suite], read_allure_results(allure[suite]))
    paths = EvidencePaths.of(evidence_dir)
    runs: dict[str, SuiteRun] = {}
    for suite in SUITES:
        sources = []
        target_junit, target_allure = paths.junit(suite), paths.allure(suite)
        target_junit.unlink(missing_ok=True)
        shutil.rmtree(target_allure, ignore_errors=True)
        if suite in junit:
            target_junit.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(junit[suite], target_junit)
            sources.append(f"JUnit {junit[suite]}")
        if suite in allure:
            target_allure.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(allure[suite], target_allure)
            sources.append(f"Allure {allure[suite]}")
        runs[suite] = SuiteRun(f"imported from {environment}: {'; '.join(sources)}", 0.0)
    paths.staging_summary.unlink(missing_ok=True)  # no suite of an earlier summary is kept
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    _write_summary(
        paths,
        release=release,
        sha=artifact_sha256,
        environment=environment,
        runs=runs,
        duration_s=0.0,
        moment=moment,
    )
    return read_staging_results(evidence_dir, release=release, artifact_sha256=artifact_sha256)


# --- reading -------------------------------------------------------------------------------------


def _inside(paths: EvidencePaths, entry: Fields, field: str, name: str) -> Path:
    rel = entry.text(field)
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or rel != name:
        entry.fail(field, f"must be {name}, got {rel!r}")
    return paths.staging / rel


def _read_suite(paths: EvidencePaths, entry: Fields, suite: str, release: str) -> SuiteCounts:
    """One suite's counts from its JUnit XML and/or Allure results, each bound by its SHA-256."""
    if "file" in entry.obj and "junit" not in entry.obj:  # the summary shape before Allure was read
        entry = Fields(
            entry.path,
            {**entry.obj, "junit": {"file": entry.obj["file"], "sha256": entry.obj.get("sha256")}},
            entry.prefix,
        )
    if "junit" not in entry.obj and "allure" not in entry.obj:
        entry.fail("junit", "missing: a suite needs its JUnit XML or its Allure results")
    counts = None
    if "junit" in entry.obj:
        junit = entry.nested("junit")
        path = _inside(paths, junit, "file", f"junit/{suite}.xml")
        counts = read_junit(path, suite=suite, release=release)
        if sha256_file(path) != junit.sha256("sha256"):
            raise EvidenceError(path, "SHA-256 differs from the one in summary.json: changed after the run")
    if "allure" in entry.obj:
        allure = entry.nested("allure")
        folder = _inside(paths, allure, "dir", f"allure/{suite}")
        from_allure = read_allure_results(folder)
        if tree_sha256(folder) != allure.sha256("sha256"):
            raise EvidenceError(
                folder, "SHA-256 of the results differs from the one in summary.json: changed after the run"
            )
        _agree(paths.junit(suite), counts, folder, from_allure)
        counts = counts or from_allure
    assert counts is not None  # noqa: S101 - one of the two was read above
    return counts


def read_staging_results(evidence_dir: Path, *, release: str, artifact_sha256: str) -> StagingResults:
    """Read the summary and every suite's JUnit file; the counts are recounted from the files."""
    paths = EvidencePaths.of(evidence_dir)
    fields = read_json_object(paths.staging_summary, kind=KIND)
    fields.release(release)
    fields.artifact(artifact_sha256)
    produced_at = format_time(fields.time("produced_at"))
    suites_field = fields.nested("suites")
    extra = sorted(set(suites_field.obj) - set(SUITES))
    if extra:
        suites_field.fail(extra[0], f"unknown suite (expected {', '.join(SUITES)})")
    suites: dict[str, SuiteCounts] = {}
    for suite in SUITES:
        if suite not in suites_field.obj:
            suites_field.fail(suite, "missing: the suite was not run")
        entry = suites_field.nested(suite)
        counts = _read_suite(paths, entry, suite, release)
        claimed = {key: entry.whole(key) for key in counts.to_dict()}
        if claimed != counts.to_dict():
            entry.fail("tests", f"summary says {claimed}, the suite's results hold {counts.to_dict()}")
        suites[suite] = counts
    totals = SuiteCounts.zero()
    for counts in suites.values():
        totals += counts
    claimed_totals = fields.nested("totals")
    for key, value in totals.to_dict().items():
        if claimed_totals.whole(key) != value:
            claimed_totals.fail(key, f"says {claimed_totals.obj[key]}, the suites add up to {value}")
    rate = 100.0 * totals.passed / totals.tests if totals.tests else 0.0
    claimed_rate = fields.number("pass_rate_pct")
    if abs(claimed_rate - rate) > 0.01:
        fields.fail("pass_rate_pct", f"says {claimed_rate}, the suites give {rate:.4f}")
    return StagingResults(
        release=release,
        artifact_sha256=artifact_sha256,
        suites=suites,
        totals=totals,
        pass_rate_pct=rate,
        produced_at=produced_at,
        source=str(paths.staging_summary),
    )
