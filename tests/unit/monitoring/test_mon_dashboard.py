"""The hybrid-routing dashboard: the feature's widgets, each on metrics the service publishes."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.validate import ParamValidator
from mon_fixtures import FEATURES, REPO

from bedrock_release.monitoring import (
    DASHBOARD_WIDGETS,
    DashboardDefinition,
    MetricKey,
    MonitoringConfig,
    Thresholds,
    dashboard_definition,
    is_published,
    route_combinations,
    widget_metrics,
)


@pytest.fixture
def dashboard(cfg: MonitoringConfig, thresholds: Thresholds) -> DashboardDefinition:
    return dashboard_definition(cfg, thresholds=thresholds)


def _feature_widgets() -> list[str]:
    text = (FEATURES / "monitoring.feature").read_text()
    block = text[text.index("| widget") :].split("And every widget")[0]
    return [
        line.strip().strip("|").strip() for line in block.splitlines()[1:] if line.strip().startswith("|")
    ]


def test_widget_titles_are_the_feature_table(dashboard: DashboardDefinition) -> None:
    assert list(DASHBOARD_WIDGETS) == _feature_widgets()
    titles = [w["properties"]["title"] for w in dashboard.body()["widgets"]]
    assert titles == list(DASHBOARD_WIDGETS)


def test_every_widget_metric_is_published_in_the_namespace(dashboard: DashboardDefinition) -> None:
    for widget in dashboard.body()["widgets"]:
        keys = widget_metrics(widget)
        assert keys, widget["properties"]["title"]
        for key in keys:
            assert key.namespace == "BedrockSupport/local"
            assert is_published(key), key.label()


def test_widget_metrics_reads_back_what_the_definition_wrote(dashboard: DashboardDefinition) -> None:
    body = json.loads(dashboard.body_json())
    read = [k for w in body["widgets"] for k in widget_metrics(w)]
    assert read == list(dashboard.metric_keys())


def test_widget_metrics_understands_the_dot_shorthand_and_skips_expressions() -> None:
    widget = {
        "properties": {
            "metrics": [
                [{"expression": "a + b", "id": "e"}],
                ["ns", "Requests", "Status", "ok", {"id": "a"}],
                [".", ".", ".", "error", {"id": "b"}],
            ]
        }
    }
    assert widget_metrics(widget) == (
        MetricKey.of("ns", "Requests", {"Status": "ok"}),
        MetricKey.of("ns", "Requests", {"Status": "error"}),
    )
    with pytest.raises(ValueError, match="malformed"):
        widget_metrics({"properties": {"metrics": [["ns", "Requests", "Status"]]}})


def test_thresholds_are_drawn_from_the_features(
    dashboard: DashboardDefinition, thresholds: Thresholds
) -> None:
    widgets = {w["properties"]["title"]: w["properties"] for w in dashboard.body()["widgets"]}
    lines = {
        title: {a["value"] for a in p.get("annotations", {}).get("horizontal", [])}
        for title, p in widgets.items()
    }
    assert lines["latency by route"] == {1500.0, 300.0}
    assert lines["error rate"] == {thresholds.alarm("error-rate").value}
    assert lines["cache hit rate"] == {thresholds.gate("cache-hit-rate").value}
    assert lines["cost against budget"] == {40.0, 50.0}  # 80 % of 50 USD, and the budget


def test_route_mix_covers_the_routing_matrix() -> None:
    combos = route_combinations()
    matrix = (REPO / "docs" / "routing-matrix.md").read_text()
    reasons = {reason for _, _, reason in combos}
    assert all(f"`{reason}`" in matrix for reason in reasons)
    assert ("generation", "direct", "generation_direct") in combos
    assert ("routine", "mcp", "cheapest_adequate") in combos
    assert ("generation", "mcp", "fallback_from_direct") in combos
    assert not any(op == "routine" and route == "direct" for op, route, _ in combos)
    assert len(combos) == 24


def test_body_is_canonical_and_accepted_by_the_api_model(dashboard: DashboardDefinition) -> None:
    assert (
        dashboard.body_json()
        == dashboard_definition(
            MonitoringConfig.for_environment(
                "local",
                namespace="BedrockSupport/local",
                region="eu-central-1",
                release_slot="green",
                budget_usd=50.0,
                features_dir=FEATURES,
            )
        ).body_json()
    )
    model = botocore.session.get_session().get_service_model("cloudwatch")
    request = {"DashboardName": dashboard.name, "DashboardBody": dashboard.body_json()}
    report = ParamValidator().validate(request, model.operation_model("PutDashboard").input_shape)
    assert not report.has_errors()
    assert dashboard.name == "bedrock-support-local-hybrid-routing"
