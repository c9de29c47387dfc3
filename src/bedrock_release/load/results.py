"""The locust results file the locustfile's ``quitting`` hook writes, parsed and validated.

Schema ``bedrock-release/load-results@1``::

    {"schema", "host", "verification": bool, "run_tag", "started_at": epoch s, "duration_s",
     "kinds": {kind: {"requests", "failures", "no_response_time", "response_times": {ms: count},
                      "failure_reasons"?: {text: count}}},
     "series": [{"t": s since start, "counts": {kind: [requests, failures]}}, ...]}

``series`` holds cumulative counts sampled every second from the start (t = 0) to the stop; a kind
absent from a point has had no request yet. Optionally (``LOAD_WINDOW_S``), ``window_s`` and
``windows: [{"t", "kinds": {kind: {requests, failures, no_response_time, response_times}}}]`` hold
cumulative totals at each window boundary, from t = 0 to the stop; ``LoadResults.windows`` holds
their differences. Anything missing, empty, corrupt or inconsistent is a ``LoadResultsError``
naming the file and the problem, which the gates turn into inconclusive.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrock_release.gates.histogram import DataError, Histogram, from_locust
from bedrock_release.gates.slo import CounterSample, parse_series

__all__ = [
    "ALL",
    "SCHEMA",
    "KindStats",
    "LoadResults",
    "LoadResultsError",
    "WindowStats",
    "load_results",
    "parse_results",
]

SCHEMA = "bedrock-release/load-results@1"
#: The pseudo-kind of every request together.
ALL = "all"


class LoadResultsError(ValueError):
    """A results file that cannot support a verdict: names the file and what is wrong with it."""

    def __init__(self, path: str, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"locust results {path}: {problem}")


@dataclass(frozen=True)
class KindStats:
    """Totals of one request kind: count, failures and the full response-time histogram (ms)."""

    name: str
    requests: int
    failures: int
    response_times: Mapping[float, int]
    failure_reasons: Mapping[str, int]

    def histogram(self) -> Histogram:
        """Return the response times as a point histogram (locust's rounding, in ms)."""
        return from_locust(self.response_times)

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready totals (the histogram keyed by ms)."""
        return {
            "requests": self.requests,
            "failures": self.failures,
            "response_times": {f"{k:g}": v for k, v in sorted(self.response_times.items())},
            "failure_reasons": dict(self.failure_reasons),
        }


@dataclass(frozen=True)
class WindowStats:
    """The requests of one window [start, end]: per kind count, failures and histogram."""

    start: float
    end: float
    kinds: Mapping[str, KindStats]


@dataclass(frozen=True)
class LoadResults:
    """One locust run: totals per kind and cumulative per-second series per kind (and ``all``)."""

    path: str
    host: str
    verification: bool
    started_at: float
    duration_s: float
    kinds: Mapping[str, KindStats]
    series: Mapping[str, tuple[CounterSample, ...]]
    windows: tuple[WindowStats, ...] = ()

    @property
    def requests(self) -> int:
        """Return the number of requests of every kind."""
        return sum(k.requests for k in self.kinds.values())

    @property
    def failures(self) -> int:
        """Return the number of failed requests of every kind."""
        return sum(k.failures for k in self.kinds.values())

    def kind(self, name: str) -> KindStats | None:
        """Return one kind's totals, None when the run has no request of that kind."""
        return self.kinds.get(name)

    def series_of(self, name: str = ALL) -> tuple[CounterSample, ...]:
        """Return the cumulative series of a kind (zeros if it never occurred), or of all requests."""
        if name in self.series:
            return self.series[name]
        return tuple(CounterSample(s.t, 0, 0) for s in self.series[ALL])

    def summary(self) -> dict[str, Any]:
        """Return a small description for evidence attachments."""
        return {
            "file": self.path,
            "host": self.host,
            "verification": self.verification,
            "duration_s": self.duration_s,
            "requests": self.requests,
            "failures": self.failures,
            "kinds": {k: {"requests": v.requests, "failures": v.failures} for k, v in self.kinds.items()},
            "series_points": len(self.series[ALL]),
        }


def _fail(path: str, problem: str) -> LoadResultsError:
    return LoadResultsError(path, problem)


def _count(value: Any, path: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(path, f"{what} must be a non-negative integer, got {value!r}")
    return value


def _number(value: Any, path: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(path, f"{what} must be a finite number, got {value!r}")
    return float(value)


def _kind(name: str, raw: Any, path: str) -> KindStats:
    if not isinstance(raw, Mapping):
        raise _fail(path, f"kinds.{name} must be an object")
    requests = _count(raw.get("requests"), path, f"kinds.{name}.requests")
    failures = _count(raw.get("failures"), path, f"kinds.{name}.failures")
    none = _count(raw.get("no_response_time", 0), path, f"kinds.{name}.no_response_time")
    if failures > requests:
        raise _fail(path, f"kinds.{name}: {failures} failures exceed {requests} requests")
    times = raw.get("response_times")
    if not isinstance(times, Mapping):
        raise _fail(path, f"kinds.{name}.response_times must be an object")
    try:
        histogram = from_locust(times)
    except DataError as exc:
        raise _fail(path, f"kinds.{name}.response_times: {exc}") from None
    if histogram.total + none != requests:
        raise _fail(
            path,
            f"kinds.{name}: the histogram holds {histogram.total} response times "
            f"(+{none} without one) but {requests} requests were counted",
        )
    reasons = raw.get("failure_reasons", {})
    if not isinstance(reasons, Mapping) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in reasons.items()
    ):
        raise _fail(path, f"kinds.{name}.failure_reasons must map text to counts")
    return KindStats(name, requests, failures, {b.lower: b.count for b in histogram.buckets}, dict(reasons))


def _point(index: int, point: Any, names: set[str], path: str) -> tuple[float, dict[str, tuple[int, int]]]:
    if not isinstance(point, Mapping) or not isinstance(point.get("counts"), Mapping):
        raise _fail(path, f"series[{index}] must be an object with t and counts")
    t = _number(point.get("t"), path, f"series[{index}].t")
    counts: dict[str, tuple[int, int]] = {}
    for kind, pair in point["counts"].items():
        if not isinstance(pair, list) or len(pair) != 2:
            raise _fail(path, f"series[{index}].counts.{kind} must be [requests, failures]")
        counts[str(kind)] = (
            _count(pair[0], path, f"series[{index}].counts.{kind}[0]"),
            _count(pair[1], path, f"series[{index}].counts.{kind}[1]"),
        )
    unknown = sorted(set(counts) - names)
    if unknown:
        raise _fail(path, f"series[{index}] counts kinds {unknown} that have no totals")
    return t, counts


def _column(rows: list[tuple[float, dict[str, tuple[int, int]]]], name: str) -> list[tuple[float, int, int]]:
    if name == ALL:
        return [(t, sum(c[0] for c in cs.values()), sum(c[1] for c in cs.values())) for t, cs in rows]
    return [(t, *cs.get(name, (0, 0))) for t, cs in rows]


def _series(raw: Any, kinds: Mapping[str, KindStats], path: str) -> dict[str, tuple[CounterSample, ...]]:
    if not isinstance(raw, list) or not raw:
        raise _fail(path, "series must be a non-empty list of per-second points")
    rows = [_point(index, point, set(kinds), path) for index, point in enumerate(raw)]
    if rows[0][0] != 0:
        raise _fail(path, f"series must start at t=0, starts at t={rows[0][0]:g}")
    out: dict[str, tuple[CounterSample, ...]] = {}
    for name in [*sorted(kinds), ALL]:
        try:
            out[name] = parse_series(_column(rows, name))
        except DataError as exc:
            raise _fail(path, f"series of {name}: {exc}") from None
    for name, stats in kinds.items():
        last = out[name][-1]
        if (last.requests, last.failures) != (stats.requests, stats.failures):
            raise _fail(
                path,
                f"series of {name} ends at {last.requests}/{last.failures} requests/failures but "
                f"the totals say {stats.requests}/{stats.failures}",
            )
    return out


def _delta(name: str, now: KindStats, before: KindStats | None, path: str, where: str) -> KindStats:
    before_times = before.response_times if before else {}
    times = {}
    for value, count in now.response_times.items():
        diff = count - before_times.get(value, 0)
        if diff < 0:
            raise _fail(path, f"{where}: {name} response time {value:g} ms went down (not cumulative)")
        if diff:
            times[value] = diff
    gone = [v for v in before_times if v not in now.response_times]
    requests = now.requests - (before.requests if before else 0)
    failures = now.failures - (before.failures if before else 0)
    if gone or requests < 0 or failures < 0:
        raise _fail(path, f"{where}: {name} totals went down (not cumulative)")
    return KindStats(name, requests, failures, times, {})


def _windows(data: Mapping[str, Any], kinds: Mapping[str, KindStats], path: str) -> tuple[WindowStats, ...]:
    raw = data.get("windows")
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        raise _fail(path, "windows must list at least the start and the end snapshot")
    snapshots: list[tuple[float, dict[str, KindStats]]] = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("kinds"), Mapping):
            raise _fail(path, f"windows[{index}] must be an object with t and kinds")
        t = _number(item.get("t"), path, f"windows[{index}].t")
        if snapshots and t <= snapshots[-1][0]:
            raise _fail(path, f"windows[{index}].t {t:g} is not after {snapshots[-1][0]:g}")
        snapshots.append((t, {str(k): _kind(str(k), v, path) for k, v in item["kinds"].items()}))
    if snapshots[0][0] != 0:
        raise _fail(path, f"windows must start at t=0, start at t={snapshots[0][0]:g}")
    last = snapshots[-1][1]
    for name, stats in kinds.items():
        end = last.get(name)
        if end is None or (end.requests, end.failures) != (stats.requests, stats.failures):
            raise _fail(path, f"the last window snapshot disagrees with the totals of {name}")
    out = []
    for (start, before), (end, now) in itertools.pairwise(snapshots):
        where = f"window {start:g}-{end:g} s"
        out.append(
            WindowStats(start, end, {n: _delta(n, k, before.get(n), path, where) for n, k in now.items()})
        )
    return tuple(out)


def parse_results(data: Any, *, path: str) -> LoadResults:
    """Validate decoded results data; LoadResultsError names the problem."""
    if not isinstance(data, Mapping):
        raise _fail(path, f"expected a JSON object, got {type(data).__name__}")
    if data.get("schema") != SCHEMA:
        raise _fail(path, f"wrong schema {data.get('schema')!r}, expected {SCHEMA!r}")
    kinds_raw = data.get("kinds")
    if not isinstance(kinds_raw, Mapping):
        raise _fail(path, "kinds must be an object")
    kinds = {str(name): _kind(str(name), raw, path) for name, raw in kinds_raw.items()}
    if ALL in kinds:
        raise _fail(path, f"{ALL!r} is reserved and cannot be a request kind")
    duration = _number(data.get("duration_s"), path, "duration_s")
    if duration < 0:
        raise _fail(path, f"duration_s must not be negative, got {duration:g}")
    host = data.get("host")
    if not isinstance(host, str):
        raise _fail(path, f"host must be a string, got {host!r}")
    verification = data.get("verification")
    if not isinstance(verification, bool):
        raise _fail(path, f"verification must be true or false, got {verification!r}")
    return LoadResults(
        path=path,
        host=host,
        verification=verification,
        started_at=_number(data.get("started_at"), path, "started_at"),
        duration_s=duration,
        kinds=kinds,
        series=_series(data.get("series"), kinds, path),
        windows=_windows(data, kinds, path),
    )


def load_results(path: str | os.PathLike[str]) -> LoadResults:
    """Read and validate a results file: missing, empty, not JSON or inconsistent raise LoadResultsError."""
    name = str(path)
    file = Path(path)
    if not file.exists():
        raise _fail(name, "missing: locust wrote no results (did it start, and did its quitting hook run?)")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(name, f"unreadable: {exc}") from None
    if not text.strip():
        raise _fail(name, "empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(name, f"corrupt: not JSON ({exc.msg} at line {exc.lineno})") from None
    return parse_results(data, path=name)
