"""Allure labels of a scenario: epic = release, feature = phase, story = gate, severity from tags."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["SEVERITIES", "scenario_labels", "severity_of"]

#: Gherkin severity tags, most blocking first (Allure's severity names).
SEVERITIES = ("blocker", "critical", "normal")


def severity_of(tags: Iterable[str]) -> str:
    """Return the most blocking severity tag; an untagged scenario is normal."""
    tag_set = set(tags)
    return next((s for s in SEVERITIES if s in tag_set), "normal")


def scenario_labels(
    *, release: str, feature: str, scenario: str, tags: Iterable[str]
) -> tuple[tuple[str, str], ...]:
    """Return (label, value) pairs for one scenario."""
    return (
        ("epic", f"release {release}"),
        ("feature", feature),
        ("story", scenario),
        ("severity", severity_of(tags)),
    )
