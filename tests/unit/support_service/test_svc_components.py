"""Component registry: dependency order and activation rules."""

from __future__ import annotations

import pytest

from support_service.components import (
    ACTIVATION_ORDER,
    COMPONENTS,
    ComponentRegistry,
    ComponentSpec,
    DependencyNotActiveError,
    UnknownComponentError,
    activation_order,
)


def test_the_seven_components_of_the_plan_in_dependency_order() -> None:
    assert ACTIVATION_ORDER == (
        "ComplianceValidator",
        "HybridHealthMonitor",
        "PerformanceOptimizer",
        "DirectBedrockClient",
        "MCPRouter",
        "IntelligentRouter",
        "BedrockSupportManager",
    )
    position = {name: i for i, name in enumerate(ACTIVATION_ORDER)}
    for spec in COMPONENTS:
        assert all(position[dep] < position[spec.name] for dep in spec.depends_on), spec.name


def test_order_is_computed_from_dependencies_not_declaration() -> None:
    specs = [ComponentSpec("B", "1", ("A",), ""), ComponentSpec("A", "1", (), "")]
    assert activation_order(specs) == ("A", "B")


def test_activation_needs_dependencies_and_is_idempotent() -> None:
    registry = ComponentRegistry()
    with pytest.raises(DependencyNotActiveError) as info:
        registry.activate("PerformanceOptimizer")
    assert info.value.missing == ("ComplianceValidator",)
    assert "ComplianceValidator" in str(info.value)
    assert not registry.activate("ComplianceValidator").already_active
    assert registry.activate("ComplianceValidator").already_active
    assert registry.activate("PerformanceOptimizer").component == "PerformanceOptimizer"
    assert registry.inactive()[0] == "HybridHealthMonitor"
    assert not registry.all_active()


def test_activating_all_in_order() -> None:
    registry = ComponentRegistry()
    for name in registry.order:
        registry.activate(name)
    assert registry.all_active()
    assert registry.inactive() == ()


def test_unknown_component() -> None:
    registry = ComponentRegistry()
    with pytest.raises(UnknownComponentError):
        registry.activate("FluxCapacitor")
    with pytest.raises(UnknownComponentError):
        registry.is_active("FluxCapacitor")


def test_versions_and_dependencies_are_published() -> None:
    registry = ComponentRegistry()
    assert list(registry.versions()) == list(ACTIVATION_ORDER)
    assert registry.dependencies()["BedrockSupportManager"] == ["IntelligentRouter"]
