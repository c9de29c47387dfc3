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


# --- bedrock-release evidence import: a real staging run's files, end to end ----------------------


def _bandit_json(tmp_path: Path) -> Path:
    code = tmp_path / "code" / "pkg"
    code.mkdir(parents=True, exist_ok=True)
    (code / "__init__.py").write_text('"""A real module for a real bandit run."""\n\nVALUE = 1\n')
    out = tmp_path / "bandit.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", str(code), "-f", "json", "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def _signed_records(tiny, tmp_path: Path) -> tuple[Path, Path]:
    """A training record and a drill record, signed with the sandbox's Operations Team key."""
    from datetime import timedelta  # noqa: PLC0415

    from pd_fixtures import NOW  # noqa: PLC0415

    from bedrock_release.pre_deployment import (  # noqa: PLC0415
        DrillTier,
        ensure_sandbox_keys,
        produce_training_record,
        write_drill_record,
    )
    from bedrock_release.release.approvals import load_private_key  # noqa: PLC0415

    ensure_sandbox_keys(tiny.keys)
    lms = tmp_path / "lms"
    produce_training_record(RELEASE, evidence_dir=lms, roster_path=tiny.roster, keys_dir=tiny.keys, now=NOW)
    write_drill_record(
        lms,
        release=RELEASE,
        artifact_sha256=tiny.sha,
        environment="staging",
        time_scale=1.0,
        tiers=[
            DrillTier("immediate", "drill", 40.0, 300.0, True),
            DrillTier("partial", "drill", 90.0, 600.0, True),
            DrillTier("full", "drill", 600.0, 1800.0, True),
        ],
        started_at=NOW,
        finished_at=NOW + timedelta(minutes=15),
        signing_key=load_private_key(tiny.keys / "private" / "operations.key"),
    )
    paths = EvidencePaths.of(lms)
    return paths.training, paths.drill


def _import_argv(
    tiny, real_run, bandit: Path, pip_audit: Path, *extra: str, scanned_at: str = "2026-01-01T00:00:00Z"
) -> list[str]:
    junit, allure = real_run
    argv = ["evidence", "import", "--release", RELEASE, "--releases-dir", str(tiny.releases)]
    argv += ["--environment", "staging", "--bandit", str(bandit), "--pip-audit", str(pip_audit)]
    argv += ["--scanned-at", scanned_at, "--trusted-keys", str(tiny.keys / "trusted")]
    for suite in SUITES:
        argv += ["--junit", f"{suite}={junit}", "--allure", f"{suite}={allure}"]
    return [*argv, *extra]


def _pip_audit_json(tmp_path: Path) -> Path:
    path = tmp_path / "pip-audit.json"
    path.write_text(
        json.dumps({"dependencies": [{"name": "pyyaml", "version": "6.0.2", "vulns": []}], "fixes": []})
    )
    return path


def test_the_import_command_takes_a_real_staging_run(tiny, real_run, tmp_path: Path, capsys) -> None:
    from bedrock_release.cli import main  # noqa: PLC0415

    training, drill = _signed_records(tiny, tmp_path)
    argv = _import_argv(tiny, real_run, _bandit_json(tmp_path), _pip_audit_json(tmp_path))
    assert main([*argv, "--training", str(training), "--drill", str(drill)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "staging pass rate 33.33% over 24 tests" in out
    check = ["evidence", "check", "--release", RELEASE, "--releases-dir", str(tiny.releases)]
    check += ["--trusted-keys", str(tiny.keys / "trusted"), "--json"]
    assert main(check) == 1  # the imported run fails its criterion; the assessment is not there
    pieces = {p["piece"]: p for p in json.loads(capsys.readouterr().out)}
    assert pieces["staging"]["status"] == "fail"  # 8 of 24 passed: read, and below 95 %
    assert pieces["training"]["status"] == "ok"
    assert pieces["drill"]["status"] == "ok"
    assert "signed by ed25519:" in pieces["drill"]["detail"]
    assert pieces["business-impact"]["status"] == "inconclusive"
    # A scan of 2026-01-01 is stale: inconclusive, naming the missing acceptance.
    assert pieces["security"]["status"] == "inconclusive"
    assert (
        "risk-acceptance.json: missing; the advisory database PyPI vulnerability service"
        in pieces["security"]["detail"]
    )


def test_an_import_refuses_a_record_signed_by_the_wrong_key_naming_the_source(
    tiny, real_run, tmp_path: Path, capsys
) -> None:
    from bedrock_release.cli import main  # noqa: PLC0415
    from bedrock_release.pre_deployment._signing import sign_document  # noqa: PLC0415
    from bedrock_release.release.approvals import load_private_key  # noqa: PLC0415

    _, drill = _signed_records(tiny, tmp_path)
    data = json.loads(drill.read_text())
    body = {k: v for k, v in data.items() if k not in ("key_id", "signature")}
    drill.write_text(json.dumps(sign_document(load_private_key(tiny.keys / "private" / "cto.key"), body)))
    argv = _import_argv(
        tiny, real_run, _bandit_json(tmp_path), _pip_audit_json(tmp_path), "--drill", str(drill)
    )
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {drill}: signed with key ")
    assert "not a trusted Operations Team lead key" in err
    assert not tiny.paths.drill.exists()


def test_an_import_refuses_a_skipped_pip_audit_and_a_bad_pair(tiny, real_run, tmp_path: Path, capsys) -> None:
    from bedrock_release.cli import main  # noqa: PLC0415

    skipped = tmp_path / "skipped.json"
    skipped.write_text(
        json.dumps({"dependencies": [{"name": "x", "skip_reason": "not on PyPI"}], "fixes": []})
    )
    assert main(_import_argv(tiny, real_run, _bandit_json(tmp_path), skipped)) == 2
    assert f"error: {skipped}: 1 dependencies were not audited" in capsys.readouterr().err
    argv = _import_argv(tiny, real_run, _bandit_json(tmp_path), _pip_audit_json(tmp_path), "--junit", "unit")
    assert main(argv) == 2
    assert "--junit 'unit': expected SUITE=PATH" in capsys.readouterr().err


def test_a_recent_imported_scan_needs_no_acceptance(tiny, real_run, tmp_path: Path, capsys) -> None:
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from bedrock_release.cli import main  # noqa: PLC0415

    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    argv = _import_argv(
        tiny, real_run, _bandit_json(tmp_path), _pip_audit_json(tmp_path), scanned_at=yesterday
    )
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    check = ["evidence", "check", "--release", RELEASE, "--releases-dir", str(tiny.releases), "--json"]
    main([*check, "--trusted-keys", str(tiny.keys / "trusted")])
    pieces = {p["piece"]: p for p in json.loads(capsys.readouterr().out)}
    assert pieces["security"]["status"] == "ok", pieces["security"]
    assert "0 critical; tools bandit, pip-audit" in pieces["security"]["detail"]
