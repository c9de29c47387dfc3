"""Acceptance (issue 4): the phase 3 SLO gates against a real sandbox, healthy and with each breach.

Healthy: every scenario passes. A generation-latency breach at Bedrock fails the P95 gate; 2 %
errors in the release fail the error-rate gate; a load too short for the minimum samples is
inconclusive and blocks; the metrics source stopped is inconclusive and blocks. Every failure
message names the gate, the value, the threshold and the evidence (samples and source).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from suite_runner import SuiteRun, run_suite
from suite_runtimes import record_runtime
from suite_sandbox import RELEASE, SuiteSandbox, deploy_new_release, session

from audit_trail import read, verify
from sandbox import control
from sandbox.paths import SandboxPaths
from sandbox.supervisor_rpc import Supervisor

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JOURNALED = (
    "p95-latency-generation",
    "p95-latency-cached",
    "error-rate",
    "error-rate-trailing",
    "cost-budget",
    "cache-hit-rate",
    "decision-point-2",
)
GATES = (
    "P95 latency of generation",
    "P95 latency of cached",
    "Error rate over",
    "Cost budget",
    "Cache hit rate",
    "Decision point 2",
)


def _phase3(
    box: SuiteSandbox, tmp: Path, step: str, *, target: Path | None = None, extra: tuple[str, ...] = ()
) -> SuiteRun:
    return run_suite(target or box.target_path, tmp, box.env, markers="phase3", step=step, extra=extra)


def _assert_names_evidence(message: str, gate: str, threshold: str) -> None:
    """A failure message names the gate, its value, the threshold, the samples and the source."""
    assert f"gate {gate}:" in message, message
    assert "value " in message, message
    assert f"required {threshold}" in message, message
    assert "samples (minimum" in message, message
    assert "source " in message, message


def test_healthy_sandbox_passes_every_slo_gate(box: SuiteSandbox, tmp_path: Path) -> None:
    run = _phase3(box, tmp_path, "healthy")
    record_runtime("phase3 (SLO gates)", run.wall_s, run.outcomes())
    assert run.rc == 0, run.output[-4000:]
    assert len(run.cases) == len(GATES)
    assert all(c.outcome == "passed" for c in run.cases)
    # every gate went to the journal named in target.json, as a verified chain
    journal = Path(box.target()["journal"])
    assert verify(journal).ok
    gates = {r.data["gate"]["name"] for r in read(journal) if r.action == "gate_evaluated"}
    assert set(JOURNALED) <= gates
    # cucumber JSON and Allure results were written
    assert json.loads(run.files["cucumber"].read_text())
    results = [json.loads(p.read_text()) for p in run.files["allure"].glob("*-result.json")]
    labels = {(lab["name"], lab["value"]) for r in results for lab in r["labels"]}
    assert ("epic", f"release {RELEASE}") in labels
    assert ("feature", "Phase 3 - SLO Gate Validation") in labels
    assert ("story", "Cost budget") in labels
    assert ("severity", "blocker") in labels


def test_generation_latency_breach_fails_the_p95_gate(box: SuiteSandbox, tmp_path: Path) -> None:
    admin = {"Authorization": f"Bearer {box.env['EMULATOR_ADMIN_TOKEN']}"}
    url = box.endpoints["bedrock"] + "/_emulator/faults"
    # One generation call in ten takes 1.8 s at Bedrock: the P95 of generation is then 1.8 s.
    rule = {"kind": "latency", "distribution": "fixed", "mean_ms": 1800, "rate": 0.1,
            "match": {"marker": "OAuth token refresh"}}  # fmt: skip
    with session() as http:
        http.post(url, json=rule, headers=admin, timeout=5).raise_for_status()
        try:
            run = _phase3(box, tmp_path, "latency-breach")
        finally:
            http.delete(url, headers=admin, timeout=5).raise_for_status()
    assert run.rc != 0
    case = run.case("P95 latency of generation")
    assert case.outcome == "failed"
    assert "gate p95-latency-generation: FAIL" in case.message
    _assert_names_evidence(case.message, "p95-latency-generation", "<= 1500 ms")
    assert "locust results" in case.message
    assert run.case("Decision point 2").outcome == "failed"


def test_two_percent_errors_fail_the_error_rate_gate(box: SuiteSandbox, tmp_path: Path) -> None:
    faulty = {"SUPPORT_FAULTS": json.dumps({"errors_under_load": {"rate": 0.02}})}
    try:
        deploy_new_release(box.settings, extra_env=faulty)
        run = _phase3(box, tmp_path, "two-percent-errors")
    finally:
        deploy_new_release(box.settings)
    assert run.rc != 0
    case = run.case("Error rate over")
    assert case.outcome == "failed"
    assert "gate error-rate: FAIL" in case.message
    _assert_names_evidence(case.message, "error-rate", "<= 1 percent")
    assert "windows above the threshold" in case.message
    assert run.case("Decision point 2").outcome == "failed"


def test_load_too_short_is_inconclusive_and_blocks(box: SuiteSandbox, tmp_path: Path) -> None:
    run = _phase3(box, tmp_path, "too-short", extra=("--load-duration-s", "4"))
    assert run.rc != 0
    for gate, name, threshold in (
        ("P95 latency of generation", "p95-latency-generation", "<= 1500 ms"),
        ("P95 latency of cached", "p95-latency-cached", "<= 300 ms"),
        ("Error rate over", "error-rate", "<= 1 percent"),
    ):
        case = run.case(gate)
        assert case.outcome == "failed", case
        assert f"gate {name}: INCONCLUSIVE" in case.message
        _assert_names_evidence(case.message, name, threshold)
    assert "too few samples" in run.case("P95 latency of generation").message
    assert "shorter than the 15 s window" in run.case("Error rate over").message
    assert run.case("Decision point 2").outcome == "failed"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_metrics_source_stopped_is_inconclusive_and_blocks(box: SuiteSandbox, tmp_path: Path) -> None:
    # The metrics sources of the cost and cache gates stop answering: moto (AWS Budgets) is stopped
    # for real, and the new slot's metrics endpoint is one nothing listens on.
    endpoints = box.endpoints
    endpoints["slots"] = {**endpoints["slots"], "green": f"http://127.0.0.1:{_closed_port()}"}
    target = box.write_target(tmp_path / "target-metrics-stopped.json", endpoints=endpoints)
    supervisor = Supervisor(SandboxPaths.of(box.settings.runtime_dir).socket)
    supervisor.stop("moto")
    try:
        run = _phase3(box, tmp_path, "metrics-stopped", target=target)
    finally:
        control.up(box.settings)  # starts moto again and seeds it
    assert run.rc != 0
    cache = run.case("Cache hit rate")
    assert "gate cache-hit-rate: INCONCLUSIVE" in cache.message
    assert "metrics source unavailable" in cache.message
    _assert_names_evidence(cache.message, "cache-hit-rate", ">= 80 percent")
    cost = run.case("Cost budget")
    assert "gate cost-budget: INCONCLUSIVE" in cost.message
    assert "cost source unavailable" in cost.message
    _assert_names_evidence(cost.message, "cost-budget", "<= 80 percent")
    # the latency and error-rate gates still come from locust and pass
    assert run.case("P95 latency of generation").outcome == "passed"
    assert run.case("Decision point 2").outcome == "failed"
    with session() as http:
        assert http.get(box.endpoints["aws"] + "/moto-api/", timeout=5).status_code == 200


def test_nothing_is_left_running(box: SuiteSandbox) -> None:
    # locust ran as a subprocess for every load; none outlives its run
    import psutil  # noqa: PLC0415

    left = [
        p.info
        for p in psutil.process_iter(["cmdline"])
        if "locustfile.py" in " ".join(p.info["cmdline"] or [])
    ]
    assert left == []
    with session() as http:  # and the sandbox still serves the release
        assert http.get(box.endpoints["traffic"] + "/version", timeout=5).json()["release"] == RELEASE
