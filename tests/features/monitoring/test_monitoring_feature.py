"""Phase 7 - Monitoring Activation."""

from pytest_bdd import scenarios

scenarios("monitoring.feature")
