"""Building AlarmEvaluation results over one window (shared by the evaluators)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bedrock_release.monitoring.definitions import AlarmDefinition
from bedrock_release.monitoring.fetch import Series
from bedrock_release.monitoring.results import AlarmEvaluation, AlarmState

__all__ = ["EvalWindow", "errors_of", "points_of"]


def points_of(series: Mapping[str, Series]) -> dict[str, dict[datetime, float]]:
    """{metric id: {period start: value}} of fetched series."""
    return {i: s.by_time() for i, s in series.items()}


def errors_of(series: Mapping[str, Series]) -> list[str]:
    """What CloudWatch refused, one line per series."""
    return sorted({f"{s.key.label()} {s.stat}: {s.error}" for s in series.values() if s.error})


@dataclass(frozen=True)
class EvalWindow:
    """One alarm's evaluation window and the factory of its results."""

    definition: AlarmDefinition
    start: datetime
    end: datetime

    def result(
        self,
        state: AlarmState,
        *,
        source: str,
        reasons: Sequence[str],
        value: float | None = None,
        samples: int = 0,
        periods: Sequence[tuple[datetime, float]] = (),
        **raw: Any,
    ) -> AlarmEvaluation:
        """An evaluation of this alarm over this window."""
        d = self.definition
        return AlarmEvaluation(
            name=d.name,
            alarm_name=d.alarm_name,
            state=state,
            value=value,
            threshold=d.threshold.value,
            unit=d.unit,
            comparison=d.comparison,
            samples=samples,
            min_samples=d.min_samples,
            window_start=self.start,
            window_end=self.end,
            period_s=d.period_s,
            periods=tuple((t.isoformat(), v) for t, v in periods),
            source=source,
            reasons=tuple(reasons),
            raw={"definition": d.to_dict(), **raw},
        )

    def insufficient(
        self, *, source: str, reasons: Sequence[str], samples: int = 0, **raw: Any
    ) -> AlarmEvaluation:
        """INSUFFICIENT_DATA with its reasons."""
        return self.result(
            AlarmState.INSUFFICIENT_DATA, source=source, reasons=reasons, samples=samples, **raw
        )
