"""Shared fixtures of the monitoring unit tests: the real feature files and a configuration."""

from __future__ import annotations

import pytest
from mon_fixtures import FEATURES

from bedrock_release.monitoring import MonitoringConfig, Thresholds, load_thresholds


@pytest.fixture(scope="session")
def thresholds() -> Thresholds:
    """Thresholds read from the repository's feature files."""
    return load_thresholds(FEATURES)


@pytest.fixture
def cfg() -> MonitoringConfig:
    """The sandbox's monitoring configuration, new release on green."""
    return MonitoringConfig.for_environment(
        "local",
        namespace="BedrockSupport/local",
        region="eu-central-1",
        release_slot="green",
        budget_usd=50.0,
        features_dir=FEATURES,
        delivery_queue=True,
    )
