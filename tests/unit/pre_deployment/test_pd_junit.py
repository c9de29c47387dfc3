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
    counts = read_junit(path, expected_name=NAME)
    assert counts == count_cases(_cases())
    assert (counts.tests, counts.passed, counts.failures, counts.errors, counts.skipped) == (4, 1, 1, 1, 1)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"<testsuites><testsuite name='staging-unit-1.1.0'><testcase name='a'", "not well-formed XML"),
        (b'{"tests": 3}', "not well-formed XML"),
        (b"<testsuite name='staging-unit-1.1.0'/>", "root element is <testsuite>"),
        (b"<html/>", "root element is <html>"),
        (b"<testsuites/>", "exactly one <testsuite>, found 0"),
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
        read_junit(path, expected_name=NAME)
    assert info.value.path == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="missing"):
        read_junit(tmp_path / "absent.xml", expected_name=NAME)


def test_counts_come_from_cases_not_attributes(tmp_path: Path) -> None:
    path = tmp_path / "u.xml"
    path.write_text(
        "<testsuites><testsuite name='staging-unit-1.1.0' tests='9' failures='0'>"
        "<testcase name='a'><failure message='x'/></testcase></testsuite></testsuites>"
    )
    counts = read_junit(path, expected_name=NAME)
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
    assert read_junit(path, expected_name=NAME) == count_cases(cases)


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_reader(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("j") / "x.xml"
    path.write_bytes(data)
    try:
        read_junit(path, expected_name=NAME)
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
        read_junit(path, expected_name=NAME)
