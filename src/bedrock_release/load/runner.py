"""Run the SLO load (locust in its distributed mode, always as subprocesses) and read its results.

locust's gevent monkey-patching breaks or hangs a pytest process, so the load runs as processes of
its own: ``python -m locust -f load/locustfile.py --headless --master`` and ``plan.workers`` times
``--worker`` (the load generators: on this machine, the inventory's ``load_generators`` group says
how many). The master's quitting hook writes the results file that ``load_results`` validates; while
the load runs it writes its merged progress once a second, and a ``monitor`` given to ``run_load``
looks at each one: when it returns a reason (a breach its sequential test has proven), the load is
stopped at once and the results say so. Durations derive from the run's time scale: the phase 3
load spans two rolling windows (300 s each, scaled), the flag and rollback watches the plan's
2-minute monitoring period (scaled); a monitor never shortens a load that is not stopped for cause.

``run_load`` never raises for what can go wrong with a load run (locust missing or crashing, a
timeout, no or a corrupt results file): it returns a ``LoadRun`` whose ``error`` says what happened,
and every gate that reads it is then inconclusive.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bedrock_release.load.results import (
    LoadProgress,
    LoadResults,
    LoadResultsError,
    load_results,
    read_progress,
)
from bedrock_release.plan import FLAG_MONITORING_S, ROLLING_WINDOW_S

__all__ = [
    "DEFAULT_WORKERS",
    "LOCUSTFILE",
    "MAX_RPS",
    "MIN_RPS",
    "REQUESTS_PER_ROLLING_WINDOW",
    "LoadPlan",
    "LoadRun",
    "Monitor",
    "load_rate_rps",
    "monitoring_plan",
    "rolling_window_s",
    "run_load",
    "slo_plan",
]

LOCUSTFILE = Path(__file__).resolve().parents[3] / "load" / "locustfile.py"
#: Load sizing: 1.5x the error-rate gate's 1000 requests per window, so every window has margin.
REQUESTS_PER_ROLLING_WINDOW = 1500
#: Bounds of the request rate: production is sampled at least this fast ...
MIN_RPS = 5.0
#: ... and a 2-vCPU sandbox is not driven past what it answers cleanly (measured: ~280 cached rps/slot).
MAX_RPS = 150.0
_RPS_PER_USER = 5.0
_RAMP_S = 1.0
_GRACE_S = 60.0
#: Load generator processes (locust workers) when the inventory does not say (measured: docs/benchmarks.md).
DEFAULT_WORKERS = 1
#: How long the master waits for its workers to connect before it gives up (locust exits 1).
_CONNECT_S = 30.0
#: How often the runner looks for new progress (the master writes it once a second).
_LOOK_S = 0.2

#: A monitor sees each progress the master writes and returns why to stop the load now, or None.
Monitor = Callable[[LoadProgress], str | None]
#: A load the machine could not deliver at its planned rate goes on until it has sent the planned
#: number of requests, for at most this multiple of its planned duration (then the gates judge
#: what there is: too few samples stay inconclusive). It never ends before its planned duration.
STRETCH_LIMIT = 4.0


def rolling_window_s(time_scale: float) -> float:
    """Return the plan's 5-minute rolling window at a time scale."""
    return ROLLING_WINDOW_S * time_scale


def load_rate_rps(time_scale: float) -> float:
    """Return the request rate that puts REQUESTS_PER_ROLLING_WINDOW into one (scaled) window."""
    rate = REQUESTS_PER_ROLLING_WINDOW / rolling_window_s(time_scale)
    return min(MAX_RPS, max(MIN_RPS, rate))


@dataclass(frozen=True)
class LoadPlan:
    """One load run: where, how long, how hard, and whether it is verification traffic."""

    host: str
    duration_s: float
    rate_rps: float
    verification: bool
    results_path: Path
    purpose: str
    workers: int = DEFAULT_WORKERS
    run_tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(
                f"load plan {self.purpose}: workers must be an integer >= 1, got {self.workers!r}"
            )

    @property
    def users(self) -> int:
        """Return the number of simulated users (each at a constant throughput)."""
        return max(1, math.ceil(self.rate_rps / _RPS_PER_USER))

    def stages(self) -> list[dict[str, float]]:
        """Return the LoadTestShape stages table: ramp up within a second, hold, then stop."""
        ramp = self.ramp_s
        return [
            {"until_s": round(ramp, 3), "users": self.users, "spawn_rate": self.users / ramp},
            {"until_s": round(self.duration_s, 3), "users": self.users, "spawn_rate": self.users / ramp},
        ]

    @property
    def ramp_s(self) -> float:
        """Return how long the users take to start (all of them within a second)."""
        return min(_RAMP_S, self.duration_s / 4)

    @property
    def planned_requests(self) -> int:
        """Return the number of requests the plan sends at its rate over its duration.

        The users start evenly over the ramp, so the ramp delivers half its rate: a machine that keeps
        the rate sends this many by the end and is not held past it.
        """
        return math.ceil(self.rate_rps * (self.duration_s - self.ramp_s / 2))

    @property
    def max_duration_s(self) -> float:
        """Return how long the load may stretch to deliver its planned requests."""
        return self.duration_s * STRETCH_LIMIT

    @property
    def progress_path(self) -> Path:
        """Return where the master writes its progress while the load runs."""
        # Not *.json: readers of the results folder (the report, the latency baseline) glob *.json.
        return self.results_path.with_name(self.results_path.stem + ".progress")

    @property
    def stop_path(self) -> Path:
        """Return the file whose creation ends the load now (its text says why)."""
        return self.results_path.with_name(self.results_path.stem + ".stop")

    def env(self, admin_token: str | None) -> dict[str, str]:
        """Return the locust processes' LOAD_* variables (master and workers read the same ones)."""
        out = {
            "LOAD_RESULTS": str(self.results_path),
            "LOAD_PROGRESS": str(self.progress_path),
            "LOAD_STOP": str(self.stop_path),
            "LOAD_STAGES": json.dumps(self.stages()),
            "LOAD_TARGET_REQUESTS": str(self.planned_requests),
            "LOAD_MAX_S": f"{self.max_duration_s:.6g}",
            "LOAD_RPS_PER_USER": f"{self.rate_rps / self.users:.6g}",
            "LOAD_VERIFICATION": "1" if self.verification else "0",
            "LOAD_RUN_TAG": self.run_tag,
        }
        if self.verification:
            if not admin_token:
                raise ValueError("verification traffic needs SUPPORT_ADMIN_TOKEN")
            out["SUPPORT_ADMIN_TOKEN"] = admin_token
        return out

    def to_dict(self) -> dict[str, object]:
        """Return the plan for evidence attachments."""
        return {
            "host": self.host,
            "purpose": self.purpose,
            "duration_s": self.duration_s,
            "rate_rps": self.rate_rps,
            "users": self.users,
            "workers": self.workers,
            "verification": self.verification,
            "stages": self.stages(),
            "planned_requests": self.planned_requests,
            "max_duration_s": self.max_duration_s,
            "results": str(self.results_path),
        }


def _results_path(results_dir: Path, purpose: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return results_dir / "load" / f"{purpose}-{stamp}-{uuid.uuid4().hex[:6]}.json"


def slo_plan(
    host: str,
    time_scale: float,
    results_dir: Path,
    *,
    duration_s: float | None = None,
    workers: int = DEFAULT_WORKERS,
) -> LoadPlan:
    """Return the phase 3 plan: verification traffic for two rolling windows."""
    return LoadPlan(
        host=host,
        duration_s=duration_s if duration_s is not None else 2 * rolling_window_s(time_scale),
        rate_rps=load_rate_rps(time_scale),
        verification=True,
        results_path=_results_path(results_dir, "slo"),
        purpose="slo",
        workers=workers,
    )


def monitoring_plan(
    host: str,
    time_scale: float,
    results_dir: Path,
    *,
    purpose: str,
    duration_s: float | None = None,
    workers: int = DEFAULT_WORKERS,
) -> LoadPlan:
    """Return a customer-traffic plan (no verification header) for one monitoring period."""
    return LoadPlan(
        host=host,
        duration_s=duration_s if duration_s is not None else FLAG_MONITORING_S * time_scale,
        rate_rps=load_rate_rps(time_scale),
        verification=False,
        results_path=_results_path(results_dir, purpose),
        purpose=purpose,
        workers=workers,
    )


@dataclass(frozen=True)
class LoadRun:
    """What a load run produced: results, or an error saying why there are none."""

    plan: LoadPlan
    results: LoadResults | None
    error: str | None
    returncode: int | None
    wall_s: float
    log_tail: str = ""
    stop_reason: str | None = None
    stop_requested_at_s: float | None = None

    @property
    def ok(self) -> bool:
        """Return True when valid results exist."""
        return self.results is not None and self.error is None

    def to_dict(self) -> dict[str, object]:
        """Return the run for evidence attachments."""
        return {
            "plan": self.plan.to_dict(),
            "returncode": self.returncode,
            "wall_s": round(self.wall_s, 3),
            "error": self.error,
            "results": self.results.summary() if self.results else None,
            "stop_reason": self.stop_reason,
            "stop_requested_at_s": self.stop_requested_at_s,
            "log_tail": self.log_tail,
        }


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(plan: LoadPlan, locustfile: Path, python: str, port: int) -> list[str]:
    """Return the command line: a master that forks ``plan.workers`` workers (locust's ``--processes``).

    The workers are forked after the locustfile is imported, so they are ready at once; they talk to
    their master over ZeroMQ on a free loopback port (never locust's default 5557: loads run side by
    side).
    """
    return [
        python,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        "--host",
        plan.host,
        "--loglevel",
        "WARNING",
        "--headless",
        "--processes",
        str(plan.workers),
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(port),
        "--master-host",
        "127.0.0.1",
        "--master-port",
        str(port),
        "--expect-workers-max-wait",
        f"{_CONNECT_S:g}",
        "--only-summary",
        "--exit-code-on-error",
        "0",
        "--stop-timeout",
        "5",
    ]


class _Looker:
    """Hands the monitor each new progress file once; remembers the first reason to stop."""

    def __init__(self, plan: LoadPlan, monitor: Monitor | None) -> None:
        self.plan, self.monitor = plan, monitor
        self.seen: float | None = None
        self.reason: str | None = None
        self.at_s: float | None = None

    def look(self) -> None:
        if self.monitor is None or self.reason is not None:
            return
        try:
            progress = read_progress(self.plan.progress_path)
        except LoadResultsError:
            return  # not written yet, or being replaced: the next look reads it
        if progress.t == self.seen:
            return
        self.seen = progress.t
        reason = self.monitor(progress)
        if reason:
            self.reason, self.at_s = reason, progress.t
            self.plan.stop_path.write_text(reason + "\n", encoding="utf-8")


def run_load(
    plan: LoadPlan,
    *,
    admin_token: str | None = None,
    locustfile: Path = LOCUSTFILE,
    python: str = sys.executable,
    extra_env: Mapping[str, str] | None = None,
    monitor: Monitor | None = None,
) -> LoadRun:
    """Run locust (master and workers) for the plan's duration and validate its results file.

    ``monitor`` sees every progress the master writes; a reason it returns stops the load at once.
    """
    started = time.monotonic()
    plan.results_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (plan.results_path, plan.progress_path, plan.stop_path):
        stale.unlink(missing_ok=True)
    log = plan.results_path.with_suffix(".log")
    try:
        env = {**os.environ, **plan.env(admin_token), **(extra_env or {})}
    except ValueError as exc:
        return LoadRun(plan, None, str(exc), None, 0.0)
    env["NO_PROXY"] = "127.0.0.1,localhost"
    timeout = plan.max_duration_s + _CONNECT_S + _GRACE_S
    looker = _Looker(plan, monitor)
    with log.open("wb") as output:
        try:
            master = subprocess.Popen(  # noqa: S603 - our own interpreter and locustfile
                _command(plan, locustfile, python, _free_port()),
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # the master and its forked workers: one group to stop
            )
        except OSError as exc:
            return LoadRun(plan, None, f"locust could not start: {exc}", None, time.monotonic() - started)
    try:
        while (returncode := master.poll()) is None:
            if time.monotonic() - started > timeout:
                return LoadRun(
                    plan,
                    None,
                    f"locust did not finish within {timeout:g} s (load {plan.duration_s:g} s, "
                    f"at most {plan.max_duration_s:g} s); it was stopped",
                    None,
                    time.monotonic() - started,
                    _tail(log),
                    looker.reason,
                    looker.at_s,
                )
            looker.look()
            time.sleep(_LOOK_S)
    finally:
        _stop_group(master)  # forked workers the master did not reap
    wall = time.monotonic() - started
    tail = _tail(log)
    stop = {"stop_reason": looker.reason, "stop_requested_at_s": looker.at_s}
    if returncode != 0:
        return LoadRun(
            plan, None, f"locust exited with status {returncode}; see {log}", returncode, wall, tail, **stop
        )
    try:
        results = load_results(plan.results_path)
    except LoadResultsError as exc:
        return LoadRun(plan, None, str(exc), returncode, wall, tail, **stop)
    return LoadRun(plan, results, None, returncode, wall, tail, **stop)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the master and every worker it forked (one process group), and reap the master."""
    pgid = process.pid
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if not _group_alive(pgid):
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)
            if not _group_alive(pgid):
                break
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=1.0)
