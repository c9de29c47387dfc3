"""The load runner: plans follow the time scale; every way a run can fail is an error, never a raise."""

from __future__ import annotations

import json
import stat
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from threading import Thread

import pytest

from bedrock_release.load import runner as load
from bedrock_release.load.runner import (
    LoadPlan,
    load_rate_rps,
    monitoring_plan,
    rolling_window_s,
    run_load,
    slo_plan,
)


def plan(tmp_path: Path, *, duration_s: float = 0.2, verification: bool = False) -> LoadPlan:
    return LoadPlan(
        host="http://127.0.0.1:9",
        duration_s=duration_s,
        rate_rps=10,
        verification=verification,
        results_path=tmp_path / "out" / "results.json",
        purpose="test",
    )


def fake_python(tmp_path: Path, body: str) -> str:
    """An executable that stands in for `python -m locust ...` (it ignores its arguments)."""
    script = tmp_path / "fake-python"
    script.write_text(f"#!{sys.executable}\nimport os, sys, time, json\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_plans_follow_the_time_scale(tmp_path: Path) -> None:
    assert rolling_window_s(0.05) == pytest.approx(15)
    slo = slo_plan("http://127.0.0.1:1", 0.05, tmp_path)
    assert slo.duration_s == pytest.approx(30)  # two rolling windows
    assert slo.verification is True
    assert slo.rate_rps == pytest.approx(100)  # 1500 requests per 15 s window
    watch = monitoring_plan("http://127.0.0.1:1", 0.05, tmp_path, purpose="flag")
    assert watch.duration_s == pytest.approx(6)  # the 2-minute monitoring period, scaled
    assert watch.verification is False
    assert load_rate_rps(1.0) == load.MIN_RPS
    assert load_rate_rps(0.001) == load.MAX_RPS
    stages = slo.stages()
    assert stages[-1]["until_s"] == pytest.approx(30)
    assert all(s["users"] == slo.users for s in stages)


def test_verification_traffic_needs_the_token(tmp_path: Path) -> None:
    run = run_load(plan(tmp_path, verification=True), admin_token=None)
    assert run.results is None
    assert "SUPPORT_ADMIN_TOKEN" in str(run.error)


def test_the_token_only_goes_to_verification_runs(tmp_path: Path) -> None:
    assert "SUPPORT_ADMIN_TOKEN" not in plan(tmp_path).env("secret")
    assert plan(tmp_path, verification=True).env("secret")["SUPPORT_ADMIN_TOKEN"] == "secret"


def test_locust_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    run = run_load(plan(tmp_path), python=str(tmp_path / "no-such-python"))
    assert run.ok is False
    assert "could not start" in str(run.error)


def test_locust_failing_is_an_error_with_its_log(tmp_path: Path) -> None:
    run = run_load(plan(tmp_path), python=fake_python(tmp_path, "print('boom: locust crashed'); sys.exit(3)"))
    assert run.returncode == 3
    assert "exited with status 3" in str(run.error)
    assert "boom: locust crashed" in run.log_tail


def test_no_results_file_is_an_error_naming_it(tmp_path: Path) -> None:
    p = plan(tmp_path)
    run = run_load(p, python=fake_python(tmp_path, "sys.exit(0)"))
    assert run.results is None
    assert str(p.results_path) in str(run.error)
    assert "missing" in str(run.error)


def test_corrupt_results_file_is_an_error_naming_the_problem(tmp_path: Path) -> None:
    body = "open(os.environ['LOAD_RESULTS'], 'w').write('{\"schema\": \"bedrock-release/load-results@1\"')"
    run = run_load(plan(tmp_path), python=fake_python(tmp_path, body))
    assert "corrupt: not JSON" in str(run.error)


def test_wrong_schema_is_an_error(tmp_path: Path) -> None:
    body = "open(os.environ['LOAD_RESULTS'], 'w').write(json.dumps({'schema': 'x'}))"
    run = run_load(plan(tmp_path), python=fake_python(tmp_path, body))
    assert "wrong schema" in str(run.error)


def test_a_hanging_locust_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "_GRACE_S", 0.5)
    monkeypatch.setattr(load, "_CONNECT_S", 0.5)
    run = run_load(plan(tmp_path, duration_s=0.1), python=fake_python(tmp_path, "time.sleep(60)"))
    assert "did not finish" in str(run.error)
    assert run.wall_s < 20


def test_the_plan_reaches_locust_through_the_environment(tmp_path: Path) -> None:
    body = (
        "out = {k: v for k, v in os.environ.items() if k.startswith('LOAD_')}\n"
        "open(os.environ['LOAD_RESULTS'] + '.env', 'w').write(json.dumps(out)); sys.exit(0)"
    )
    p = plan(tmp_path)
    run_load(p, python=fake_python(tmp_path, body))
    env = json.loads(Path(str(p.results_path) + ".env").read_text())
    assert env["LOAD_VERIFICATION"] == "0"
    assert json.loads(env["LOAD_STAGES"])[-1]["until_s"] == pytest.approx(0.2)


def test_the_plan_tells_locust_how_many_requests_to_deliver_and_how_long_it_may_stretch(
    tmp_path: Path,
) -> None:
    p = plan(tmp_path, duration_s=6)
    env = p.env(None)
    assert int(env["LOAD_TARGET_REQUESTS"]) == p.planned_requests == 55  # 10/s, the first second half
    assert float(env["LOAD_MAX_S"]) == pytest.approx(6 * load.STRETCH_LIMIT)


class _SlowSupport(BaseHTTPRequestHandler):
    """A support API that answers one request at a time, 50 ms each: at most 20 requests a second."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(0.05)
        body = b'{"route": "mcp"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


def test_a_load_the_machine_cannot_deliver_at_its_rate_stretches_instead_of_starving_the_gates(
    tmp_path: Path,
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _SlowSupport)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        slow = LoadPlan(
            host=f"http://127.0.0.1:{server.server_address[1]}",
            duration_s=1.0,
            rate_rps=60,  # 60 planned requests; the server answers at most 20 a second
            verification=False,
            results_path=tmp_path / "load.json",
            purpose="stretch",
        )
        run = run_load(slow)
    finally:
        server.shutdown()
    assert run.ok, run.error
    assert run.results is not None
    assert run.results.duration_s > 1.5, "the load ended at its planned duration with requests missing"
    # Where the stretch ends is test_suite_load_shape's business (no clock there): requests in flight
    # when the load stops still finish, so how far past the limit the run ends depends on the machine.
