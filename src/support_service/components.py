"""The seven components of plan phase 2: versions, real dependencies, activation state.

A slot starts with every component staged; the pipeline activates them one at a time in
``ACTIVATION_ORDER`` (published in /version and /health, so the pipeline reads it instead of
hard-coding it) and health-checks each. Activating a component before its dependencies is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from graphlib import TopologicalSorter

__all__ = [
    "ACTIVATION_ORDER",
    "COMPONENTS",
    "ActivationResult",
    "ComponentRegistry",
    "ComponentSpec",
    "DependencyNotActiveError",
    "ProbeResult",
    "UnknownComponentError",
    "activation_order",
]


@dataclass(frozen=True)
class ProbeResult:
    """A component health probe's verdict."""

    healthy: bool
    detail: str


@dataclass(frozen=True)
class ComponentSpec:
    """One component: its version, what it needs, and what it is for."""

    name: str
    version: str
    depends_on: tuple[str, ...]
    purpose: str


# Dependencies are real code dependencies: who calls whom, or whose state is read.
COMPONENTS: tuple[ComponentSpec, ...] = (
    ComponentSpec("ComplianceValidator", "1.1.0", (), "PII redaction, EU data residency, violations"),
    ComponentSpec("HybridHealthMonitor", "1.1.0", (), "component health and circuit breakers"),
    ComponentSpec(
        "PerformanceOptimizer", "1.1.0", ("ComplianceValidator",), "response cache (keys are redacted text)"
    ),
    ComponentSpec(
        "DirectBedrockClient",
        "1.1.0",
        ("ComplianceValidator", "HybridHealthMonitor"),
        "Bedrock Runtime converse (residency and PII guard, bedrock circuit)",
    ),
    ComponentSpec(
        "MCPRouter",
        "1.1.0",
        ("ComplianceValidator", "HybridHealthMonitor"),
        "MCP support tools (mcp circuit)",
    ),
    ComponentSpec(
        "IntelligentRouter",
        "1.1.0",
        (
            "ComplianceValidator",
            "HybridHealthMonitor",
            "PerformanceOptimizer",
            "DirectBedrockClient",
            "MCPRouter",
        ),
        "routing decision over flags, circuit, budget, residency and cache",
    ),
    ComponentSpec(
        "BedrockSupportManager", "1.1.0", ("IntelligentRouter",), "support API orchestration and audit trail"
    ),
)


def activation_order(specs: Iterable[ComponentSpec]) -> tuple[str, ...]:
    """Dependencies first; ties keep the declaration order (stable for the pipeline)."""
    specs = tuple(specs)
    names = [spec.name for spec in specs]
    sorter: TopologicalSorter[str] = TopologicalSorter({spec.name: spec.depends_on for spec in specs})
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=names.index)
        order.extend(ready)
        sorter.done(*ready)
    return tuple(order)


ACTIVATION_ORDER = activation_order(COMPONENTS)


class UnknownComponentError(KeyError):
    """No component has that name."""


class DependencyNotActiveError(Exception):
    """A component's dependencies must be active first."""

    def __init__(self, component: str, missing: tuple[str, ...]) -> None:
        self.component = component
        self.missing = missing
        super().__init__(f"{component} depends on {', '.join(missing)}, which is not active")


@dataclass(frozen=True)
class ActivationResult:
    """The outcome of one activation request."""

    component: str
    already_active: bool


class ComponentRegistry:
    """Which components are staged and which are active; thread-safe."""

    def __init__(self, specs: Iterable[ComponentSpec] = COMPONENTS) -> None:
        self._specs: Mapping[str, ComponentSpec] = {spec.name: spec for spec in specs}
        self.order = activation_order(self._specs.values())
        self._active: set[str] = set()
        self._lock = threading.Lock()

    def spec(self, name: str) -> ComponentSpec:
        """The spec of a component by name."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownComponentError(name) from None

    def activate(self, name: str) -> ActivationResult:
        """Activate one component whose dependencies are active (idempotent)."""
        spec = self.spec(name)
        with self._lock:
            if name in self._active:
                return ActivationResult(name, already_active=True)
            missing = tuple(dep for dep in spec.depends_on if dep not in self._active)
            if missing:
                raise DependencyNotActiveError(name, missing)
            self._active.add(name)
        return ActivationResult(name, already_active=False)

    def is_active(self, name: str) -> bool:
        """Whether a component is active."""
        self.spec(name)
        with self._lock:
            return name in self._active

    def inactive(self) -> tuple[str, ...]:
        """Components still staged, in activation order."""
        with self._lock:
            return tuple(name for name in self.order if name not in self._active)

    def all_active(self) -> bool:
        """Whether the slot may serve support operations."""
        return not self.inactive()

    def versions(self) -> dict[str, str]:
        """``{name: version}`` in activation order."""
        return {name: self._specs[name].version for name in self.order}

    def dependencies(self) -> dict[str, list[str]]:
        """``{name: [dependency, ...]}`` in activation order."""
        return {name: list(self._specs[name].depends_on) for name in self.order}
