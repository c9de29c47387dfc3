"""Gate verdicts: what a gate measured, against what, from where, and why it decided."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Comparison", "GateResult", "Verdict", "Window"]


class Verdict(enum.StrEnum):
    """A gate's decision; inconclusive blocks like fail."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class Comparison(enum.StrEnum):
    """How a measured value must relate to its threshold; equality passes both ways."""

    AT_MOST = "<="
    AT_LEAST = ">="

    def holds(self, value: float, threshold: float) -> bool:
        """Return whether value satisfies the comparison against threshold."""
        return value <= threshold if self is Comparison.AT_MOST else value >= threshold


@dataclass(frozen=True)
class Window:
    """The span a gate measured over: a description and its length in seconds, if it has one."""

    description: str
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the window as JSON-ready data."""
        return {"description": self.description, "seconds": self.seconds}


def _fmt(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:.6g}"


@dataclass(frozen=True)
class GateResult:
    """One gate's evidence and verdict (the report's gate entry plus what an auditor needs)."""

    name: str
    verdict: Verdict
    value: float | None
    threshold: float
    unit: str
    comparison: Comparison
    samples: int
    min_samples: int
    window: Window
    source: str
    reasons: tuple[str, ...] = ()
    raw: Mapping[str, Any] | None = field(default=None, compare=False)
    #: Seconds into the window at which the verdict was known: a breach a sequential test proved while
    #: the load ran (gates/sequential.py). None: the verdict needed the whole window.
    decided_after_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))
        object.__setattr__(self, "comparison", Comparison(self.comparison))
        object.__setattr__(self, "reasons", tuple(self.reasons))
        # A non-finite value cannot be written as JSON and could never justify a pass.
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError(f"gate {self.name}: value must be finite or None, got {self.value!r}")
        if self.decided_after_s is not None and not (
            math.isfinite(self.decided_after_s) and self.decided_after_s >= 0
        ):
            raise ValueError(
                f"gate {self.name}: decided_after_s must be >= 0 s, got {self.decided_after_s!r}"
            )
        if self.verdict is Verdict.PASS and (self.value is None or self.samples < self.min_samples):
            raise ValueError(f"gate {self.name}: a pass needs a value and at least min_samples samples")

    @classmethod
    def unavailable(
        cls,
        name: str,
        *,
        reason: str,
        threshold: float,
        unit: str,
        comparison: Comparison | str,
        min_samples: int,
        window: Window,
        source: str,
    ) -> GateResult:
        """Return an inconclusive result for a gate whose source could not be read at all."""
        return cls(
            name=name,
            verdict=Verdict.INCONCLUSIVE,
            value=None,
            threshold=threshold,
            unit=unit,
            comparison=Comparison(comparison),
            samples=0,
            min_samples=min_samples,
            window=window,
            source=source,
            reasons=(reason,),
        )

    @property
    def passed(self) -> bool:
        """Return True only for a pass; inconclusive is not a pass."""
        return self.verdict is Verdict.PASS

    def to_dict(self, *, include_raw: bool = False) -> dict[str, Any]:
        """Return the report's gate shape (docs/contracts.md) plus comparison, window, reasons."""
        out: dict[str, Any] = {
            "name": self.name,
            "verdict": self.verdict.value,
            "value": self.value,
            "threshold": self.threshold,
            "unit": self.unit,
            "samples": self.samples,
            "source": self.source,
            "comparison": self.comparison.value,
            "min_samples": self.min_samples,
            "window": self.window.to_dict(),
            "reasons": list(self.reasons),
            "decided_after_s": self.decided_after_s,
        }
        if include_raw:
            out["raw"] = dict(self.raw) if self.raw is not None else None
        return out

    def message(self) -> str:
        """Return one line naming gate, verdict, value, threshold, samples, window, source and reasons."""
        line = (
            f"gate {self.name}: {self.verdict.value.upper()}: value {_fmt(self.value)} {self.unit}, "
            f"required {self.comparison.value} {_fmt(self.threshold)} {self.unit}; "
            f"{self.samples} samples (minimum {self.min_samples}) over {self.window.description}; "
            f"source {self.source}"
        )
        if self.decided_after_s is not None:
            line += f"; known {self.decided_after_s:.3g} s into the window"
        if self.reasons:
            line += "; " + "; ".join(self.reasons)
        return line
