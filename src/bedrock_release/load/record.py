"""What the locust workers measured, and the master's merge of it (no locust here: tested on its own).

locust's own statistics keep response times rounded to about two significant digits, which cannot
decide a P95 against 1500 ms or 300 ms. So every worker also records each request from locust's
``request`` event - its kind, when it completed, whether it failed and its exact response time's
decimal-3 bucket (``gates.histogram.latency_bucket``) - in a :class:`RequestLog`, and sends what it
recorded since its last report with locust's own worker report (``report_to_master``). The master
merges every report into one :class:`LoadRecord`: per kind totals and latency buckets, the per-second
cumulative series. Each request is placed by its completion time, so the
merge is exact however late a report arrives. A worker marks its report ``final`` once its users have
stopped: the record is complete when every worker sent one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bedrock_release.gates.histogram import LATENCY_SCHEME, DataError, bucket_bounds, latency_bucket

__all__ = ["PROGRESS_SCHEMA", "SCHEMA", "KindTotals", "LoadRecord", "RecordError", "RequestLog"]

#: The results file's schema (load/results.py reads it).
SCHEMA = "bedrock-release/load-results@2"
#: The progress file's schema: what the master had merged so far.
PROGRESS_SCHEMA = "bedrock-release/load-progress@1"


class RecordError(ValueError):
    """A worker report the master cannot merge; names the worker and the problem."""


class RequestLog:
    """One worker's requests since its last report: ``[kind, completed_at, failed, bucket or None]``."""

    def __init__(self) -> None:
        self._events: list[list[Any]] = []
        self.final = False

    def record(self, kind: str, completed_at: float, failed: bool, response_time_ms: float | None) -> None:
        """Keep one request (a response time of None: locust measured none, e.g. a connection error)."""
        bucket = None if response_time_ms is None else latency_bucket(response_time_ms)
        self._events.append([kind, round(completed_at, 4), 1 if failed else 0, bucket])

    def report(self) -> dict[str, Any]:
        """Return what to send the master now, and forget it (each request is sent exactly once)."""
        events, self._events = self._events, []
        return {"events": events, "final": self.final}


@dataclass
class KindTotals:
    """One kind's requests, failures, requests without a response time, and decimal-3 bucket counts."""

    requests: int = 0
    failures: int = 0
    no_response_time: int = 0
    latency: dict[str, int] = field(default_factory=dict)

    def add(self, failed: bool, bucket: str | None) -> None:
        """Count one request."""
        self.requests += 1
        self.failures += failed
        if bucket is None:
            self.no_response_time += 1
        else:
            self.latency[bucket] = self.latency.get(bucket, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        """Return the results file's shape of one kind."""
        return {
            "requests": self.requests,
            "failures": self.failures,
            "no_response_time": self.no_response_time,
            "latency": dict(sorted(self.latency.items(), key=lambda kv: _bucket_order(kv[0]))),
        }


def _bucket_order(key: str) -> float:
    return math.inf if key == "+Inf" else float(key)


def _event(worker: str, raw: Any) -> tuple[str, float, bool, str | None]:
    if not isinstance(raw, list | tuple) or len(raw) != 4:
        raise RecordError(f"worker {worker}: event {raw!r} is not [kind, completed_at, failed, bucket]")
    kind, completed, failed, bucket = raw
    if not isinstance(kind, str) or not kind:
        raise RecordError(f"worker {worker}: event kind {kind!r} must be a non-empty name")
    if isinstance(completed, bool) or not isinstance(completed, int | float) or not math.isfinite(completed):
        raise RecordError(f"worker {worker}: completion time {completed!r} is not a finite number")
    if failed not in (0, 1) or isinstance(failed, float):
        raise RecordError(f"worker {worker}: failed must be 0 or 1, got {failed!r}")
    if bucket is not None:
        if not isinstance(bucket, str):
            raise RecordError(f"worker {worker}: latency bucket {bucket!r} must be text")
        try:
            bucket_bounds(bucket)
        except DataError as exc:
            raise RecordError(f"worker {worker}: {exc}") from None
    return kind, float(completed), bool(failed), bucket


class LoadRecord:
    """The master's merge of every worker report, placed by completion time relative to ``started_at``."""

    def __init__(self, started_at: float) -> None:
        self.started_at = started_at
        self.totals: dict[str, KindTotals] = {}
        self.workers: set[str] = set()
        self.finished: set[str] = set()
        self.reports = 0
        # second index -> kind -> [requests, failures]; second k holds completions in (k - 1, k].
        self._seconds: dict[int, dict[str, list[int]]] = {}

    def add(self, worker: str, report: Mapping[str, Any]) -> None:
        """Merge one worker report (``RequestLog.report()``); RecordError names what is wrong with it."""
        events = report.get("events")
        if not isinstance(events, list):
            raise RecordError(f"worker {worker}: report without an events list")
        parsed = [_event(worker, raw) for raw in events]  # all or nothing: a bad report adds nothing
        self.workers.add(worker)
        self.reports += 1
        for kind, completed, failed, bucket in parsed:
            self.totals.setdefault(kind, KindTotals()).add(failed, bucket)
            offset = completed - self.started_at
            second = max(1, math.ceil(offset))
            entry = self._seconds.setdefault(second, {}).setdefault(kind, [0, 0])
            entry[0] += 1
            entry[1] += failed
        if report.get("final") is True:
            self.finished.add(worker)

    @property
    def requests(self) -> int:
        """Return the number of requests merged so far."""
        return sum(t.requests for t in self.totals.values())

    def missing_final(self, expected: Iterable[str]) -> list[str]:
        """Return the workers (of those expected) that sent no final report."""
        return sorted(set(expected) - self.finished)

    def kinds(self) -> dict[str, dict[str, Any]]:
        """Return every kind's totals in the results file's shape."""
        return {kind: totals.to_dict() for kind, totals in sorted(self.totals.items())}

    def series(self, duration_s: float) -> list[dict[str, Any]]:
        """Return cumulative [requests, failures] per kind at t = 0, 1, ... and at the end (duration_s).

        Requests that completed after the end (in flight when the load stopped) land in the last point.
        """
        whole = math.floor(duration_s)
        ticks = [float(t) for t in range(whole + 1)]
        if duration_s > whole:
            ticks.append(duration_s)
        running: dict[str, list[int]] = {}
        points = []
        pending = sorted(self._seconds.items())
        index = 0
        for position, t in enumerate(ticks):
            last = position == len(ticks) - 1
            while index < len(pending) and (last or pending[index][0] <= t):
                for kind, (requests, failures) in pending[index][1].items():
                    entry = running.setdefault(kind, [0, 0])
                    entry[0] += requests
                    entry[1] += failures
                index += 1
            points.append({"t": round(t, 3), "counts": {k: list(v) for k, v in sorted(running.items())}})
        return points

    def progress(self, t: float) -> dict[str, Any]:
        """Return the progress document: what is merged ``t`` seconds into the load."""
        return {
            "schema": PROGRESS_SCHEMA,
            "t": round(t, 3),
            "latency_scheme": LATENCY_SCHEME,
            "workers": sorted(self.workers),
            "kinds": self.kinds(),
        }

    def results(
        self,
        *,
        host: str | None,
        verification: bool,
        run_tag: str,
        duration_s: float,
        expected_workers: Iterable[str],
        locust_stats: Mapping[str, Mapping[str, int]],
        failure_reasons: Mapping[str, Mapping[str, int]],
        stop_reason: str | None = None,
        problems: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Return the results document (load/results.py): the merge, and locust's own merge beside it.

        ``complete`` is true only when every expected worker sent its final report and nothing in the
        reports was refused; otherwise ``problems`` says what is missing.
        """
        found = list(problems)
        missing = self.missing_final(expected_workers)
        if missing:
            found.append(f"no final report from worker(s) {missing}: requests may be missing")
        if not self.workers:
            found.append("no worker reported")
        kinds = self.kinds()
        for name, reasons in failure_reasons.items():
            if name in kinds:
                kinds[name]["failure_reasons"] = dict(reasons)
        return {
            "schema": SCHEMA,
            "host": host,
            "verification": verification,
            "run_tag": run_tag,
            "started_at": self.started_at,
            "duration_s": round(duration_s, 3),
            "latency_scheme": LATENCY_SCHEME,
            "workers": sorted(self.workers),
            "complete": not found,
            "problems": found,
            "stopped_early": None
            if stop_reason is None
            else {"t": round(duration_s, 3), "reason": stop_reason},
            "kinds": kinds,
            "locust_stats": {name: dict(row) for name, row in sorted(locust_stats.items())},
            "series": self.series(duration_s),
        }
