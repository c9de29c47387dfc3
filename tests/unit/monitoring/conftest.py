"""Shared fixtures of the monitoring unit tests: the real feature files and a configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from bedrock_release.monitoring import MonitoringConfig, Thresholds, load_thresholds

REPO = Path(__file__).resolve().parents[3]
FEATURES = REPO / "features"
TOPIC = "arn:aws:sns:eu-central-1:123456789012:bedrock-support-local-oncall"


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
