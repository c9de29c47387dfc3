"""Phase 1 - Pre-Deployment Validation."""

from pytest_bdd import scenarios

scenarios("pre_deployment.feature")
