"""What a deploy does when a phase takes longer than the plan's time budget (an inventory policy).

The plan gives every phase a budget (Phase 1: 30 minutes, ...), scaled by the run's time scale. The
inventory variable ``release_phase_budget_policy`` says what an overrun does: ``record`` (journaled
and shown in the report), ``warn`` (also a warning in the deploy's output; the default) or ``fail``
(the phase fails, and its failure path rolls back as for any failed phase). The budget is judged
when the phase ends: a step is never cut off half-way, each has its own bounded timeouts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["DEFAULT_POLICY", "BudgetPolicy", "BudgetVerdict", "judge"]


class BudgetPolicy(enum.StrEnum):
    """What an overrun of a phase's budget does."""

    RECORD = "record"
    WARN = "warn"
    FAIL = "fail"


DEFAULT_POLICY = BudgetPolicy.WARN


@dataclass(frozen=True)
class BudgetVerdict:
    """A phase's duration against its budget, and what the policy makes of it."""

    phase: int
    duration_s: float
    budget_s: float
    policy: BudgetPolicy

    @property
    def over(self) -> bool:
        """Whether the phase took longer than its budget."""
        return self.duration_s > self.budget_s

    @property
    def fails(self) -> bool:
        """Whether the overrun fails the phase."""
        return self.over and self.policy is BudgetPolicy.FAIL

    @property
    def warns(self) -> bool:
        """Whether the overrun is a warning in the deploy's output."""
        return self.over and self.policy is BudgetPolicy.WARN

    def message(self) -> str:
        """One sentence: the duration, the budget, and what the policy does about it."""
        head = f"phase {self.phase} took {self.duration_s:.1f} s"
        if not self.over:
            return f"{head}, within its budget of {self.budget_s:.1f} s"
        then = {
            BudgetPolicy.RECORD: "recorded in the journal and the report",
            BudgetPolicy.WARN: "a warning; the phase counts as passed",
            BudgetPolicy.FAIL: "the phase fails",
        }[self.policy]
        return f"{head}, over its budget of {self.budget_s:.1f} s (policy {self.policy.value}: {then})"


def judge(phase: int, duration_s: float, budget_s: float, policy: BudgetPolicy | str) -> BudgetVerdict:
    """Return the verdict; ValueError names a policy that is not record, warn or fail."""
    try:
        chosen = BudgetPolicy(policy)
    except ValueError:
        allowed = ", ".join(p.value for p in BudgetPolicy)
        raise ValueError(f"budget policy {policy!r}: must be one of {allowed}") from None
    return BudgetVerdict(phase, duration_s, budget_s, chosen)
