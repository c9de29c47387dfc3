"""Gate evidence: attach it to Allure, journal it, and fail the step unless the gate passed.

One place decides what a gate's evidence is (value, threshold, samples, window, source, raw data)
and how a verdict other than pass fails a step: with ``GateResult.message()``, which names the gate,
the verdict (FAIL or INCONCLUSIVE), the value, the threshold, the samples and the source.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from bedrock_release.gates.verdict import GateResult
from bedrock_release.suite.journal import Journal

__all__ = [
    "INCONCLUSIVE",
    "Attach",
    "CheckFailedError",
    "EvidenceRecorder",
    "RecordedGate",
    "evidence_json",
    "inconclusive",
    "phase_of",
    "primary_marker",
]

#: Prefix of the message of a check that could not be decided (Allure category "gate inconclusive").
INCONCLUSIVE = "INCONCLUSIVE"

#: attach(name, body, mime) - Allure in the suite, a list in tests.
Attach = Callable[[str, str, str], None]

# Scenario tags that say more about what ran than the feature's tag (docs/contracts.md markers).
_SPECIFIC = (
    "canary",
    "flag_window",
    "rollback_immediate",
    "rollback_partial",
    "rollback_full",
    "decision_point",
    "compliance",
    "success_metric",
)


class CheckFailedError(AssertionError):
    """A gate or check that did not pass; the message is what QA and auditors read."""


def inconclusive(check: str, why: str) -> NoReturn:
    """Fail a check that could not be decided (no data, unreachable source): inconclusive blocks."""
    raise CheckFailedError(f"{check}: {INCONCLUSIVE}: {why}")


def phase_of(tags: Iterable[str]) -> int | None:
    """Return N for a ``phaseN`` tag, None when there is none."""
    for tag in tags:
        if tag.startswith("phase") and tag[5:].isdigit():
            return int(tag[5:])
    return None


def primary_marker(tags: Iterable[str]) -> str:
    """Return the marker that selected the step's scenario: a specific tag, else the phase tag."""
    tag_set = set(tags)
    for tag in _SPECIFIC:
        if tag in tag_set:
            return tag
    for tag in sorted(tag_set):
        if tag.startswith("phase") or tag in {"approvals", "rollback", "post_deployment"}:
            return tag
    return sorted(tag_set)[0] if tag_set else "none"


def evidence_json(result: GateResult, context: Mapping[str, Any] | None = None) -> str:
    """Return the evidence document of one gate (indented JSON)."""
    doc = {
        "gate": result.name,
        "verdict": result.verdict.value,
        "value": result.value,
        "threshold": result.threshold,
        "comparison": result.comparison.value,
        "unit": result.unit,
        "samples": result.samples,
        "min_samples": result.min_samples,
        "window": result.window.to_dict(),
        "source": result.source,
        "reasons": list(result.reasons),
        "raw": dict(result.raw) if result.raw is not None else None,
        "context": dict(context or {}),
    }
    return json.dumps(doc, indent=2, sort_keys=False, default=str)


@dataclass(frozen=True)
class RecordedGate:
    """A gate evaluated in this session, with the phase and marker it ran under."""

    phase: int | None
    marker: str
    result: GateResult


@dataclass
class EvidenceRecorder:
    """Records gate results for one scenario; shares the session's ledger of evaluated gates."""

    attach: Attach
    journal: Journal | None
    tags: frozenset[str]
    ledger: list[RecordedGate] = field(default_factory=list)

    def gate(self, result: GateResult, context: Mapping[str, Any] | None = None) -> GateResult:
        """Attach and journal a gate's evidence; raise CheckFailedError with its message unless it passed."""
        self.attach(f"evidence: {result.name}", evidence_json(result, context), "application/json")
        phase, marker = phase_of(self.tags), primary_marker(self.tags)
        if self.journal is not None:
            self.journal.append_gate(phase=phase, marker=marker, result=result)
        self.ledger.append(RecordedGate(phase, marker, result))
        if not result.passed:
            raise CheckFailedError(result.message())
        return result

    def gates(self, results: Iterable[GateResult], context: Mapping[str, Any] | None = None) -> None:
        """Record several gates; fail once, naming every gate that did not pass."""
        failed = []
        for result in results:
            try:
                self.gate(result, context)
            except CheckFailedError as exc:
                failed.append(str(exc))
        if failed:
            raise CheckFailedError(f"{len(failed)} gate(s) did not pass:\n" + "\n".join(failed))

    def data(self, name: str, payload: Any) -> None:
        """Attach supporting data of a check (responses, logs) as JSON."""
        self.attach(name, json.dumps(payload, indent=2, default=str), "application/json")
