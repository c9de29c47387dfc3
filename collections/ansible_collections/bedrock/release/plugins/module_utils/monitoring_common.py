"""Shared argument spec and configuration of the monitoring modules."""

from __future__ import annotations

import traceback
from typing import Any

MONITORING_IMPORT_ERROR: str | None = None
try:
    from bedrock_release.monitoring import AwsClients, MonitoringConfig
except ImportError:  # the interpreter is not the project's virtual environment
    MONITORING_IMPORT_ERROR = traceback.format_exc()
    AwsClients = MonitoringConfig = None  # type: ignore[assignment,misc]

__all__ = ["COMMON_OPTIONS", "MONITORING_IMPORT_ERROR", "clients_of", "config_of"]

#: The options of doc_fragments/monitoring.py.
COMMON_OPTIONS: dict[str, dict[str, Any]] = {
    "name_prefix": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "release_slot": {"type": "str", "required": True, "choices": ["blue", "green"]},
    "budget_usd": {"type": "float", "default": 0.0},
    "budget_name": {"type": "str", "default": ""},
    "topic_name": {"type": "str", "default": ""},
    "delivery_queue_name": {"type": "str", "default": ""},
    "features_dir": {"type": "path", "required": True},
    "aws_region": {"type": "str", "required": True},
    "aws_endpoint_url": {"type": "str", "default": ""},
}


def config_of(params: dict[str, Any]) -> Any:
    """The MonitoringConfig the module's parameters describe."""
    return MonitoringConfig(
        name_prefix=params["name_prefix"],
        namespace=params["namespace"],
        region=params["aws_region"],
        release_slot=params["release_slot"],
        budget_usd=params["budget_usd"] or None,
        budget_name=params["budget_name"] or None,
        topic_name=params["topic_name"],
        delivery_queue_name=params["delivery_queue_name"] or None,
        features_dir=params["features_dir"],
    )


def clients_of(params: dict[str, Any]) -> Any:
    """AWS clients for the module's region and endpoint."""
    return AwsClients.create(params["aws_region"], params["aws_endpoint_url"] or None)
