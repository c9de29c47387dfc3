"""Run named checks and turn each into a JUnit case: pass, failure (assertion) or error (anything else)."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence

from bedrock_release.gates.verdict import GateResult, Verdict
from bedrock_release.pre_deployment.junit import CaseResult, Outcome

__all__ = ["Check", "CheckFailed", "Inconclusive", "expect", "gate_case", "run_checks"]

#: A named check: returns a line of detail on success, raises CheckFailed on failure.
Check = tuple[str, Callable[[], str | None]]


class CheckFailed(Exception):  # noqa: N818 - reads as the outcome it is
    """The system under test did not behave as the check requires: a failure case."""


def expect(condition: object, message: str) -> None:
    """Raise CheckFailed with message unless condition holds (asserts vanish under python -O)."""
    if not condition:
        raise CheckFailed(message)


class Inconclusive(Exception):  # noqa: N818 - reads as the verdict it is
    """A check that could not decide (too few samples, a source that did not answer): an error case."""


def run_checks(checks: Sequence[Check], classname: str, log: Callable[[str], None]) -> list[CaseResult]:
    """Run every check in order (one failing does not stop the rest) and return their cases."""
    cases = []
    for name, check in checks:
        started = time.monotonic()
        try:
            detail = check() or ""
        except (CheckFailed, AssertionError) as exc:
            outcome, message, detail = Outcome.FAILED, str(exc) or "assertion failed", traceback.format_exc()
        except Inconclusive as exc:
            outcome, message, detail = Outcome.ERROR, f"inconclusive: {exc}", ""
        except Exception as exc:
            outcome, message, detail = Outcome.ERROR, f"{type(exc).__name__}: {exc}", traceback.format_exc()
        else:
            outcome, message = Outcome.PASSED, ""
        duration = time.monotonic() - started
        log(f"{outcome.value.upper():7} {classname}::{name} ({duration:.2f} s) {message or detail}".rstrip())
        cases.append(CaseResult(name, classname, outcome, duration, message, detail))
    return cases


def gate_case(gate: GateResult, classname: str, duration_s: float = 0.0) -> CaseResult:
    """Return a gate's verdict as a case: pass, fail -> failure, inconclusive -> error."""
    outcome = {
        Verdict.PASS: Outcome.PASSED,
        Verdict.FAIL: Outcome.FAILED,
        Verdict.INCONCLUSIVE: Outcome.ERROR,
    }[gate.verdict]
    message = "" if outcome is Outcome.PASSED else gate.message()
    return CaseResult(gate.name, classname, outcome, duration_s, message, gate.message())
