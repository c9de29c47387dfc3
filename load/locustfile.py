"""SLO load of the support service: generation, cached/frequent queries, support operations.

Run only as subprocesses by ``bedrock_release.load.runner`` (gevent's monkey-patching must not reach a
pytest process), in locust's distributed mode: one master (``--master``: the load profile, the merge,
the results) and one or more workers (``--worker``: the users). Every worker records each request's
exact response time from the ``request`` event (``bedrock_release.load.record``) and sends it with its
report to the master, once a second; the master merges the reports (locust merges its own statistics
beside them), writes the merged totals to ``LOAD_PROGRESS`` once a second while the load runs, and the
results from its ``quitting`` hook. Configured by environment variables the runner sets:

- ``LOAD_RESULTS``: where the master's ``quitting`` hook writes the results (schema in load/results.py);
- ``LOAD_PROGRESS``: where the master writes what it has merged so far, once a second;
- ``LOAD_STOP``: a file the runner creates (its text: why) to end the load now, e.g. on a proven breach;
- ``LOAD_STAGES``: the load profile, a JSON list of ``{"until_s", "users", "spawn_rate"}`` rows;
- ``LOAD_RPS_PER_USER``: requests per second of each simulated user;
- ``LOAD_TARGET_REQUESTS``, ``LOAD_MAX_S``: after the last stage the load holds its users until this
  many requests were sent (a machine too slow for the planned rate), but never past ``LOAD_MAX_S``;
- ``LOAD_VERIFICATION``: ``1`` sends ``X-Verification-Token`` (phase 3: the hybrid paths are evaluated
  before customers see them); anything else is customer traffic without the header;
- ``LOAD_RUN_TAG``: makes the unique queries of this run unique across runs;
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
import locust.runners
from locust import FastHttpUser, LoadTestShape, constant_throughput, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from bedrock_release.load.record import LoadRecord, RecordError, RequestLog
from bedrock_release.load.shape import Stage, stage_at

# Workers report to the master four times a second (locust's default: every 3 s): the live gates see a
# request within a quarter of a second, and the load profile knows as soon how many were sent.
locust.runners.WORKER_REPORT_INTERVAL = 0.25

#: How often the master writes new progress and looks for the runner's stop request.
_WATCH_S = 0.2
#: How long the master waits for its forked workers before locust's own wait takes over.
_WORKERS_READY_S = 10.0
_PATH = "/v1/support/operations"
_REGION = "eu-central-1"
_RPS_PER_USER = float(os.environ.get("LOAD_RPS_PER_USER", "5"))
_RUN_TAG = os.environ.get("LOAD_RUN_TAG", "adhoc")
_VERIFICATION = os.environ.get("LOAD_VERIFICATION") == "1"
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
    # Every worker counts from the same number (they are forked from one process): the process id,
    # read now, keeps the unique queries of two workers apart.
    return f"{prefix} (ticket context {_RUN_TAG}-{os.getpid():x}-{next(_counter)})"


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


# --- the load profile (master) ----------------------------------------------------------------------


def _stages() -> list[Stage]:
    raw = os.environ.get("LOAD_STAGES", '[{"until_s": 10, "users": 10, "spawn_rate": 10}]')
    rows = json.loads(raw)
    return [Stage(float(r["until_s"]), int(r["users"]), float(r["spawn_rate"])) for r in rows]


class StagesShape(LoadTestShape):
    """The load profile as a stages table: each row holds until its end time; then the test stops.

    A load that has not yet sent its planned requests by then holds the last stage until it has, or
    until ``LOAD_MAX_S``: a slow machine stretches the load instead of starving the gates. The load
    also ends when the runner asks for it (``LOAD_STOP``). Ending, the master asks every worker to stop
    its users and waits for each worker's final report before it quits, so no request is lost.
    """

    stages = _stages()
    _holding: tuple[int, float] | None = None

    def stage(self) -> Stage | None:
        """Return the stage that holds now, None once the load is done."""
        sent = self.runner.stats.total.num_requests
        return stage_at(self.stages, self.get_run_time(), sent, _TARGET_REQUESTS, _MAX_S)

    def tick(self) -> tuple[int, float] | None:
        """Return the (users, spawn rate) of the current stage; the master's watch ends the load."""
        stage = None if _master.stopping else self.stage()
        if stage is not None:
            self._holding = (stage.users, stage.spawn_rate)
        return self._holding


def _stop_requested() -> str | None:
    path = os.environ.get("LOAD_STOP")
    if not path or not os.path.exists(path):
        return None
    return Path(path).read_text(encoding="utf-8", errors="replace").strip() or "stop requested"


# --- workers: every request, exactly -------------------------------------------------------------

_log = RequestLog()


@events.request.add_listener
def _on_request(
    name: str,
    response_time: float | None = None,
    exception: Any = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    now = time.time()
    completed = (
        start_time + response_time / 1000 if start_time is not None and response_time is not None else now
    )
    _log.record(name, completed, exception is not None, response_time)


@events.report_to_master.add_listener
def _on_report_to_master(data: dict[str, Any], **_: Any) -> None:
    data["bedrock"] = _log.report()


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_: Any) -> None:
    # On a worker test_stop fires once its users have stopped: its next report holds every request.
    if isinstance(environment.runner, WorkerRunner):
        _log.final = True


def _stop_users(environment: Environment, **_: Any) -> None:
    environment.runner.stop()


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        # concurrent: stopping users waits for their requests in flight; heartbeats must go on meanwhile.
        runner.register_message("bedrock_stop", _stop_users, concurrent=True)
    elif isinstance(runner, MasterRunner):
        # locust's own wait for the workers looks once a second, so it always costs a second; the
        # forked workers are ready within milliseconds: wait for them here in steps of 50 ms first.
        expected = int(getattr(environment.parsed_options, "expect_workers", 0) or 0)
        deadline = time.monotonic() + _WORKERS_READY_S
        while len(runner.clients.ready) < expected and time.monotonic() < deadline:
            gevent.sleep(0.05)


# --- the master: merge, progress, results ---------------------------------------------------------


class _Master:
    """The master's merge of the workers' reports, its progress file and its end of the load."""

    def __init__(self) -> None:
        self.environment: Environment | None = None
        self.record: LoadRecord | None = None
        self.problems: list[str] = []
        self.stopping = False
        self.stop_at: float | None = None
        self.stop_reason: str | None = None
        self.expected: set[str] = set()

    def start(self, environment: Environment) -> None:
        self.environment = environment
        self.record = LoadRecord(time.time())
        gevent.spawn(self._watch, environment.runner)

    def _watch(self, runner: Any) -> None:
        """Write the progress as reports come in; end the load when its profile is done or the runner asks.

        Ending: every worker is asked to stop its users; once each has sent its final report, the shape
        greenlet is ended, and locust quits as after any shape (its quitting hook writes the results).
        """
        written = -1
        while self.record is not None:
            if self.record.reports != written:
                written = self.record.reports
                self.write_progress()
            if not self.stopping:
                reason = _stop_requested()
                shape = self.environment.shape_class if self.environment else None
                if reason is not None or (shape is not None and shape.stage() is None):
                    self.begin_stop(runner, reason)
            elif self.finished() and runner.shape_greenlet is not None:
                runner.shape_greenlet.kill(block=False)
                return
            gevent.sleep(_WATCH_S)

    def merge(self, client_id: str, data: dict[str, Any]) -> None:
        if self.record is None:
            return
        report = data.get("bedrock")
        if not isinstance(report, dict):
            self.problems.append(f"worker {client_id} sent a report without the exact response times")
            return
        try:
            self.record.add(client_id, report)
        except RecordError as exc:
            self.problems.append(str(exc))

    def elapsed(self) -> float:
        assert self.record is not None  # noqa: S101 - only after test_start
        return time.time() - self.record.started_at

    def write_progress(self) -> None:
        path = os.environ.get("LOAD_PROGRESS")
        if not path or self.record is None:
            return
        _write_json(Path(path), self.record.progress(self.elapsed()))

    def begin_stop(self, runner: Any, reason: str | None) -> None:
        self.stopping = True
        self.stop_at = time.time()
        self.stop_reason = reason
        self.expected = {client.id for client in runner.clients.all}
        runner.send_message("bedrock_stop")

    def finished(self) -> bool:
        """Every worker sent its final report, or waiting longer would not bring it."""
        if self.record is None or self.stop_at is None:
            return True
        if not self.record.missing_final(self.expected):
            return True
        stop_timeout = float(getattr(self.environment, "stop_timeout", None) or 0)
        return time.time() - self.stop_at > stop_timeout + 5 * locust.runners.WORKER_REPORT_INTERVAL

    def results(self, environment: Environment) -> dict[str, Any]:
        record = self.record or LoadRecord(time.time())
        errors: dict[str, dict[str, int]] = {}
        for error in environment.stats.errors.values():
            reasons = errors.setdefault(error.name, {})
            reasons[str(error.error)] = reasons.get(str(error.error), 0) + error.occurrences
        merged: dict[str, dict[str, int]] = {}
        for (name, _method), entry in environment.stats.entries.items():
            row = merged.setdefault(name, {"requests": 0, "failures": 0})
            row["requests"] += entry.num_requests
            row["failures"] += entry.num_failures
        return record.results(
            host=environment.host,
            verification=_VERIFICATION,
            run_tag=_RUN_TAG,
            duration_s=max(0.0, (self.stop_at or time.time()) - record.started_at),
            expected_workers=self.expected or record.workers,
            locust_stats=merged,
            failure_reasons=errors,
            stop_reason=self.stop_reason,
            problems=self.problems,
        )


_master = _Master()


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        _master.start(environment)


@events.worker_report.add_listener
def _on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    _master.merge(client_id, data)


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    tmp.replace(path)  # a reader sees either the previous or the new file, never half of one


@events.quitting.add_listener
def _write_results(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        _write_json(Path(os.environ["LOAD_RESULTS"]), _master.results(environment))
