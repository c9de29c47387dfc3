"""The locust results file the locustfile's ``quitting`` hook writes, parsed and validated.

Schema ``bedrock-release/load-results@2``::

    {"schema", "host", "verification": bool, "run_tag", "started_at": epoch s, "duration_s",
     "latency_scheme": "decimal-3", "workers": [id, ...], "complete": bool, "problems": [text],
     "stopped_early": null | {"t", "reason"},
     "kinds": {kind: {"requests", "failures", "no_response_time", "latency": {bucket: count},
                      "failure_reasons"?: {text: count}}},
     "locust_stats": {kind: {"requests", "failures"}},
     "series": [{"t": s since start, "counts": {kind: [requests, failures]}}, ...]}

``latency`` counts the exact response times (from locust's ``request`` event, merged across the
workers) in decimal-3 buckets, each named by its upper bound (``gates.histogram.latency_bucket``).
``locust_stats`` is what locust itself merged from the same worker reports; the two must agree.
``series`` holds cumulative counts every second from the start (t = 0) to the end of the load (the
stop), by completion time; a kind absent from a point has had no request yet. ``duration_s`` is how
long load was offered (until the stop began). Anything missing, empty, corrupt, inconsistent or
incomplete (a worker whose final report never came) is a ``LoadResultsError`` naming the file and
the problem, which the gates turn into inconclusive.

The progress file (``bedrock-release/load-progress@1``: ``{"schema", "t", "latency_scheme",
"workers", "kinds"}``) is what the master had merged at ``t``; :func:`parse_progress` reads it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrock_release.gates.histogram import LATENCY_SCHEME, DataError, Histogram, from_buckets
from bedrock_release.gates.slo import CounterSample, parse_series
from bedrock_release.load.record import PROGRESS_SCHEMA, SCHEMA

__all__ = [
    "ALL",
    "PROGRESS_SCHEMA",
    "SCHEMA",
    "KindStats",
    "LoadProgress",
    "LoadResults",
    "LoadResultsError",
    "load_results",
    "parse_progress",
    "parse_results",
    "read_progress",
]

#: The pseudo-kind of every request together.
ALL = "all"


class LoadResultsError(ValueError):
    """A results file that cannot support a verdict: names the file and what is wrong with it."""

    def __init__(self, path: str, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"locust results {path}: {problem}")


@dataclass(frozen=True)
class KindStats:
    """Totals of one request kind: count, failures and its exact response times in decimal-3 buckets."""

    name: str
    requests: int
    failures: int
    latency: Histogram
    failure_reasons: Mapping[str, int]

    def histogram(self) -> Histogram:
        """Return the response times (ms); every bucket is a range (lower, upper]."""
        return self.latency

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready totals (the histogram as [lower, upper, count] rows)."""
        return {
            "requests": self.requests,
            "failures": self.failures,
            "latency": self.latency.to_dict(),
            "failure_reasons": dict(self.failure_reasons),
        }


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
    workers: tuple[str, ...] = ()
    stopped_early: Mapping[str, Any] | None = None

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
            "workers": len(self.workers),
            "stopped_early": dict(self.stopped_early) if self.stopped_early else None,
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
    buckets = raw.get("latency")
    if not isinstance(buckets, Mapping):
        raise _fail(path, f"kinds.{name}.latency must be an object of {LATENCY_SCHEME} bucket counts")
    try:
        histogram = from_buckets(buckets)
    except DataError as exc:
        raise _fail(path, f"kinds.{name}.latency: {exc}") from None
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
    return KindStats(name, requests, failures, histogram, dict(reasons))


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


def _scheme(data: Mapping[str, Any], path: str) -> None:
    if data.get("latency_scheme") != LATENCY_SCHEME:
        raise _fail(
            path,
            f"latency_scheme {data.get('latency_scheme')!r} is not {LATENCY_SCHEME!r}: "
            "the bucket bounds are unknown",
        )


def _kinds(data: Mapping[str, Any], path: str) -> dict[str, KindStats]:
    kinds_raw = data.get("kinds")
    if not isinstance(kinds_raw, Mapping):
        raise _fail(path, "kinds must be an object")
    kinds = {str(name): _kind(str(name), raw, path) for name, raw in kinds_raw.items()}
    if ALL in kinds:
        raise _fail(path, f"{ALL!r} is reserved and cannot be a request kind")
    return kinds


def _complete(data: Mapping[str, Any], kinds: Mapping[str, KindStats], path: str) -> tuple[str, ...]:
    """The merge is whole: every worker's final report came, and locust's own merge agrees with it."""
    problems = data.get("problems", [])
    if data.get("complete") is not True or problems:
        listed = "; ".join(str(p) for p in problems) if isinstance(problems, list) else repr(problems)
        raise _fail(path, f"incomplete: {listed or 'complete is not true'}")
    workers = data.get("workers")
    if not isinstance(workers, list) or not workers or not all(isinstance(w, str) for w in workers):
        raise _fail(path, f"workers must list the workers that reported, got {workers!r}")
    merged = data.get("locust_stats")
    if not isinstance(merged, Mapping):
        raise _fail(path, "locust_stats (locust's own merge) must be an object")
    for name in sorted(set(merged) | set(kinds)):
        row = merged.get(name) if isinstance(merged.get(name), Mapping) else {}
        ours = kinds.get(name)
        theirs = (row.get("requests"), row.get("failures"))
        if ours is None or theirs != (ours.requests, ours.failures):
            mine = (ours.requests, ours.failures) if ours else (0, 0)
            raise _fail(
                path,
                f"{name}: locust merged {theirs[0]}/{theirs[1]} requests/failures, "
                f"the exact-latency record {mine[0]}/{mine[1]}",
            )
    return tuple(workers)


def _stopped_early(raw: Any, path: str) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("reason"), str):
        raise _fail(path, f"stopped_early must be null or {{t, reason}}, got {raw!r}")
    return {"t": _number(raw.get("t"), path, "stopped_early.t"), "reason": raw["reason"]}


def _document(data: Any, path: str, schema: str) -> Mapping[str, Any]:
    """An object of this schema whose latency buckets are decimal-3."""
    if not isinstance(data, Mapping):
        raise _fail(path, f"expected a JSON object, got {type(data).__name__}")
    if data.get("schema") != schema:
        raise _fail(path, f"wrong schema {data.get('schema')!r}, expected {schema!r}")
    _scheme(data, path)
    return data


def parse_results(data: Any, *, path: str) -> LoadResults:
    """Validate decoded results data; LoadResultsError names the problem."""
    data = _document(data, path, SCHEMA)
    kinds = _kinds(data, path)
    workers = _complete(data, kinds, path)
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
        workers=workers,
        stopped_early=_stopped_early(data.get("stopped_early"), path),
    )


def _read_json(path: str | os.PathLike[str], missing: str) -> Any:
    name = str(path)
    file = Path(path)
    if not file.exists():
        raise _fail(name, missing)
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
    return data


def load_results(path: str | os.PathLike[str]) -> LoadResults:
    """Read and validate a results file: missing, empty, not JSON or inconsistent raise LoadResultsError."""
    data = _read_json(path, "missing: locust wrote no results (did it start, and did its quitting hook run?)")
    return parse_results(data, path=str(path))


@dataclass(frozen=True)
class LoadProgress:
    """What the locust master had merged ``t`` seconds into the load: per kind totals so far."""

    path: str
    t: float
    kinds: Mapping[str, KindStats]
    workers: tuple[str, ...]


def parse_progress(data: Any, *, path: str) -> LoadProgress:
    """Validate decoded progress data; LoadResultsError names the problem."""
    data = _document(data, path, PROGRESS_SCHEMA)
    t = _number(data.get("t"), path, "t")
    workers = data.get("workers")
    if not isinstance(workers, list) or not all(isinstance(w, str) for w in workers):
        raise _fail(path, f"workers must list the workers that reported, got {workers!r}")
    return LoadProgress(path, t, _kinds(data, path), tuple(workers))


def read_progress(path: str | os.PathLike[str]) -> LoadProgress:
    """Read the master's progress file; LoadResultsError when it is missing or damaged."""
    return parse_progress(_read_json(path, "missing: no progress written yet"), path=str(path))
