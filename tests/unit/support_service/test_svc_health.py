"""HybridHealthMonitor: staged vs active, probe verdicts, faults, aggregate status."""

from __future__ import annotations

import asyncio

from svc_fakes import ManualClock

from support_service.circuit import CircuitBreaker
from support_service.components import ComponentRegistry, ProbeResult
from support_service.faults import DrillFaults
from support_service.health import HybridHealthMonitor


def monitor(faults: DrillFaults = DrillFaults(), seen: list | None = None) -> HybridHealthMonitor:  # noqa: B008
    circuits = {
        "bedrock": CircuitBreaker("bedrock", failure_threshold=1, reset_timeout_s=10, clock=ManualClock())
    }
    return HybridHealthMonitor(
        ComponentRegistry(),
        circuits,
        faults=faults,
        on_component=None if seen is None else (lambda name, ok: seen.append((name, ok))),
    )


def activate_all(m: HybridHealthMonitor) -> None:
    for name in m.registry.order:
        m.registry.activate(name)


def test_staged_components_are_unhealthy_without_probing() -> None:
    m = monitor()
    calls = []
    m.set_probe("ComplianceValidator", lambda: calls.append(1) or ProbeResult(True, "ok"))
    health = asyncio.run(m.component("ComplianceValidator"))
    assert (health.state, health.healthy) == ("staged", False)
    assert calls == []


def test_sync_and_async_probes_and_a_raising_probe() -> None:
    m = monitor()
    activate_all(m)

    async def async_probe() -> ProbeResult:
        return ProbeResult(False, "mcp unreachable")

    def raising() -> ProbeResult:
        raise RuntimeError("boom")

    m.set_probe("ComplianceValidator", lambda: ProbeResult(True, "fine"))
    m.set_probe("MCPRouter", async_probe)
    m.set_probe("IntelligentRouter", raising)
    report = asyncio.run(m.report())
    by_name = {c.name: c for c in report.components}
    assert by_name["ComplianceValidator"].healthy
    assert by_name["MCPRouter"].detail == "mcp unreachable"
    assert "RuntimeError: boom" in by_name["IntelligentRouter"].detail
    assert report.status == "unhealthy"
    assert any(p.startswith("MCPRouter") for p in report.problems)


def test_aggregate_ok_then_degraded_by_an_open_circuit_or_extra_problem() -> None:
    seen: list = []
    m = monitor(seen=seen)
    activate_all(m)
    assert asyncio.run(m.report()).status == "ok"
    assert len(seen) == 7
    assert all(ok for _, ok in seen)
    assert asyncio.run(m.report(extra_problems=("flag store degraded",))).status == "degraded"
    m.circuit("bedrock").record_failure()
    report = asyncio.run(m.report())
    assert report.status == "degraded"
    assert report.problems == ("circuit bedrock is open",)


def test_unhealthy_component_fault() -> None:
    m = monitor(DrillFaults(unhealthy_component="PerformanceOptimizer"))
    activate_all(m)
    health = asyncio.run(m.component("PerformanceOptimizer"))
    assert (health.state, health.healthy, health.detail) == (
        "active",
        False,
        "drill fault: unhealthy_component",
    )
    assert asyncio.run(m.component("ComplianceValidator")).healthy


def test_self_probe_reads_the_circuits() -> None:
    assert monitor().probe_self().detail == "circuits bedrock=closed"
