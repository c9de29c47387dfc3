"""Wiring: builds the seven components of one slot from Settings, with seams for tests.

Every external dependency (Bedrock, MCP server, SSM, CloudWatch, audit log, clocks, randomness) can be
passed in; by default the real clients are built the way boto3 and the mcp SDK are meant to be used.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from support_service.audit import Auditor, AuditSink, open_audit_log
from support_service.bedrock import DirectBedrockClient
from support_service.budget import CostLedger, price_for
from support_service.cache import PerformanceOptimizer
from support_service.circuit import CircuitBreaker, CircuitState
from support_service.cloudwatch import CloudWatchPublisher, GaugeSample
from support_service.compliance import ComplianceValidator, Violation
from support_service.components import ComponentRegistry, ProbeResult
from support_service.faults import DrillFaults
from support_service.flags import FlagPoller, FlagSnapshot
from support_service.health import BEDROCK_CIRCUIT, MCP_CIRCUIT, HybridHealthMonitor
from support_service.manager import BedrockSupportManager
from support_service.mcp_router import MCPRouter
from support_service.metrics import PrometheusMetrics
from support_service.routing import Operation, Reason, Route, RoutingInputs, decide
from support_service.settings import Settings
from support_service.telemetry import Telemetry

__all__ = ["SupportService", "build_service"]

_log = logging.getLogger(__name__)
_AWS_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 2, "mode": "standard"})


@dataclass
class SupportService:
    """Everything one slot process runs."""

    settings: Settings
    faults: DrillFaults
    registry: ComponentRegistry
    metrics: PrometheusMetrics
    telemetry: Telemetry
    auditor: Auditor
    compliance: ComplianceValidator
    optimizer: PerformanceOptimizer
    ledger: CostLedger
    health: HybridHealthMonitor
    bedrock: DirectBedrockClient
    mcp: MCPRouter
    flags: FlagPoller
    manager: BedrockSupportManager
    cloudwatch: CloudWatchPublisher | None

    def audit_system(self, action: str, data: dict[str, Any]) -> None:
        """Append a record made by the service itself (never raises: background hooks call it)."""
        try:
            self.auditor.append("system", action, data)
        except Exception:
            _log.exception("audit append of %s failed", action)

    def auto_activate(self) -> None:
        """Activate every component in dependency order (the baseline release boots so), audited."""
        for name in self.registry.order:
            result = self.registry.activate(name)
            data = {"component": name, "already_active": result.already_active}
            self.auditor.append("system:auto_activate", "component.activate", data)

    def start(self) -> None:
        """Start background work: flag polling, CloudWatch publishing, auto-activation."""
        self.flags.start()
        if self.cloudwatch is not None:
            self.cloudwatch.start()
        for name, breaker in self.health.circuits.items():
            self.telemetry.circuit(name, breaker.state())
        if self.settings.auto_activate:
            self.auto_activate()

    def stop(self) -> None:
        """Stop background work (the MCP connection is closed by the app's event loop)."""
        self.flags.stop()
        if self.cloudwatch is not None:
            self.cloudwatch.stop()


def _aws_region(settings: Settings) -> str:
    return settings.aws_region or boto3.session.Session().region_name or settings.bedrock_region


def _router_probe() -> ProbeResult:
    off = decide(RoutingInputs(Operation.EMERGENCY, FlagSnapshot()))
    on = decide(RoutingInputs(Operation.EMERGENCY, FlagSnapshot.all_on()))
    if (off.route, off.reason) != (Route.MCP, Reason.MCP_ONLY_MODE) or on.route is not Route.DIRECT:
        return ProbeResult(False, f"decision self-test failed: all off -> {off}, all on -> {on}")
    return ProbeResult(True, "decision self-test passed")


def build_service(
    settings: Settings,
    *,
    bedrock_client: Any = None,
    mcp_server: Any = None,
    ssm_client: Any = None,
    cloudwatch_client: Any = None,
    audit_sink: AuditSink | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> SupportService:
    """Build one slot's service; pass any external dependency to replace the real one."""
    faults = settings.drill_faults()
    if faults.active:
        _log.warning("drill faults active: %s", faults.as_dict())
    metrics = PrometheusMetrics()
    region = _aws_region(settings)
    cloudwatch = None
    holder: dict[str, SupportService] = {}
    if settings.cloudwatch_namespace:
        cloudwatch = CloudWatchPublisher(
            cloudwatch_client or boto3.client("cloudwatch", region_name=region, config=_AWS_CONFIG),
            settings.cloudwatch_namespace,
            interval_s=settings.cloudwatch_interval_s,
            gauges=lambda: _gauges(holder["service"]),
            on_failure=lambda _exc: metrics.cloudwatch_failures.inc(),
        )
    telemetry = Telemetry(metrics, settings.slot, cloudwatch)
    auditor = Auditor(
        audit_sink if audit_sink is not None else open_audit_log(settings.audit_log), settings.audit_log
    )

    def on_violation(violation: Violation) -> None:
        telemetry.violation(violation.rule.value)
        if "service" in holder:
            holder["service"].audit_system("compliance.violation", violation.as_dict())

    compliance = ComplianceValidator(
        bedrock_region=settings.bedrock_region,
        allowed_bedrock_regions=settings.allowed_bedrock_regions,
        permitted_customer_regions=settings.permitted_customer_regions(),
        on_redaction=lambda kind: telemetry.redaction(kind.value),
        on_violation=on_violation,
    )
    optimizer = PerformanceOptimizer(
        ttl_s=settings.cache_ttl_s,
        max_entries=settings.cache_max_entries,
        frequent_min_count=settings.frequent_min_count,
        frequent_window_s=settings.frequent_window_s,
        clock=clock,
        on_count=lambda cls, result: telemetry.cache_lookup(cls.value, result),
    )

    def on_circuit(name: str, old: CircuitState, new: CircuitState) -> None:
        telemetry.circuit(name, new)
        if "service" in holder:
            holder["service"].audit_system(
                "circuit.transition", {"circuit": name, "from": old.value, "to": new.value}
            )

    circuits = {
        name: CircuitBreaker(
            name,
            failure_threshold=settings.circuit_failure_threshold,
            reset_timeout_s=settings.circuit_reset_timeout_s,
            clock=clock,
            on_change=on_circuit,
        )
        for name in (BEDROCK_CIRCUIT, MCP_CIRCUIT)
    }
    registry = ComponentRegistry()
    health = HybridHealthMonitor(registry, circuits, faults=faults, on_component=telemetry.component)
    ledger = CostLedger(settings.budget_usd)
    bedrock = DirectBedrockClient(
        region=settings.bedrock_region,
        model_id=settings.bedrock_model_id,
        price=price_for(settings.bedrock_model_id, settings.prices()),
        compliance=compliance,
        max_attempts=settings.bedrock_max_attempts,
        connect_timeout_s=settings.bedrock_connect_timeout_s,
        read_timeout_s=settings.bedrock_read_timeout_s,
        max_tokens=settings.bedrock_max_tokens,
        client=bedrock_client,
    )
    mcp = MCPRouter(
        server=mcp_server if mcp_server is not None else settings.mcp_url,
        compliance=compliance,
        connect_timeout_s=settings.mcp_connect_timeout_s,
        call_timeout_s=settings.mcp_call_timeout_s,
    )
    poller = FlagPoller(
        ssm_client or boto3.client("ssm", region_name=region, config=_AWS_CONFIG),
        settings.flags_path,
        interval_s=settings.flags_poll_interval_s,
        on_update=telemetry.flags,
    )
    manager = BedrockSupportManager(
        slot=settings.slot,
        release=settings.release,
        registry=registry,
        compliance=compliance,
        optimizer=optimizer,
        ledger=ledger,
        health=health,
        bedrock=bedrock,
        mcp=mcp,
        flags=lambda: poller.status().values,
        telemetry=telemetry,
        auditor=auditor,
        faults=faults,
        rng=rng,
    )

    def monitor_probe() -> ProbeResult:
        own = health.probe_self()
        if not poller.running:
            return ProbeResult(False, "flag poller is not running; flags cannot change")
        return ProbeResult(True, f"{own.detail}; flag poller running")

    health.set_probe("ComplianceValidator", compliance.probe)
    health.set_probe("HybridHealthMonitor", monitor_probe)
    health.set_probe(
        "PerformanceOptimizer",
        lambda: ProbeResult(
            True, f"{optimizer.size()}/{optimizer.max_entries} entries, ttl {optimizer.ttl_s}s"
        ),
    )
    health.set_probe("DirectBedrockClient", bedrock.probe)
    health.set_probe("MCPRouter", mcp.probe)
    health.set_probe("IntelligentRouter", _router_probe)
    health.set_probe("BedrockSupportManager", manager.probe)
    service = SupportService(
        settings=settings,
        faults=faults,
        registry=registry,
        metrics=metrics,
        telemetry=telemetry,
        auditor=auditor,
        compliance=compliance,
        optimizer=optimizer,
        ledger=ledger,
        health=health,
        bedrock=bedrock,
        mcp=mcp,
        flags=poller,
        manager=manager,
        cloudwatch=cloudwatch,
    )
    holder["service"] = service
    return service


def _gauges(service: SupportService) -> Iterable[GaugeSample]:
    slot = service.settings.slot
    status = service.flags.status()
    for flag, value in status.values.by_name().items():
        yield GaugeSample("FlagEnabled", {"Slot": slot, "Flag": flag}, 1.0 if value else 0.0)
    yield GaugeSample("FlagStoreDegraded", {"Slot": slot}, 1.0 if status.degraded else 0.0)
    for name, breaker in service.health.circuits.items():
        yield GaugeSample("CircuitState", {"Slot": slot, "Circuit": name}, float(breaker.state().gauge_value))
    for name in service.registry.order:
        # The last probe's verdict: probing from this thread would need the event loop.
        healthy = service.telemetry.component_health.get(name, False)
        yield GaugeSample("ComponentHealthy", {"Slot": slot, "Component": name}, 1.0 if healthy else 0.0)
    yield GaugeSample("BudgetSpentUSD", {"Slot": slot}, service.ledger.spent())
