"""Python twins of the alarms' CloudWatch expressions, and the rule that turns values into a state.

Pure functions over fetched series ({metric id: {period start: value}}): moto evaluates neither
metric math nor alarms, and real CloudWatch is not asked to, so sandbox and AWS are judged alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bedrock_release.monitoring.definitions import TWIN_CONSTANTS, AlarmDefinition, AlarmKind
from bedrock_release.monitoring.results import AlarmState

__all__ = ["PeriodValues", "Points", "apply_kind", "decide_state"]

Points = Mapping[str, Mapping[datetime, float]]  # metric id -> {period start: value}


@dataclass(frozen=True)
class PeriodValues:
    """The alarm's value per period, the sample count behind it, and what is missing."""

    values: tuple[tuple[datetime, float], ...]
    samples: int
    reasons: tuple[str, ...] = ()
    insufficient: bool = False  # a required input is missing: no verdict possible


def _times(points: Points, ids: Sequence[str]) -> list[datetime]:
    return sorted({t for i in ids for t in points.get(i, {})})


def _ids(d: AlarmDefinition) -> list[str]:
    return [m.id for m in d.metrics]


def _error_rate(d: AlarmDefinition, points: Points, _: Mapping[datetime, float]) -> PeriodValues:
    # 100 * FILL(err, 0) / (FILL(err, 0) + FILL(ok, 0)); a period without requests has no value.
    out, total = [], 0
    for t in _times(points, ["err", "ok"]):
        err, ok = points.get("err", {}).get(t, 0.0), points.get("ok", {}).get(t, 0.0)
        if err + ok > 0:
            out.append((t, 100.0 * err / (err + ok)))
            total += int(err + ok)
    return PeriodValues(tuple(out), total)


def _budget_share(d: AlarmDefinition, points: Points, _: Mapping[datetime, float]) -> PeriodValues:
    # 100 * SUM([spend per slot]) / budget; SUM skips a slot without data in that period.
    ids, budget = _ids(d), float(d.budget_usd or 0.0)
    out = [
        (t, 100.0 * sum(points[i][t] for i in ids if t in points.get(i, {})) / budget)
        for t in _times(points, ids)
    ]
    return PeriodValues(tuple(out), len(out))


def _event_count(d: AlarmDefinition, points: Points, heartbeat: Mapping[datetime, float]) -> PeriodValues:
    # SUM([counts]), missing = 0, but only while the release slot is seen publishing at all.
    ids = _ids(d)
    alive = sum(heartbeat.values())
    times = sorted(set(_times(points, ids)) | set(heartbeat))
    out = [(t, sum(points.get(i, {}).get(t, 0.0) for i in ids)) for t in times]
    if not any(v > 0 for _, v in out) and alive <= 0:
        beat = d.heartbeat.key.label() if d.heartbeat else "none"
        return PeriodValues(
            (),
            0,
            (
                f"no events and no sign of life from the release slot's publisher (heartbeat {beat} has "
                "no datapoints): 'none happened' cannot be told from 'nothing is published'",
            ),
            insufficient=True,
        )
    reasons: tuple[str, ...] = ()
    if not any(points.get(i) for i in ids):
        reasons = (
            f"no datapoints of {d.metrics[0].key.name} (published only when an event happens); the "
            f"release slot's publisher is alive ({int(alive)} heartbeat samples), so the count is 0",
        )
    return PeriodValues(tuple(out), int(alive) or len(out), reasons)


def _count_where(test: Callable[[float], bool], missing: float) -> Callable[..., PeriodValues]:
    def twin(d: AlarmDefinition, points: Points, _: Mapping[datetime, float]) -> PeriodValues:
        ids = _ids(d)
        out = [
            (t, float(sum(1 for i in ids if test(points.get(i, {}).get(t, missing)))))
            for t in _times(points, ids)
        ]
        return PeriodValues(tuple(out), len(out))

    return twin


def _max_percentile(d: AlarmDefinition, points: Points, _: Mapping[datetime, float]) -> PeriodValues:
    # MAX([p95 per series]): an upper bound of the p95 of their union.
    ids = _ids(d)
    out = [(t, max(points[i][t] for i in ids if t in points.get(i, {}))) for t in _times(points, ids)]
    return PeriodValues(tuple(out), len(out))


_TWINS: Mapping[AlarmKind, Callable[[AlarmDefinition, Points, Mapping[datetime, float]], PeriodValues]] = {
    AlarmKind.ERROR_RATE: _error_rate,
    AlarmKind.BUDGET_SHARE: _budget_share,
    AlarmKind.EVENT_COUNT: _event_count,
    # N - SUM([ComponentHealthy Minimum]): a component below 1 (or without data) is a failure.
    AlarmKind.UNHEALTHY_COUNT: _count_where(lambda v: v < TWIN_CONSTANTS["unhealthy_below"], missing=0.0),
    # IF(c >= 2, 1, 0) + ...: an open circuit counts.
    AlarmKind.OPEN_COUNT: _count_where(lambda v: v >= TWIN_CONSTANTS["open_at_least"], missing=0.0),
    AlarmKind.MAX_PERCENTILE: _max_percentile,
}


def apply_kind(
    d: AlarmDefinition, points: Points, heartbeat: Mapping[datetime, float] | None = None
) -> PeriodValues:
    """The Python twin of ``d.expression``: the alarm's value per period from the fetched series."""
    missing = [i for i in d.required if not points.get(i)]
    if missing:
        labels = [m.key.label() for m in d.metrics if m.id in missing]
        return PeriodValues(
            (), 0, (f"no datapoints in the window for {', '.join(labels)}",), insufficient=True
        )
    return _TWINS[d.kind](d, points, heartbeat or {})


def decide_state(
    values: Sequence[tuple[datetime, float]], threshold: float, samples: int, min_samples: int
) -> tuple[AlarmState, float | None, tuple[str, ...]]:
    """ALARM if any period is above the threshold; OK with enough samples; else INSUFFICIENT_DATA."""
    if not values:
        return AlarmState.INSUFFICIENT_DATA, None, ("no datapoints in the window",)
    worst = max(v for _, v in values)
    if worst > threshold:
        above = sum(1 for _, v in values if v > threshold)
        return AlarmState.ALARM, worst, (f"{above} of {len(values)} periods above the threshold",)
    if samples < min_samples:
        return AlarmState.INSUFFICIENT_DATA, worst, (f"too few samples: {samples} < {min_samples}",)
    return AlarmState.OK, worst, ()
