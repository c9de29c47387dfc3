"""Constants of the monitoring unit tests (uniquely named: ``conftest`` is ambiguous across folders)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FEATURES = REPO / "features"
TOPIC = "arn:aws:sns:eu-central-1:123456789012:bedrock-support-local-oncall"
