"""Allure results and the import of a real staging run: what allure-pytest and pytest write is read.

One real pytest run (allure-pytest and --junitxml, the way a staging CI job runs its suites) gives
the files; every refusal names the file it is about.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pd_fixtures import RELEASE, write_staging

from bedrock_release.pre_deployment import (
    EvidenceError,
    import_staging_results,
    read_allure_results,
    read_staging_results,
    tree_sha256,
)
from bedrock_release.pre_deployment.layout import SUITES, EvidencePaths

TESTS = """
import pytest
def test_ok(): pass
def test_also_ok(): pass
def test_assertion(): assert 1 == 2
def test_exception(): raise RuntimeError("boom")
@pytest.mark.skip(reason="later")
def test_skipped(): pass
@pytest.fixture
def database(): raise OSError("no database")
def test_setup_error(database): pass
"""


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(JUnit XML, allure-results) of one real pytest run with allure-pytest."""
    root = tmp_path_factory.mktemp("staging-run")
    (root / "test_staging.py").write_text(TESTS)
    junit, allure = root / "junit.xml", root / "allure-results"
    proc = subprocess.run(
        [
            sys.executable,
            *("-m", "pytest", "-q", "-c", "/dev/null", "-p", "no:cacheprovider"),
            *("-p", "no:allure_pytest_bdd", "-p", "allure_pytest", f"--alluredir={allure}"),
            f"--junitxml={junit}",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return junit, allure


def test_real_allure_results_are_counted_as_junit_counts_them(real_run: tuple[Path, Path]) -> None:
    _, allure = real_run
    counts = read_allure_results(allure)
    # Allure: the assertion is failed, the exception and the fixture error are broken.
    assert (counts.tests, counts.passed, counts.failures, counts.errors, counts.skipped) == (6, 2, 1, 2, 1)


def _copy(allure: Path, tmp_path: Path) -> Path:
    target = tmp_path / "allure-results"
    shutil.copytree(allure, target)
    return target


def _a_result(folder: Path) -> Path:
    return next(
        p for p in sorted(folder.glob("*-result.json")) if json.loads(p.read_text())["status"] == "passed"
    )


def test_a_retried_test_counts_once_by_its_last_run(real_run: tuple[Path, Path], tmp_path: Path) -> None:
    folder = _copy(real_run[1], tmp_path)
    failed = next(p for p in folder.glob("*-result.json") if json.loads(p.read_text())["status"] == "failed")
    retry = json.loads(failed.read_text())
    retry.update(status="passed", uuid="retry", stop=retry["stop"] + 1000)
    (folder / "retry-result.json").write_text(json.dumps(retry))
    counts = read_allure_results(folder)
    assert (counts.tests, counts.passed, counts.failures) == (6, 3, 0)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d.update(status="green"), "field status: must be one of passed, failed, broken"),
        (lambda d: d.pop("status"), "field status"),
        (lambda d: d.update(name=""), "field name"),
        (lambda d: d.update(stop="late"), "field stop"),
        (lambda d: d.update(historyId=7), "field historyId"),
    ],
)
def test_a_bad_result_file_is_refused_naming_it(
    real_run: tuple[Path, Path], tmp_path: Path, edit, problem: str
) -> None:
    folder = _copy(real_run[1], tmp_path)
    path = _a_result(folder)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(EvidenceError, match=problem) as info:
        read_allure_results(folder)
    assert info.value.path == str(path)


def test_a_cut_result_file_and_a_missing_folder_are_named(
    real_run: tuple[Path, Path], tmp_path: Path
) -> None:
    folder = _copy(real_run[1], tmp_path)
    path = _a_result(folder)
    path.write_text(path.read_text()[:40])
    with pytest.raises(EvidenceError, match="not valid JSON") as info:
        read_allure_results(folder)
    assert info.value.path == str(path)
    with pytest.raises(EvidenceError, match="missing") as info:
        read_allure_results(tmp_path / "nowhere")
    assert info.value.path == str(tmp_path / "nowhere")


def test_the_folder_digest_sees_any_file_added_changed_or_removed(
    real_run: tuple[Path, Path], tmp_path: Path
) -> None:
    folder = _copy(real_run[1], tmp_path)
    before = tree_sha256(folder)
    path = _a_result(folder)
    path.write_text(path.read_text() + " ")
    changed = tree_sha256(folder)
    (folder / "extra-attachment.txt").write_text("x")
    added = tree_sha256(folder)
    assert len({before, changed, added}) == 3


def _sources(real_run: tuple[Path, Path], **overrides: tuple[Path | None, Path | None]):
    junit, allure = real_run
    pairs = {suite: overrides.get(suite, (junit, allure)) for suite in SUITES}
    return (
        {s: j for s, (j, _) in pairs.items() if j is not None},
        {s: a for s, (_, a) in pairs.items() if a is not None},
    )


def test_a_real_staging_run_is_imported_and_read_back(tiny, real_run: tuple[Path, Path]) -> None:
    junit, allure = _sources(real_run, performance=(real_run[0], None), security=(None, real_run[1]))
    results = import_staging_results(
        RELEASE,
        artifact_sha256=tiny.sha,
        evidence_dir=tiny.evidence,
        junit=junit,
        allure=allure,
        environment="staging",
    )
    assert results.totals.tests == 24
    assert results.totals.passed == 8
    summary = json.loads(tiny.paths.staging_summary.read_text())
    assert set(summary["suites"]["unit"]) >= {"junit", "allure"}
    assert "allure" not in summary["suites"]["performance"]
    assert "junit" not in summary["suites"]["security"]
    assert summary["suites"]["unit"]["method"].startswith("imported from staging: JUnit ")
    assert read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha) == results


def test_allure_results_changed_after_the_import_are_refused(tiny, real_run: tuple[Path, Path]) -> None:
    junit, allure = _sources(real_run)
    import_staging_results(
        RELEASE,
        artifact_sha256=tiny.sha,
        evidence_dir=tiny.evidence,
        junit=junit,
        allure=allure,
        environment="staging",
    )
    folder = EvidencePaths.of(tiny.evidence).allure("integration")
    (folder / "forged-result.json").write_text(json.dumps({"name": "extra", "status": "passed", "stop": 1}))
    with pytest.raises(EvidenceError) as info:
        read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)
    assert info.value.path == str(folder)


def test_junit_and_allure_of_different_runs_are_refused_naming_both(
    tiny, real_run: tuple[Path, Path], tmp_path: Path
) -> None:
    folder = _copy(real_run[1], tmp_path)
    _a_result(folder).unlink()  # one test fewer than the JUnit file has
    junit, allure = _sources(real_run, unit=(real_run[0], folder))
    with pytest.raises(EvidenceError, match="not the same run") as info:
        import_staging_results(
            RELEASE,
            artifact_sha256=tiny.sha,
            evidence_dir=tiny.evidence,
            junit=junit,
            allure=allure,
            environment="s",
        )
    assert info.value.path == str(real_run[0])
    assert str(folder) in info.value.problem
    assert not tiny.paths.staging_summary.exists()  # nothing was imported


def test_an_import_names_the_bad_source_file_and_every_missing_suite(tiny, real_run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<testsuites><testsuite name='x'><testcase name='a'")
    junit, allure = _sources(real_run, integration=(bad, None))
    with pytest.raises(EvidenceError, match="not well-formed XML") as info:
        import_staging_results(
            RELEASE,
            artifact_sha256=tiny.sha,
            evidence_dir=tiny.evidence,
            junit=junit,
            allure=allure,
            environment="s",
        )
    assert info.value.path == str(bad)
    with pytest.raises(ValueError, match=r"no results for the suites \['performance', 'security'\]"):
        import_staging_results(
            RELEASE,
            artifact_sha256=tiny.sha,
            evidence_dir=tiny.evidence,
            junit={"unit": real_run[0], "integration": real_run[0]},
            allure={},
            environment="s",
        )


def test_the_sandbox_shape_still_reads(tiny) -> None:
    write_staging(tiny.paths, tiny.sha)
    assert read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha).totals.tests == 40
