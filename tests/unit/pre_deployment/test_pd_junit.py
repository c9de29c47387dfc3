"""JUnit writer and strict reader: round trip, and every malformed input named."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_release.pre_deployment.errors import EvidenceError
from bedrock_release.pre_deployment.junit import CaseResult, Outcome, count_cases, read_junit, write_junit

NAME = "staging-unit-1.1.0"


def _cases() -> list[CaseResult]:
    return [
        CaseResult("passes", "c", Outcome.PASSED, 0.1),
        CaseResult("fails", "c", Outcome.FAILED, 0.2, "boom", "trace"),
        CaseResult("errs", "c", Outcome.ERROR, 0.0, "crash", ""),
        CaseResult("skips", "c", Outcome.SKIPPED, 0.0, "not here", ""),
    ]


def test_round_trip_counts(tmp_path: Path) -> None:
    path = write_junit(tmp_path / "u.xml", NAME, _cases())
    counts = read_junit(path, suite="unit", release="1.1.0")
    assert counts == count_cases(_cases())
    assert (counts.tests, counts.passed, counts.failures, counts.errors, counts.skipped) == (4, 1, 1, 1, 1)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"<testsuites><testsuite name='staging-unit-1.1.0'><testcase name='a'", "not well-formed XML"),
        (b'{"tests": 3}', "not well-formed XML"),
        (b"<html/>", "root element is <html>"),
        (b"<testsuites/>", "holds no <testsuite>"),
        (
            b"<testsuites><testsuite name='staging-integration-1.1.0'/></testsuites>",
            "another suite or release",
        ),
        (b"<testsuites><testsuite name='staging-unit-1.0.0'/></testsuites>", "another suite or release"),
        (
            b"<testsuites><testsuite name='staging-unit-1.1.0'><testcase name='a' time='x'/>"
            b"</testsuite></testsuites>",
            "is not a number",
        ),
        (
            b"<testsuites><testsuite name='staging-unit-1.1.0'><testcase time='1'/></testsuite></testsuites>",
            "no name",
        ),
        (
            b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><testsuites>&a;</testsuites>",
            "refused",
        ),
    ],
)
def test_malformed_files_are_named(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "unit.xml"
    path.write_bytes(content)
    with pytest.raises(EvidenceError, match=problem) as info:
        read_junit(path, suite="unit", release="1.1.0")
    assert info.value.path == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="missing"):
        read_junit(tmp_path / "absent.xml", suite="unit", release="1.1.0")


def test_counts_come_from_cases_not_attributes(tmp_path: Path) -> None:
    path = tmp_path / "u.xml"
    path.write_text(
        "<testsuites><testsuite name='staging-unit-1.1.0' tests='9' failures='0'>"
        "<testcase name='a'><failure message='x'/></testcase></testsuite></testsuites>"
    )
    counts = read_junit(path, suite="unit", release="1.1.0")
    assert (counts.tests, counts.failures) == (1, 1)


_text = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.builds(
            CaseResult,
            name=_text.filter(str.strip),
            classname=_text,
            outcome=st.sampled_from(Outcome),
            duration_s=st.floats(0, 1e4),
            message=_text,
            detail=_text,
        ),
        max_size=8,
    )
)
def test_any_cases_round_trip(tmp_path_factory: pytest.TempPathFactory, cases: list[CaseResult]) -> None:
    path = write_junit(tmp_path_factory.mktemp("j") / "x.xml", NAME, cases)
    assert read_junit(path, suite="unit", release="1.1.0") == count_cases(cases)


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_reader(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("j") / "x.xml"
    path.write_bytes(data)
    try:
        read_junit(path, suite="unit", release="1.1.0")
    except EvidenceError as exc:
        message = str(exc)
    else:
        return
    assert message.startswith(str(path))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 400))
def test_any_truncation_is_refused(tmp_path_factory: pytest.TempPathFactory, cut: int) -> None:
    folder = tmp_path_factory.mktemp("j")
    full = write_junit(folder / "full.xml", NAME, _cases()).read_bytes()
    cut = min(cut, len(full) - 2)  # the trailing newline alone is not part of the document
    path = folder / "cut.xml"
    path.write_bytes(full[:cut])
    with pytest.raises(EvidenceError):
        read_junit(path, suite="unit", release="1.1.0")


def test_real_pytest_junit_is_read_whatever_its_suite_name(tmp_path: Path) -> None:
    """What a real staging run writes: pytest's own --junitxml, default suite name, no sandbox naming."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    (tmp_path / "test_staging.py").write_text(
        "import pytest\n"
        "def test_ok(): pass\n"
        "def test_bad(): assert 1 == 2\n"
        "@pytest.mark.skip(reason='later')\n"
        "def test_skip(): pass\n"
        "@pytest.fixture\n"
        "def broken(): raise OSError('no database')\n"
        "def test_broken(broken): pass\n"
    )
    out = tmp_path / "junit.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            "/dev/null",
            "-p",
            "no:allure_pytest",
            f"--junitxml={out}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout
    counts = read_junit(out, suite="unit", release="1.1.0")
    assert (counts.tests, counts.passed, counts.failures, counts.errors, counts.skipped) == (4, 1, 1, 1, 1)


def test_surefire_root_testsuite_and_many_nested_suites_are_counted_once(tmp_path: Path) -> None:
    surefire = tmp_path / "TEST-staging.xml"
    surefire.write_text(
        "<testsuite name='com.example.StagingTest' tests='2'>"
        "<testcase classname='c' name='a'/><testcase classname='c' name='b'><skipped/></testcase>"
        "</testsuite>"
    )
    counts = read_junit(surefire, suite="integration", release="1.1.0")
    assert (counts.tests, counts.passed, counts.skipped) == (2, 1, 1)
    nested = tmp_path / "gradle.xml"
    nested.write_text(
        "<testsuites><testsuite name='outer'><testcase name='a'/>"
        "<testsuite name='inner'><testcase name='b'><failure/></testcase></testsuite>"
        "</testsuite><testsuite name='second'><testcase name='c'><error/></testcase></testsuite></testsuites>"
    )
    counts = read_junit(nested, suite="integration", release="1.1.0")
    assert (counts.tests, counts.passed, counts.failures, counts.errors) == (3, 1, 1, 1)
