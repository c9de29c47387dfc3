"""Phase 3 - SLO Gate Validation."""

from pytest_bdd import scenarios

scenarios("slo_gates.feature")
