"""Reading CloudWatch: series of one statistic per period, and which metrics exist.

Every call goes through GetMetricData (exact dimension sets; moto's GetMetricStatistics matches
dimensions as a subset and would add the per-slot counts into the service-wide ones). A failed call
becomes a series with an ``error``, never an exception: the caller decides, and fails closed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bedrock_release.monitoring.catalogue import MetricKey
from bedrock_release.monitoring.definitions import MetricQuery

__all__ = ["Series", "aligned_window", "api_error", "datapoint_counts", "fetch_series", "listed_metrics"]

_MAX_QUERIES_PER_CALL = 500


@dataclass(frozen=True)
class Series:
    """One statistic of one metric, per period, ascending; ``error`` when CloudWatch did not answer."""

    query_id: str
    key: MetricKey
    stat: str
    period_s: int
    points: tuple[tuple[datetime, float], ...] = ()
    error: str | None = None

    @property
    def values(self) -> tuple[float, ...]:
        """The values, oldest first."""
        return tuple(v for _, v in self.points)

    def by_time(self) -> dict[datetime, float]:
        """Values keyed by period start."""
        return dict(self.points)


@dataclass(frozen=True)
class _Request:
    query: MetricQuery
    stat: str
    qid: str = field(default="")


def api_error(exc: BaseException) -> str:
    """A short, loggable description of a botocore failure."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = str(err.get("Message", ""))[:160].replace("\n", " ")
        return f"{err.get('Code', 'ClientError')} (HTTP {status}): {message}"
    return f"{type(exc).__name__}: {exc}"


def aligned_window(end: datetime, window_s: float, period_s: int) -> tuple[datetime, datetime]:
    """[start, end) covering ``window_s`` before ``end``, on period boundaries (as CloudWatch stores them)."""
    end = end.astimezone(UTC)
    epoch = end.timestamp()
    end_aligned = math.ceil(epoch / period_s) * period_s
    start_aligned = math.floor((epoch - window_s) / period_s) * period_s
    if start_aligned >= end_aligned:
        start_aligned = end_aligned - period_s
    return datetime.fromtimestamp(start_aligned, UTC), datetime.fromtimestamp(end_aligned, UTC)


def _call(
    cw: Any, requests: Sequence[_Request], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, Any]]]:
    queries = [
        {"Id": r.qid, "MetricStat": {**r.query.metric_stat(), "Stat": r.stat}, "ReturnData": True}
        for r in requests
    ]
    out: dict[str, list[tuple[datetime, Any]]] = {r.qid: [] for r in requests}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        if token:
            kwargs["NextToken"] = token
        response = cw.get_metric_data(**kwargs)
        for result in response.get("MetricDataResults", []):
            pairs = zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
            out.setdefault(result["Id"], []).extend(pairs)
        token = response.get("NextToken")
        if not token:
            return out


def _series(req: _Request, raw: Iterable[tuple[datetime, Any]]) -> Series:
    points: list[tuple[datetime, float]] = []
    for ts, value in raw:
        if value is None:
            return Series(
                req.query.id,
                req.query.key,
                req.stat,
                req.query.period_s,
                error="CloudWatch returned no value",
            )
        number = float(value)
        if not math.isfinite(number):
            return Series(
                req.query.id, req.query.key, req.stat, req.query.period_s, error=f"non-finite value {value!r}"
            )
        points.append((ts.astimezone(UTC), number))
    points.sort(key=lambda p: p[0])
    return Series(req.query.id, req.query.key, req.stat, req.query.period_s, tuple(points))


def fetch_series(
    cw: Any,
    queries: Sequence[MetricQuery],
    start: datetime,
    end: datetime,
    *,
    stat: str | None = None,
) -> dict[str, Series]:
    """One series per query (its own stat, or ``stat`` for all), keyed by query id."""
    requests = [_Request(q, stat or q.stat, qid=f"q{i}") for i, q in enumerate(queries)]
    result: dict[str, Series] = {}
    for offset in range(0, len(requests), _MAX_QUERIES_PER_CALL):
        chunk = requests[offset : offset + _MAX_QUERIES_PER_CALL]
        try:
            raw = _call(cw, chunk, start, end)
        except (ClientError, BotoCoreError) as exc:
            why = api_error(exc)
            for r in chunk:
                result[r.query.id] = Series(r.query.id, r.query.key, r.stat, r.query.period_s, error=why)
            continue
        for r in chunk:
            result[r.query.id] = _series(r, raw.get(r.qid, []))
    return result


def datapoint_counts(
    cw: Any, keys: Sequence[MetricKey], start: datetime, end: datetime
) -> tuple[dict[MetricKey, int], str | None]:
    """How many samples each metric received in [start, end) (SampleCount), and an error if any.

    One period spans the whole window (rounded up to whole minutes): one value per metric, and
    moto, which scans all its samples once per period and query, stays fast.
    """
    period_s = max(60, math.ceil((end - start).total_seconds() / 60) * 60)
    queries = [MetricQuery(f"m{i}", key, "SampleCount", period_s) for i, key in enumerate(keys)]
    series = fetch_series(cw, queries, start, end)
    counts: dict[MetricKey, int] = {}
    error = None
    for q in queries:
        s = series[q.id]
        if s.error:
            error = error or s.error
        counts[q.key] = int(sum(s.values))
    return counts, error


def listed_metrics(cw: Any, keys: Iterable[MetricKey]) -> tuple[set[MetricKey], str | None]:
    """Which of these exact metrics ListMetrics shows, and an error if a call failed.

    One call per metric with its name and dimensions as the filter (ListMetrics returns metrics that
    have *at least* those dimensions; the exact set is matched here). Narrow calls also keep moto
    fast: it de-duplicates its per-sample entries in quadratic time.
    """
    found: set[MetricKey] = set()
    error: str | None = None
    paginator = cw.get_paginator("list_metrics")
    for key in sorted(set(keys)):
        kwargs: dict[str, Any] = {
            "Namespace": key.namespace,
            "MetricName": key.name,
            "Dimensions": key.api_dimensions(),
        }
        try:
            for page in paginator.paginate(**kwargs):
                for metric in page.get("Metrics", []):
                    dims: Mapping[str, str] = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                    seen = MetricKey.of(metric.get("Namespace", key.namespace), metric["MetricName"], dims)
                    if seen == key:
                        found.add(key)
                        break
                if key in found:
                    break
        except (ClientError, BotoCoreError) as exc:
            error = error or api_error(exc)
    return found, error


def default_since(until: datetime, hours: float = 3.0) -> datetime:
    """CloudWatch keeps 1-minute data for 15 days; three hours back covers one deploy."""
    return until - timedelta(hours=hours)
