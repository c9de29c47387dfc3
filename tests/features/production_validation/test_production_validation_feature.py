"""Phase 6 - Production Validation."""

from pytest_bdd import scenarios

scenarios("production_validation.feature")
