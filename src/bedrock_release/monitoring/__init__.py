"""Plan phase 7 monitoring: dashboard and alarms as data, created idempotently, verified, evaluated.

API and the measured behaviour of moto it works around: docs/monitoring.md.
"""

from bedrock_release.monitoring.alerting import check_alert_delivery, cloudwatch_notification
from bedrock_release.monitoring.catalogue import PUBLISHED, MetricKey, is_published, published_problem
from bedrock_release.monitoring.config import OPERATIONS_DASHBOARD, AwsClients, MonitoringConfig
from bedrock_release.monitoring.dashboard import (
    DASHBOARD_WIDGETS,
    DashboardDefinition,
    Widget,
    dashboard_definition,
    route_combinations,
    widget_metrics,
)
from bedrock_release.monitoring.definitions import (
    ALARM_NAMES,
    MIN_PERCENTILE_SAMPLES,
    AlarmDefinition,
    AlarmKind,
    MetricQuery,
    alarm_definitions,
    canary_definition,
    normalise_alarm,
)
from bedrock_release.monitoring.evaluate import AlarmEvaluator, evaluate_alarms, evaluate_definition
from bedrock_release.monitoring.prometheus import LatencySnapshot, PrometheusSource, scrape_latency
from bedrock_release.monitoring.provision import (
    MonitoringError,
    ensure_alarms,
    ensure_dashboard,
    ensure_monitoring,
    ensure_topic,
    find_topic,
    resolve_budget,
)
from bedrock_release.monitoring.results import (
    AlarmCheck,
    AlarmEvaluation,
    AlarmState,
    AlertDelivery,
    ChangeResult,
    DashboardCheck,
    DashboardReadable,
    MetricPresence,
    MetricsReadable,
    ProvisionResult,
    TopicResult,
    WidgetCheck,
)
from bedrock_release.monitoring.thresholds import (
    FeatureThreshold,
    ThresholdError,
    Thresholds,
    load_thresholds,
)
from bedrock_release.monitoring.verify import (
    check_dashboard_readable,
    check_metrics_readable,
    release_live_since,
    release_metric_keys,
    verify_alarms,
    verify_dashboard,
)

__all__ = [
    "ALARM_NAMES",
    "DASHBOARD_WIDGETS",
    "MIN_PERCENTILE_SAMPLES",
    "OPERATIONS_DASHBOARD",
    "PUBLISHED",
    "AlarmCheck",
    "AlarmDefinition",
    "AlarmEvaluation",
    "AlarmEvaluator",
    "AlarmKind",
    "AlarmState",
    "AlertDelivery",
    "AwsClients",
    "ChangeResult",
    "DashboardCheck",
    "DashboardDefinition",
    "DashboardReadable",
    "FeatureThreshold",
    "LatencySnapshot",
    "MetricKey",
    "MetricPresence",
    "MetricQuery",
    "MetricsReadable",
    "MonitoringConfig",
    "MonitoringError",
    "PrometheusSource",
    "ProvisionResult",
    "ThresholdError",
    "Thresholds",
    "TopicResult",
    "Widget",
    "WidgetCheck",
    "alarm_definitions",
    "canary_definition",
    "check_alert_delivery",
    "check_dashboard_readable",
    "check_metrics_readable",
    "cloudwatch_notification",
    "dashboard_definition",
    "ensure_alarms",
    "ensure_dashboard",
    "ensure_monitoring",
    "ensure_topic",
    "evaluate_alarms",
    "evaluate_definition",
    "find_topic",
    "is_published",
    "load_thresholds",
    "normalise_alarm",
    "published_problem",
    "release_live_since",
    "release_metric_keys",
    "resolve_budget",
    "route_combinations",
    "scrape_latency",
    "verify_alarms",
    "verify_dashboard",
    "widget_metrics",
]
