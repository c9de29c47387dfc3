"""Phase 2 - Component Deployment."""

from pytest_bdd import scenarios

scenarios("component_deployment.feature")
