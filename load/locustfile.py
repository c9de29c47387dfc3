"""SLO load of the support service: generation, cached/frequent queries, support operations.

Run only as a subprocess by ``bedrock_release.load.runner`` (gevent's monkey-patching must not reach a
pytest process). Configured by environment variables the runner sets:

- ``LOAD_RESULTS``: where the ``quitting`` hook writes the results (JSON, schema in load_results.py);
- ``LOAD_STAGES``: the load profile, a JSON list of ``{"until_s", "users", "spawn_rate"}`` rows;
- ``LOAD_RPS_PER_USER``: requests per second of each simulated user;
- ``LOAD_TARGET_REQUESTS``, ``LOAD_MAX_S``: after the last stage the load holds its users until this
  many requests were sent (a machine too slow for the planned rate), but never past ``LOAD_MAX_S``;
- ``LOAD_VERIFICATION``: ``1`` sends ``X-Verification-Token`` (phase 3: the hybrid paths are evaluated
  before customers see them); anything else is customer traffic without the header;
- ``LOAD_RUN_TAG``: makes the unique queries of this run unique across runs;
- ``LOAD_WINDOW_S``: if set, the cumulative histograms are also snapshotted every that many seconds
  (the post-deployment watch evaluates each window);
- ``SUPPORT_ADMIN_TOKEN``: the verification token (only read when ``LOAD_VERIFICATION=1``).

Requests are named by what the service served: ``cached`` when the response says it came from the
cache (``route == "cache"``), otherwise the operation type (``generation``, ``emergency``,
``critical``, ``routine``). A non-200 answer or a body without a route is a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, LoadTestShape, constant_throughput, events, task
from locust.env import Environment

from bedrock_release.load.shape import Stage, stage_at

_SCHEMA = "bedrock-release/load-results@1"
_PATH = "/v1/support/operations"
_REGION = "eu-central-1"
_RPS_PER_USER = float(os.environ.get("LOAD_RPS_PER_USER", "5"))
_RUN_TAG = os.environ.get("LOAD_RUN_TAG", "adhoc")
_VERIFICATION = os.environ.get("LOAD_VERIFICATION") == "1"
_WINDOW_S = float(os.environ.get("LOAD_WINDOW_S") or 0)
_TARGET_REQUESTS = int(os.environ.get("LOAD_TARGET_REQUESTS") or 0)
_MAX_S = float(os.environ.get("LOAD_MAX_S") or 0)
_HEADERS = {"X-Verification-Token": os.environ["SUPPORT_ADMIN_TOKEN"]} if _VERIFICATION else {}

#: The frequent queries: a small set asked again and again (the cache's reason to exist).
FREQUENT_QUERIES = tuple(
    f"How do I {action} for workspace {n}?"
    for n, action in enumerate(
        [
            "rotate the API key",
            "raise the export rate limit",
            "reset the SSO configuration",
            "renew the TLS certificate",
            "restore a deleted project",
        ]
        * 4
    )
)
_counter = itertools.count()


def _unique(prefix: str) -> str:
    return f"{prefix} (ticket context {_RUN_TAG}-{next(_counter)})"


# --- what the service served: name each request by its response ----------------------------------


def _operation(user: FastHttpUser, op_type: str, query: str) -> None:
    body = {"type": op_type, "query": query, "customer_region": _REGION}
    with user.client.post(_PATH, json=body, headers=_HEADERS, name=op_type, catch_response=True) as response:
        if response.status_code != 200:
            response.failure(f"HTTP {response.status_code}")
            return
        try:
            route = json.loads(response.content or b"{}").get("route")
        except (ValueError, AttributeError):
            response.failure("answer is not JSON")
            return
        if route not in {"mcp", "direct", "cache"}:
            response.failure(f"answer without a route: {route!r}")
            return
        if route == "cache":
            # The request event fires on leaving the block: name it by what the service served.
            response.request_meta["name"] = "cached"
        response.success()


class GenerationUser(FastHttpUser):
    """Asks for generated implementation-gap analyses; each query is new, so none is cached."""

    weight = 3
    wait_time = constant_throughput(_RPS_PER_USER)

    @task
    def generation(self) -> None:
        """One generation operation."""
        _operation(self, "generation", _unique("Our OAuth token refresh fails with 401 after rotation"))


class FrequentQueryUser(FastHttpUser):
    """Asks the frequent questions; the cache (performance optimisation) answers most of them."""

    weight = 4
    wait_time = constant_throughput(_RPS_PER_USER)

    @task
    def frequent(self) -> None:
        """One routine operation from the frequent set."""
        _operation(self, "routine", FREQUENT_QUERIES[next(_counter) % len(FREQUENT_QUERIES)])


class SupportOperationsUser(FastHttpUser):
    """Files support operations of every priority."""

    weight = 3
    wait_time = constant_throughput(_RPS_PER_USER)

    @task(1)
    def emergency(self) -> None:
        """An emergency: production is down."""
        _operation(self, "emergency", _unique("Production outage: every API call returns 503"))

    @task(2)
    def critical(self) -> None:
        """A critical issue: a key feature is broken."""
        _operation(self, "critical", _unique("Payments webhook deliveries are failing since the upgrade"))

    @task(3)
    def routine(self) -> None:
        """A routine question."""
        _operation(self, "routine", _unique("Where do I find the audit export settings"))


# --- the load profile ------------------------------------------------------------------------------


def _stages() -> list[Stage]:
    raw = os.environ.get("LOAD_STAGES", '[{"until_s": 10, "users": 10, "spawn_rate": 10}]')
    rows = json.loads(raw)
    return [Stage(float(r["until_s"]), int(r["users"]), float(r["spawn_rate"])) for r in rows]


class StagesShape(LoadTestShape):
    """The load profile as a stages table: each row holds until its end time; then the test stops.

    A load that has not yet sent its planned requests by then holds the last stage until it has, or
    until ``LOAD_MAX_S``: a slow machine stretches the load instead of starving the gates.
    """

    stages = _stages()

    def tick(self) -> tuple[int, float] | None:
        """Return the (users, spawn rate) of the current stage, None once the load is done."""
        sent = self.runner.stats.total.num_requests
        stage = stage_at(self.stages, self.get_run_time(), sent, _TARGET_REQUESTS, _MAX_S)
        return None if stage is None else (stage.users, stage.spawn_rate)


# --- results: per kind count, failures, histogram; per-second cumulative counts ------------------


class _Series:
    """Cumulative (requests, failures) per kind, sampled every second from the test start."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}
        self.points: list[dict[str, Any]] = []
        self.windows: list[dict[str, Any]] = []
        self.environment: Environment | None = None
        self.started: float | None = None
        self.stopped: float | None = None
        self._sampler: gevent.Greenlet | None = None

    def on_request(self, name: str, exception: Any) -> None:
        if self.started is None:
            return
        entry = self.counts.setdefault(name, [0, 0])
        entry[0] += 1
        if exception is not None:
            entry[1] += 1

    def snapshot(self, t: float) -> None:
        self.points.append({"t": round(t, 3), "counts": {k: list(v) for k, v in self.counts.items()}})

    def histograms(self, t: float) -> None:
        """Snapshot every kind's cumulative totals and histogram (a window ends here)."""
        if self.environment is None:
            return
        self.windows.append({"t": round(t, 3), "kinds": _kind_totals(self.environment)})

    def start(self, environment: Environment) -> None:
        self.environment = environment
        self.started = time.time()
        self.snapshot(0.0)
        if _WINDOW_S:
            self.histograms(0.0)
        self._sampler = gevent.spawn(self._run)

    def _run(self) -> None:
        assert self.started is not None  # noqa: S101 - started before the sampler
        tick = 1
        while self.stopped is None:
            gevent.sleep(max(0.0, self.started + tick - time.time()))
            if self.stopped is None:
                self.snapshot(float(tick))
                if _WINDOW_S and int(tick // _WINDOW_S) != int((tick - 1) // _WINDOW_S):
                    self.histograms(float(tick))
            tick += 1

    def stop(self) -> None:
        if self.started is None:
            return
        if self.stopped is not None:
            # Requests still in flight when the test stopped land in the last point.
            self.points[-1]["counts"] = {k: list(v) for k, v in self.counts.items()}
            return
        self.stopped = time.time()
        if self._sampler is not None:
            self._sampler.kill(block=False)
        last = self.points[-1]["t"] if self.points else -1.0
        elapsed = self.stopped - self.started
        if elapsed > last:
            self.snapshot(elapsed)
        else:
            self.points[-1]["counts"] = {k: list(v) for k, v in self.counts.items()}

    def finish_windows(self) -> None:
        """Make the last window end with the run (requests still in flight included)."""
        if not _WINDOW_S or self.environment is None or not self.points:
            return
        last = self.points[-1]["t"]
        final = {"t": last, "kinds": _kind_totals(self.environment)}
        # The stop lands a moment after the last boundary: that sliver joins the last window
        # instead of being a window of its own with too few samples to judge.
        if len(self.windows) > 1 and last - self.windows[-1]["t"] < _WINDOW_S / 2:
            self.windows[-1] = final
        else:
            self.windows.append(final)


_series = _Series()


@events.request.add_listener
def _on_request(name: str, exception: Any = None, **_: Any) -> None:
    _series.on_request(name, exception)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    _series.start(environment)


@events.test_stop.add_listener
def _on_test_stop(**_: Any) -> None:
    _series.stop()


def _kind_totals(environment: Environment) -> dict[str, dict[str, Any]]:
    """Per request kind: requests, failures and the full response-time histogram so far."""
    kinds: dict[str, dict[str, Any]] = {}
    for (name, _method), entry in environment.stats.entries.items():
        kind = kinds.setdefault(
            name, {"requests": 0, "failures": 0, "no_response_time": 0, "response_times": {}}
        )
        kind["requests"] += entry.num_requests
        kind["failures"] += entry.num_failures
        kind["no_response_time"] += entry.num_none_requests
        for value, count in entry.response_times.items():
            key = str(value)
            kind["response_times"][key] = kind["response_times"].get(key, 0) + count
    return kinds


@events.quitting.add_listener
def _write_results(environment: Environment, **_: Any) -> None:
    _series.stop()
    _series.finish_windows()
    kinds = _kind_totals(environment)
    errors: dict[str, dict[str, int]] = {}
    for error in environment.stats.errors.values():
        errors.setdefault(error.name, {})
        errors[error.name][str(error.error)] = errors[error.name].get(str(error.error), 0) + error.occurrences
    for name, reasons in errors.items():
        if name in kinds:
            kinds[name]["failure_reasons"] = reasons
    started = _series.started or time.time()
    doc = {
        "schema": _SCHEMA,
        "host": environment.host,
        "verification": _VERIFICATION,
        "run_tag": _RUN_TAG,
        "started_at": started,
        "duration_s": round((_series.stopped or time.time()) - started, 3),
        "kinds": kinds,
        "series": _series.points,
    }
    if _WINDOW_S:
        doc["window_s"] = _WINDOW_S
        doc["windows"] = _series.windows
    path = Path(os.environ["LOAD_RESULTS"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    tmp.replace(path)  # the runner sees either no file or a complete one
