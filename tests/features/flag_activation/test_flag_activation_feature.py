"""Phase 5 - Feature Flag Activation."""

from pytest_bdd import scenarios

scenarios("flag_activation.feature")
