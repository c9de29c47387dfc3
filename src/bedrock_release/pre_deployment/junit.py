"""JUnit XML: a small writer for the checks run here, and a strict reader for any suite's file."""

from __future__ import annotations

import enum
import math
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from bedrock_release.pre_deployment._io import format_time, read_bytes, write_bytes_atomic
from bedrock_release.pre_deployment.errors import EvidenceError

__all__ = [
    "CaseResult",
    "Outcome",
    "SuiteCounts",
    "count_cases",
    "read_junit",
    "suite_name",
    "write_junit",
]

# Characters XML 1.0 cannot carry at all (test output sometimes holds them).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Outcome(enum.StrEnum):
    """How one test case ended."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CaseResult:
    """One test case: its name, outcome, duration and (for anything but a pass) why."""

    name: str
    classname: str
    outcome: Outcome
    duration_s: float
    message: str = ""
    detail: str = ""


@dataclass(frozen=True)
class SuiteCounts:
    """Test counts of one suite; a skipped test is not a passed one."""

    tests: int
    passed: int
    failures: int
    errors: int
    skipped: int

    def __post_init__(self) -> None:
        parts = (self.passed, self.failures, self.errors, self.skipped)
        if min(self.tests, *parts) < 0 or sum(parts) != self.tests:
            raise ValueError(f"inconsistent counts: {self}")

    def __add__(self, other: SuiteCounts) -> SuiteCounts:
        return SuiteCounts(
            self.tests + other.tests,
            self.passed + other.passed,
            self.failures + other.failures,
            self.errors + other.errors,
            self.skipped + other.skipped,
        )

    @classmethod
    def zero(cls) -> SuiteCounts:
        """No tests at all."""
        return cls(0, 0, 0, 0, 0)

    def to_dict(self) -> dict[str, int]:
        """Return the counts as JSON-ready data."""
        return {
            "tests": self.tests,
            "passed": self.passed,
            "failures": self.failures,
            "errors": self.errors,
            "skipped": self.skipped,
        }


def suite_name(suite: str, release: str) -> str:
    """Return the ``<testsuite name>`` that binds a suite's file to a release."""
    return f"staging-{suite}-{release}"


def count_cases(cases: Iterable[CaseResult]) -> SuiteCounts:
    """Return the counts of a list of case results."""
    outcomes = [case.outcome for case in cases]
    return SuiteCounts(
        tests=len(outcomes),
        passed=outcomes.count(Outcome.PASSED),
        failures=outcomes.count(Outcome.FAILED),
        errors=outcomes.count(Outcome.ERROR),
        skipped=outcomes.count(Outcome.SKIPPED),
    )


def _esc(text: str, *, attribute: bool = False) -> str:
    text = _INVALID_XML.sub("?", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attribute:
        text = text.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return text


def write_junit(
    path: Path, name: str, cases: Sequence[CaseResult], *, timestamp: datetime | None = None
) -> Path:
    """Write one ``<testsuites>`` with one ``<testsuite name=name>`` holding ``cases``."""
    counts = count_cases(cases)
    total = sum(case.duration_s for case in cases)
    moment = format_time(timestamp or datetime.now(UTC))
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<testsuites>",
        f'  <testsuite name="{_esc(name, attribute=True)}" tests="{counts.tests}" '
        f'failures="{counts.failures}" errors="{counts.errors}" skipped="{counts.skipped}" '
        f'time="{total:.3f}" timestamp="{moment}" hostname="{_esc(socket.gethostname(), attribute=True)}">',
    ]
    for case in cases:
        head = (
            f'    <testcase classname="{_esc(case.classname, attribute=True)}" '
            f'name="{_esc(case.name, attribute=True)}" time="{case.duration_s:.3f}"'
        )
        if case.outcome is Outcome.PASSED:
            lines.append(head + " />")
            continue
        tag = {Outcome.FAILED: "failure", Outcome.ERROR: "error", Outcome.SKIPPED: "skipped"}[case.outcome]
        lines.append(head + ">")
        lines.append(
            f'      <{tag} message="{_esc(case.message, attribute=True)}">{_esc(case.detail)}</{tag}>'
        )
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>", ""]
    return write_bytes_atomic(path, "\n".join(lines).encode("utf-8"))


def _time_attr(path: Path, element: object, where: str) -> None:
    raw = element.get("time")  # type: ignore[attr-defined]
    if raw is None:
        return
    try:
        value = float(raw)
    except ValueError:
        raise EvidenceError(path, f"{where}: time {raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise EvidenceError(path, f"{where}: time {raw!r} is not a finite, non-negative number")


_SANDBOX_NAME = re.compile(r"^staging-(?P<suite>[a-z]+)-(?P<release>\S+)$")


def _suites_of(root: object) -> list[object]:
    if root.tag == "testsuite":  # type: ignore[attr-defined]
        return [root]
    return list(root.iter("testsuite"))  # type: ignore[attr-defined]


def read_junit(path: Path, *, suite: str, release: str) -> SuiteCounts:
    """Count the test cases of any standard JUnit XML file of one staging suite.

    What a real staging run writes is accepted: a ``<testsuites>`` root (pytest, JUnit 5, Gradle)
    or a ``<testsuite>`` root (Maven Surefire), one suite or many, nested or not, any suite name. A
    name of the sandbox's form ``staging-<suite>-<release>`` must name this suite and release. Counts
    come from the ``<testcase>`` elements themselves (error before failure before skipped), never
    from the summary attributes, which anyone can edit without editing a case.
    """
    data = read_bytes(path)
    try:
        root = fromstring(data)
    except DefusedXmlException as exc:
        raise EvidenceError(path, f"refused: XML with {type(exc).__name__} (entities or DTDs)") from None
    except ParseError as exc:
        raise EvidenceError(path, f"not well-formed XML (truncated or corrupt): {exc}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise EvidenceError(
            path, f"root element is <{root.tag}>, expected <testsuites> or <testsuite> (not JUnit XML)"
        )
    suites = _suites_of(root)
    if not suites:
        raise EvidenceError(path, "holds no <testsuite>: no test of the suite ran")
    for element in suites:
        name = element.get("name") or ""  # type: ignore[attr-defined]
        match = _SANDBOX_NAME.fullmatch(name)
        if match and (match["suite"], match["release"]) != (suite, release):
            raise EvidenceError(
                path,
                f"testsuite is named {name!r}: results of suite {match['suite']} of release "
                f"{match['release']}, not of {suite} of {release} (another suite or release)",
            )
    outcomes: list[Outcome] = []
    for index, case in enumerate(root.iter("testcase")):
        where = f"testcase {index} ({case.get('classname', '?')}::{case.get('name', '?')})"
        if not case.get("name"):
            raise EvidenceError(path, f"{where}: no name")
        _time_attr(path, case, where)
        tags = {child.tag for child in case}
        if "error" in tags:
            outcomes.append(Outcome.ERROR)
        elif "failure" in tags:
            outcomes.append(Outcome.FAILED)
        elif "skipped" in tags:
            outcomes.append(Outcome.SKIPPED)
        else:
            outcomes.append(Outcome.PASSED)
    return SuiteCounts(
        tests=len(outcomes),
        passed=outcomes.count(Outcome.PASSED),
        failures=outcomes.count(Outcome.FAILED),
        errors=outcomes.count(Outcome.ERROR),
        skipped=outcomes.count(Outcome.SKIPPED),
    )
