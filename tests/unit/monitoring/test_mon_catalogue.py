"""The catalogue of published metrics is docs/metrics.md's CloudWatch table, and nothing else."""

from __future__ import annotations

from mon_fixtures import REPO

from bedrock_release.monitoring import PUBLISHED, MetricKey, is_published, published_problem
from bedrock_release.monitoring.catalogue import COMPONENT_NAMES, DIMENSION_VALUES


def _doc_table() -> set[tuple[str, frozenset[str], str]]:
    text = (REPO / "docs" / "metrics.md").read_text()
    section = text[text.index("## CloudWatch") :]
    rows = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].startswith("`") and cells[0] != "metric":
            name = cells[0].strip("`")
            dims = frozenset(d.strip() for d in cells[2].split(",") if d.strip() and d.strip() != "—")
            rows.add((name, dims, cells[1]))
    return rows


def test_catalogue_equals_the_cloudwatch_table_of_docs_metrics() -> None:
    assert {(p.name, p.dimensions, p.unit) for p in PUBLISHED} == _doc_table()


def test_an_exact_published_metric_is_accepted() -> None:
    assert is_published(MetricKey.of("ns", "Requests", {"Status": "error"}))
    assert is_published(MetricKey.of("ns", "ComponentHealthy", {"Slot": "green", "Component": "MCPRouter"}))


def test_a_dimension_subset_is_not_the_published_metric() -> None:
    problem = published_problem(MetricKey.of("ns", "RequestLatency", {"Operation": "generation"}))
    assert problem is not None
    assert "Operation,Route" in problem


def test_an_unknown_metric_or_value_is_named() -> None:
    assert "no metric named" in (published_problem(MetricKey.of("ns", "Latency", {})) or "")
    assert "Route=bedrock" in (published_problem(MetricKey.of("ns", "CostUSD", {"Route": "bedrock"})) or "")


def test_dimension_values_come_from_the_service() -> None:
    assert DIMENSION_VALUES["Route"] == {"mcp", "direct", "cache", "none"}
    assert len(COMPONENT_NAMES) == 7
    assert "pii_in_model_payload" in DIMENSION_VALUES["Rule"]


def test_metric_key_ignores_dimension_order() -> None:
    a = MetricKey.of("ns", "CircuitState", {"Slot": "blue", "Circuit": "mcp"})
    b = MetricKey.of("ns", "CircuitState", {"Circuit": "mcp", "Slot": "blue"})
    assert a == b
    assert a.api_dimensions() == [{"Name": "Circuit", "Value": "mcp"}, {"Name": "Slot", "Value": "blue"}]
