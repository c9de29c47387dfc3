"""Phase 4 - Health Check Execution."""

from pytest_bdd import scenarios

scenarios("health_checks.feature")
