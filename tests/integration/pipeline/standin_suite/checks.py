"""Stand-in checks per marker (see conftest.py): small, real checks against the sandbox."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
import requests

from bedrock_release.pipeline.journal import read_state

FLAGS = (
    "ENABLE_HYBRID_HEALTH_MONITORING",
    "ENABLE_BEDROCK_SUPPORT_MODE",
    "ENABLE_INTELLIGENT_ROUTING",
    "ENABLE_DIRECT_BEDROCK_FALLBACK",
    "ENABLE_PERFORMANCE_OPTIMIZATION",
)
TYPES = ("emergency", "critical", "generation", "routine")
_HTTP = requests.Session()
_HTTP.trust_env = False


def _state(target: dict[str, Any]) -> Any:
    return read_state(os.path.dirname(target["journal"]))


def _op(base: str, kind: str, query: str, *, verification: bool = False) -> requests.Response:
    headers = {"X-Verification-Token": os.environ["SUPPORT_ADMIN_TOKEN"]} if verification else {}
    body = {"type": kind, "query": query, "customer_region": "eu-central-1"}
    return _HTTP.post(f"{base}/v1/support/operations", json=body, headers=headers, timeout=30)


def _burst(base: str, count: int, *, verification: bool = False) -> list[requests.Response]:
    def one(i: int) -> requests.Response:
        return _op(base, TYPES[i % 4], f"stand-in check {i % 17}", verification=verification)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


def _error_rate(answers: list[requests.Response]) -> float:
    return 100.0 * sum(1 for a in answers if a.status_code >= 500) / len(answers)


def _flags(base: str) -> dict[str, Any]:
    return _HTTP.get(f"{base}/v1/flags", timeout=5).json()


def _ssm(target: dict[str, Any]) -> Any:
    return boto3.client("ssm", region_name=target["aws_region"], endpoint_url=target["endpoints"]["aws"])


def _stored_flags(target: dict[str, Any]) -> dict[str, bool]:
    ssm = _ssm(target)
    out = {}
    for flag in FLAGS:
        try:
            value = ssm.get_parameter(Name=f"{target['flags_path']}/{flag}")["Parameter"]["Value"]
            out[flag] = value == "true"
        except ssm.exceptions.ParameterNotFound:
            out[flag] = False
    return out


def _weights(target: dict[str, Any]) -> dict[str, int]:
    raw = _HTTP.get(
        f"{target['endpoints']['traffic_admin']}/id/slots/load_balancing/selection_policy/weights", timeout=5
    ).json()
    total = sum(raw)
    return {"blue": round(100 * raw[0] / total), "green": round(100 * raw[1] / total)}


@pytest.fixture
def emulator_fault(target: dict[str, Any]) -> Iterator[Any]:
    """Set emulator fault rules for one check; always cleared."""
    base = f"{target['endpoints']['bedrock']}/_emulator/faults"
    headers = {"Authorization": f"Bearer {os.environ['EMULATOR_ADMIN_TOKEN']}"}
    added: list[str] = []

    def add(rule: dict[str, Any]) -> None:
        answer = _HTTP.post(base, json=rule, headers=headers, timeout=5)
        answer.raise_for_status()
        added.extend(answer.json()["added"])

    yield add
    for rule_id in added:
        _HTTP.delete(f"{base}/{rule_id}", headers=headers, timeout=5)


@pytest.mark.phase1
@pytest.mark.approvals
def test_approvals_were_checked_go(target: dict[str, Any]) -> None:
    approvals = _state(target).approvals
    assert approvals is not None
    assert approvals["verdict"] == "go", approvals


@pytest.mark.canary
@pytest.mark.phase2
def test_split_through_the_load_balancer_matches_the_weights(target: dict[str, Any]) -> None:
    weights = _weights(target)
    new = target["slots"]["idle"]
    answers = [_HTTP.get(f"{target['endpoints']['traffic']}/version", timeout=5) for _ in range(200)]
    share = 100.0 * sum(1 for a in answers if a.headers.get("X-Slot") == new) / len(answers)
    assert abs(share - weights[new]) <= 5, (share, weights)
    assert _error_rate(answers) <= 1.0


@pytest.mark.phase2
def test_new_slot_runs_the_release_with_every_component_healthy(target: dict[str, Any]) -> None:
    new = target["slots"]["idle"]
    health = _HTTP.get(f"{target['endpoints']['slots'][new]}/health", timeout=5).json()
    assert health["release"] == target["release"]
    assert health["ready"] is True
    assert all(c["healthy"] for c in health["components"].values()), health["components"]


@pytest.mark.phase3
def test_p95_latency_of_generation_requests_in_the_verification_context(target: dict[str, Any]) -> None:
    base = target["endpoints"]["traffic"]

    def one(i: int) -> tuple[int, float]:
        answer = _op(base, "generation", f"latency probe {i}", verification=True)
        return answer.status_code, answer.elapsed.total_seconds() * 1000

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(one, range(40)))
    latencies = sorted(ms for _, ms in results)
    p95 = latencies[math.ceil(0.95 * len(latencies)) - 1]
    assert all(code == 200 for code, _ in results), results
    assert p95 <= 1500, f"P95 {p95:.0f} ms > 1500 ms"


@pytest.mark.phase4
def test_every_slot_is_healthy(target: dict[str, Any]) -> None:
    for url in target["endpoints"]["slots"].values():
        assert _HTTP.get(f"{url}/health", timeout=5).status_code == 200


@pytest.mark.flag_window
@pytest.mark.phase5
def test_no_degradation_in_the_monitoring_window(target: dict[str, Any]) -> None:
    flag = _state(target).last_flag_activated
    new = target["slots"]["idle"]
    assert flag is not None
    assert _flags(target["endpoints"]["slots"][new])["values"][flag] is True
    answers = _burst(target["endpoints"]["traffic"], 300)
    assert _error_rate(answers) <= 1.0, f"error rate {_error_rate(answers):.1f}% after {flag}"


@pytest.mark.phase5
def test_all_five_flags_are_on(target: dict[str, Any]) -> None:
    assert all(_stored_flags(target).values())
    new = target["slots"]["idle"]
    assert all(_flags(target["endpoints"]["slots"][new])["values"].values())


DIRECT_ROUTING_TIMEOUT_S = 90.0  # the service's circuit reset (30 s) and a half-open probe, with margin


def _bedrock_circuits(target: dict[str, Any]) -> dict[str, str]:
    out = {}
    for slot, url in target["endpoints"]["slots"].items():
        circuits = _HTTP.get(f"{url}/health", timeout=5).json().get("circuits", {})
        out[slot] = circuits.get("bedrock", {}).get("state", "unknown")
    return out


def _wait_for_direct_routing(target: dict[str, Any], base: str) -> None:
    """Direct routing serves again: an earlier drill (a throttling storm) may have left the Bedrock circuit
    open; it closes after its reset timeout and one successful half-open call. Waits on that state, bounded.
    """
    deadline = time.monotonic() + DIRECT_ROUTING_TIMEOUT_S
    while True:
        route = _op(base, "emergency", "is direct routing up").json()["route"]
        if route == "direct":
            return
        if time.monotonic() >= deadline:
            pytest.fail(
                f"direct routing did not serve within {DIRECT_ROUTING_TIMEOUT_S:g} s (route {route}); "
                f"Bedrock circuits by slot: {_bedrock_circuits(target)}"
            )
        time.sleep(1.0)


@pytest.mark.phase6
def test_mcp_fallback_when_bedrock_is_unavailable(target: dict[str, Any], emulator_fault: Any) -> None:
    base = target["endpoints"]["traffic"]
    _wait_for_direct_routing(target, base)
    emulator_fault({"kind": "error", "error": "service_unavailable"})
    answers = [_op(base, "emergency", f"fallback probe {i}") for i in range(10)]
    assert [a.status_code for a in answers] == [200] * 10, [a.text[:200] for a in answers]
    assert all(a.json()["route"] == "mcp" for a in answers)


@pytest.mark.phase7
def test_metrics_are_published(target: dict[str, Any]) -> None:
    new = target["slots"]["idle"]
    text = _HTTP.get(f"{target['endpoints']['slots'][new]}/metrics", timeout=5).text
    assert "support_requests_total" in text


@pytest.mark.rollback_immediate
def test_immediate_rollback_left_mcp_only_mode(target: dict[str, Any]) -> None:
    assert not any(_stored_flags(target).values())
    for url in target["endpoints"]["slots"].values():
        assert not any(_flags(url)["values"].values())
    answers = _burst(target["endpoints"]["traffic"], 100)
    assert _error_rate(answers) <= 1.0
    assert {a.json()["route"] for a in answers} == {"mcp"}


@pytest.mark.rollback_partial
def test_partial_rollback_reenabled_only_the_stable_flags(target: dict[str, Any]) -> None:
    state = _state(target)
    steps = [s["step"] for s in state.rollback.steps]
    assert steps[3] == "Execute immediate rollback", steps
    stored = _stored_flags(target)
    on = {flag for flag, value in stored.items() if value}
    reenabled = [e.flag for e in state.flag_events if e.value and e.ts > state.rollback.started_at]
    assert on == set(reenabled), (on, reenabled)
    assert _error_rate(_burst(target["endpoints"]["traffic"], 100)) <= 1.0


@pytest.mark.rollback_full
def test_full_rollback_restored_the_previous_release(target: dict[str, Any]) -> None:
    old, new = target["slots"]["active"], target["slots"]["idle"]
    assert _weights(target)[old] == 100
    version = _HTTP.get(f"{target['endpoints']['slots'][old]}/version", timeout=5).json()
    assert version["release"] == target["previous_release"]
    assert (
        _HTTP.get(f"{target['endpoints']['slots'][new]}/version", timeout=5).json()["release"]
        != target["release"]
    )
    snapshot = _state(target).flags_snapshot or {}
    assert _stored_flags(target) == {flag: bool(snapshot.get(flag)) for flag in FLAGS}
    assert _error_rate(_burst(target["endpoints"]["traffic"], 100)) <= 1.0
