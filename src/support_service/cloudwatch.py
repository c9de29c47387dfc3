"""Batched CloudWatch publishing (``PutMetricData``) for the dashboards and alarms of plan phase 7.

Counts are summed and latencies collected as value/count pairs between flushes, so memory is bounded by
metric cardinality, not by traffic. A background thread flushes every interval in batches of at most
1000 datums (the API's limit per request); a failed batch is counted and dropped, never raised.
Metric names and dimensions: docs/metrics.md.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["MAX_DATUMS_PER_REQUEST", "CloudWatchPublisher", "FlushResult", "GaugeSample"]

_log = logging.getLogger(__name__)

MAX_DATUMS_PER_REQUEST = 1000
_MAX_VALUES_PER_DATUM = 150  # PutMetricData's limit on Values/Counts per datum

_Dims = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class GaugeSample:
    """A gauge value read at flush time."""

    name: str
    dimensions: Mapping[str, str]
    value: float
    unit: str = "None"


@dataclass(frozen=True)
class FlushResult:
    """What one flush sent."""

    datums: int
    batches: int
    failed_batches: int


class CloudWatchPublisher:
    """Aggregates metric observations and publishes them to one namespace."""

    def __init__(
        self,
        client: Any,
        namespace: str,
        *,
        interval_s: float,
        gauges: Callable[[], Iterable[GaugeSample]] | None = None,
        on_failure: Callable[[Exception], None] | None = None,
        batch_size: int = MAX_DATUMS_PER_REQUEST,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not 1 <= batch_size <= MAX_DATUMS_PER_REQUEST:
            raise ValueError(f"batch_size must be 1..{MAX_DATUMS_PER_REQUEST}")
        self._client = client
        self.namespace = namespace
        self.interval_s = interval_s
        self._gauges = gauges
        self._on_failure = on_failure
        self._batch_size = batch_size
        self._now = now
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, _Dims, str], float] = {}
        self._distributions: dict[tuple[str, _Dims, str], dict[float, int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.published_datums = 0
        self.failed_batches = 0
        self.last_error: str | None = None

    def count(
        self, name: str, dimensions: Mapping[str, str], value: float = 1.0, unit: str = "Count"
    ) -> None:
        """Add to a summed metric."""
        key = (name, tuple(sorted(dimensions.items())), unit)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0.0) + value

    def observe(
        self, name: str, dimensions: Mapping[str, str], value: float, unit: str = "Milliseconds"
    ) -> None:
        """Record one sample of a distribution (CloudWatch computes percentiles from them)."""
        key = (name, tuple(sorted(dimensions.items())), unit)
        # One decimal keeps the number of distinct values (and so datums) small at no useful loss.
        rounded = round(value, 1)
        with self._lock:
            values = self._distributions.setdefault(key, {})
            values[rounded] = values.get(rounded, 0) + 1

    def pending(self) -> int:
        """Aggregated series waiting for the next flush."""
        with self._lock:
            return len(self._counts) + len(self._distributions)

    def flush(self) -> FlushResult:
        """Send everything aggregated so far (and the gauges); never raises."""
        with self._lock:
            counts, self._counts = self._counts, {}
            distributions, self._distributions = self._distributions, {}
        timestamp = self._now()
        datums = [
            _datum(name, dims, unit, timestamp, Value=value) for (name, dims, unit), value in counts.items()
        ]
        for (name, dims, unit), values in distributions.items():
            pairs = sorted(values.items())
            for start in range(0, len(pairs), _MAX_VALUES_PER_DATUM):
                chunk = pairs[start : start + _MAX_VALUES_PER_DATUM]
                datums.append(
                    _datum(
                        name,
                        dims,
                        unit,
                        timestamp,
                        Values=[v for v, _ in chunk],
                        Counts=[float(c) for _, c in chunk],
                    )
                )
        if self._gauges is not None:
            try:
                samples = list(self._gauges())
            except Exception as exc:  # a broken gauge source must not stop the counters from going out
                _log.warning("CloudWatch gauge source failed: %s", exc)
                samples = []
            for sample in samples:
                dims = tuple(sorted(sample.dimensions.items()))
                datums.append(_datum(sample.name, dims, sample.unit, timestamp, Value=sample.value))
        batches = failed = 0
        for start in range(0, len(datums), self._batch_size):
            batch = datums[start : start + self._batch_size]
            batches += 1
            try:
                self._client.put_metric_data(Namespace=self.namespace, MetricData=batch)
            except Exception as exc:
                failed += 1
                self.failed_batches += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                _log.warning("CloudWatch batch of %d datums dropped: %s", len(batch), self.last_error)
                if self._on_failure is not None:
                    self._on_failure(exc)
            else:
                self.published_datums += len(batch)
        return FlushResult(datums=len(datums), batches=batches, failed_batches=failed)

    def start(self) -> None:
        """Flush every interval on a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="cloudwatch-publisher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a last flush."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def stats(self) -> dict[str, object]:
        """Publishing counters for /health."""
        return {
            "namespace": self.namespace,
            "published_datums": self.published_datums,
            "failed_batches": self.failed_batches,
            "last_error": self.last_error,
        }

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()
        self.flush()


def _datum(name: str, dims: _Dims, unit: str, timestamp: datetime, **value: Any) -> dict[str, Any]:
    return {
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
        "Timestamp": timestamp,
        "Unit": unit,
        **value,
    }
