"""HybridHealthMonitor: per-component probes, aggregate health, and the circuit breakers."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from support_service.circuit import CircuitBreaker, CircuitState
from support_service.components import ComponentRegistry, ProbeResult
from support_service.faults import DrillFaults

__all__ = ["BEDROCK_CIRCUIT", "MCP_CIRCUIT", "ComponentHealth", "HealthReport", "HybridHealthMonitor"]

BEDROCK_CIRCUIT = "bedrock"
MCP_CIRCUIT = "mcp"

Probe = Callable[[], ProbeResult | Awaitable[ProbeResult]]


@dataclass(frozen=True)
class ComponentHealth:
    """One component's state and probe verdict."""

    name: str
    version: str
    state: Literal["staged", "active"]
    healthy: bool
    detail: str
    depends_on: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "name": self.name,
            "version": self.version,
            "state": self.state,
            "healthy": self.healthy,
            "detail": self.detail,
            "depends_on": list(self.depends_on),
        }


@dataclass(frozen=True)
class HealthReport:
    """Aggregate health: ``ok`` (serving), ``degraded`` (serving, something to look at), ``unhealthy``."""

    status: Literal["ok", "degraded", "unhealthy"]
    components: tuple[ComponentHealth, ...]
    problems: tuple[str, ...]


class HybridHealthMonitor:
    """Runs component probes and owns the circuit breakers."""

    def __init__(
        self,
        registry: ComponentRegistry,
        circuits: Mapping[str, CircuitBreaker],
        *,
        faults: DrillFaults,
        on_component: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.registry = registry
        self.circuits = dict(circuits)
        self._faults = faults
        self._probes: dict[str, Probe] = {}
        self._on_component = on_component

    def set_probe(self, component: str, probe: Probe) -> None:
        """Install the probe of one component (sync or async)."""
        self.registry.spec(component)
        self._probes[component] = probe

    def probe_self(self) -> ProbeResult:
        """The monitor's own probe: every circuit readable."""
        states = {name: breaker.state().value for name, breaker in self.circuits.items()}
        return ProbeResult(True, "circuits " + ", ".join(f"{n}={s}" for n, s in sorted(states.items())))

    def circuit(self, name: str) -> CircuitBreaker:
        """A breaker by name (KeyError when unknown)."""
        return self.circuits[name]

    def bedrock_state(self) -> CircuitState:
        """The Bedrock circuit's state, as the router reads it."""
        return self.circuits[BEDROCK_CIRCUIT].state()

    async def component(self, name: str) -> ComponentHealth:
        """Probe one component; a staged component is reported unhealthy without probing."""
        spec = self.registry.spec(name)
        if not self.registry.is_active(name):
            health = ComponentHealth(
                name, spec.version, "staged", False, "staged: not activated", spec.depends_on
            )
        elif self._faults.unhealthy_component == name:
            health = ComponentHealth(
                name, spec.version, "active", False, "drill fault: unhealthy_component", spec.depends_on
            )
        else:
            result = await self._run_probe(name)
            health = ComponentHealth(
                name, spec.version, "active", result.healthy, result.detail, spec.depends_on
            )
        if self._on_component is not None:
            self._on_component(name, health.healthy)
        return health

    async def report(self, *, extra_problems: tuple[str, ...] = ()) -> HealthReport:
        """Probe every component and aggregate."""
        # Concurrently: one slow probe (an unreachable MCP server) must not add up with the others.
        components = tuple(await asyncio.gather(*(self.component(name) for name in self.registry.order)))
        failing = tuple(f"{c.name}: {c.detail}" for c in components if not c.healthy)
        if failing:
            return HealthReport("unhealthy", components, failing + extra_problems)
        open_circuits = tuple(
            f"circuit {name} is {breaker.state().value}"
            for name, breaker in self.circuits.items()
            if breaker.state() is not CircuitState.CLOSED
        )
        problems = open_circuits + extra_problems
        return HealthReport("degraded" if problems else "ok", components, problems)

    async def _run_probe(self, name: str) -> ProbeResult:
        probe = self._probes.get(name)
        if probe is None:
            return ProbeResult(True, "no probe installed")
        try:
            result = probe()
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # a probe that raises is a failing probe, not a failing endpoint
            return ProbeResult(False, f"probe raised {type(exc).__name__}: {exc}")
        return result
