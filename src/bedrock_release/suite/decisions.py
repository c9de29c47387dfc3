"""What the decision points read: the gates evaluated in this session, else those in the journal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bedrock_release.suite.evidence import RecordedGate
from bedrock_release.suite.journal import Journal, JournalError

__all__ = ["phase_gates"]


def phase_gates(
    phase: int, ledger: Sequence[RecordedGate], journal: Journal | None
) -> tuple[dict[str, dict[str, Any]], str]:
    """Return the latest verdict of each gate of a phase (session results win) and where they came from."""
    found: dict[str, dict[str, Any]] = {}
    sources = []
    if journal is not None:
        try:
            for gate in journal.gates(phase):
                found[str(gate.get("name"))] = gate
            sources.append(f"journal {journal.path}")
        except JournalError as exc:
            sources.append(f"journal unreadable ({exc})")
    session = [r for r in ledger if r.phase == phase]
    for recorded in session:
        found[recorded.result.name] = recorded.result.to_dict()
    if session:
        sources.append(f"{len(session)} gates evaluated in this session")
    return found, "; ".join(sources) or "no gate results"
