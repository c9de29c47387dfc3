"""Staging results reader: counts from the JUnit files; every malformed or foreign summary is named."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pd_fixtures import RELEASE, write_staging

from bedrock_release.pre_deployment import EvidenceError, read_staging_results
from bedrock_release.pre_deployment.junit import CaseResult, Outcome, suite_name, write_junit


def test_valid_results(tiny) -> None:
    write_staging(tiny.paths, tiny.sha, failed=1)
    results = read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)
    assert set(results.suites) == {"unit", "integration", "performance", "security"}
    assert results.totals.tests == 41
    assert results.pass_rate_pct == pytest.approx(100 * 40 / 41)
    assert results.suites_without_tests() == ()


def _edit(tiny, **changes) -> None:
    data = json.loads(tiny.paths.staging_summary.read_text())
    data.update(changes)
    tiny.paths.staging_summary.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda p: p.write_text(""), "empty file"),
        (lambda p: p.write_text(p.read_text()[:200]), "not valid JSON"),
        (lambda p: p.write_text("[1, 2]"), "expected a JSON object"),
        (lambda p: p.write_text('{"kind": "security-scan", "schema": 1}'), "field kind"),
        (
            lambda p: p.write_text(p.read_text().replace('"pass_rate_pct": 100.0', '"pass_rate_pct": NaN')),
            "JSON",
        ),
        (lambda p: p.unlink(), "missing"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00garbage"), "UTF-8"),
    ],
)
def test_malformed_summary(tiny, mutate, problem) -> None:
    write_staging(tiny.paths, tiny.sha)
    mutate(tiny.paths.staging_summary)
    with pytest.raises(EvidenceError, match=problem) as info:
        read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)
    assert info.value.path == str(tiny.paths.staging_summary)


def test_wrong_release_and_artifact(tiny) -> None:
    write_staging(tiny.paths, tiny.sha)
    with pytest.raises(EvidenceError, match="wrong release"):
        read_staging_results(tiny.evidence, release="1.2.0", artifact_sha256=tiny.sha)
    with pytest.raises(EvidenceError, match="not the release artifact"):
        read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256="0" * 64)


def test_junit_of_another_release_is_refused(tiny) -> None:
    write_staging(tiny.paths, tiny.sha)
    write_junit(
        tiny.paths.junit("unit"), suite_name("unit", "1.0.0"), [CaseResult("a", "c", Outcome.PASSED, 0)]
    )
    with pytest.raises(EvidenceError, match="another suite or release") as info:
        read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)
    assert info.value.path.endswith("junit/unit.xml")


def test_junit_changed_after_the_run(tiny) -> None:
    write_staging(tiny.paths, tiny.sha)
    junit = tiny.paths.junit("security")
    junit.write_text(junit.read_text().replace('name="t9"', 'name="t9b"'))
    with pytest.raises(EvidenceError, match="changed after the run"):
        read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)


def test_missing_suite_and_inflated_counts(tiny) -> None:
    write_staging(tiny.paths, tiny.sha)
    data = json.loads(tiny.paths.staging_summary.read_text())
    del data["suites"]["performance"]
    tiny.paths.staging_summary.write_text(json.dumps(data))
    with pytest.raises(EvidenceError, match=r"suites\.performance: missing"):
        read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)
    write_staging(tiny.paths, tiny.sha, failed=3)
    data = json.loads(tiny.paths.staging_summary.read_text())
    data["suites"]["unit"]["passed"], data["suites"]["unit"]["failures"] = 13, 0
    tiny.paths.staging_summary.write_text(json.dumps(data))
    with pytest.raises(EvidenceError, match="the suite's results hold"):
        read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)


def test_a_summary_of_the_earlier_shape_is_still_read(tiny) -> None:
    write_staging(tiny.paths, tiny.sha)
    data = json.loads(tiny.paths.staging_summary.read_text())
    for entry in data["suites"].values():
        entry.update(entry.pop("junit"))  # {file, sha256} at the entry's top level
    tiny.paths.staging_summary.write_text(json.dumps(data))
    assert read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha).totals.tests == 40


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"junit": {"file": "../../elsewhere.xml", "sha256": "0" * 64}}, "must be junit/unit.xml"),
        ({"junit": {"file": "/etc/passwd", "sha256": "0" * 64}}, "must be junit/unit.xml"),
        ({"allure": {"dir": "allure/../..", "sha256": "0" * 64}}, "must be allure/unit"),
        ({}, "a suite needs its JUnit XML or its Allure results"),
    ],
)
def test_a_suite_entry_that_points_elsewhere_or_nowhere_is_refused(tiny, entry, problem) -> None:
    write_staging(tiny.paths, tiny.sha)
    data = json.loads(tiny.paths.staging_summary.read_text())
    counts = {k: data["suites"]["unit"][k] for k in ("tests", "passed", "failures", "errors", "skipped")}
    data["suites"]["unit"] = {**entry, **counts, "duration_s": 0.1, "method": "m"}
    tiny.paths.staging_summary.write_text(json.dumps(data))
    with pytest.raises(EvidenceError, match=problem) as info:
        read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)
    assert info.value.path == str(tiny.paths.staging_summary)


def test_claimed_pass_rate_must_match(tiny) -> None:
    write_staging(tiny.paths, tiny.sha, failed=5)
    _edit(tiny, pass_rate_pct=99.9)
    with pytest.raises(EvidenceError, match="pass_rate_pct"):
        read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_arbitrary_summary_bytes_raise_only_evidence_errors(tiny, data) -> None:
    tiny.paths.staging.mkdir(parents=True, exist_ok=True)
    tiny.paths.staging_summary.write_bytes(data)
    with pytest.raises(EvidenceError):
        read_staging_results(tiny.evidence, release=RELEASE, artifact_sha256=tiny.sha)
