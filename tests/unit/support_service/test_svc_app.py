"""HTTP surface: malformed bodies get 4xx naming the field (never 500), slot headers everywhere,
/health, /version, /v1/flags, /metrics with the contract's metric names."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from svc_fakes import Harness, make_harness, operation

from support_service.app import create_app
from support_service.components import ACTIVATION_ORDER
from support_service.flags import FLAG_NAMES

URL = "/v1/support/operations"


@pytest.mark.parametrize(
    ("body", "status", "field", "fragment"),
    [
        ({"query": "q", "customer_region": "eu-west-1"}, 422, "type", "required"),
        ({"type": "routine", "customer_region": "eu-west-1"}, 422, "query", "required"),
        ({"type": "routine", "query": "q"}, 422, "customer_region", "required"),
        ({"type": "urgent", "query": "q", "customer_region": "eu-west-1"}, 422, "type", "'emergency'"),
        ({"type": 3, "query": "q", "customer_region": "eu-west-1"}, 422, "type", "'routine'"),
        ({"type": "routine", "query": 42, "customer_region": "eu-west-1"}, 422, "query", "valid string"),
        ({"type": "routine", "query": ["q"], "customer_region": "eu-west-1"}, 422, "query", "valid string"),
        ({"type": "routine", "query": "   ", "customer_region": "eu-west-1"}, 422, "query", "empty"),
        (
            {"type": "routine", "query": "q", "customer_region": "Europe"},
            422,
            "customer_region",
            "region code",
        ),
        ({"type": "routine", "query": "q", "customer_region": None}, 422, "customer_region", "valid string"),
        (
            {"type": "routine", "query": "q", "customer_region": "eu-west-1", "customer_id": 7},
            422,
            "customer_id",
            "",
        ),
        (
            {"type": "routine", "query": "q" * 4001, "customer_region": "eu-west-1"},
            422,
            "query",
            "limit of 4000",
        ),
    ],
)
def test_malformed_fields_are_named(
    client: TestClient, body: dict, status: int, field: str, fragment: str
) -> None:
    response = client.post(URL, json=body)
    assert response.status_code == status
    problems = response.json()["problems"]
    assert any(p["field"] == field and fragment in p["problem"] for p in problems), problems


@pytest.mark.parametrize(
    ("raw", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not valid JSON"),
        (b"[1, 2]", 422, "got an array"),
        (b'"routine"', 422, "got a string"),
        (b"null", 422, "got null"),
        (b"42", 422, "got a number"),
    ],
)
def test_bodies_that_are_not_json_objects(client: TestClient, raw: bytes, status: int, fragment: str) -> None:
    response = client.post(URL, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == status
    problem = response.json()["problems"][0]
    assert problem["field"] == "body"
    assert fragment in problem["problem"]


def test_oversized_body_is_413(client: TestClient) -> None:
    response = client.post(URL, content=b"{" + b" " * 70_000 + b"}")
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


def test_unknown_fields_are_ignored(client: TestClient) -> None:
    assert client.post(URL, json={**operation(), "label": "optimal:mcp"}).status_code == 200


def test_every_response_has_slot_headers(client: TestClient) -> None:
    responses = [
        client.post(URL, json=operation()),
        client.post(URL, content=b"nope"),
        client.get("/health"),
        client.get("/version"),
        client.get("/metrics"),
        client.get("/v1/flags"),
        client.get("/no/such/path"),
        client.get("/admin/circuits"),
        client.get("/health/components/Nope"),
    ]
    for response in responses:
        assert response.headers["X-Slot"] == "green", response.request.url
        assert response.headers["X-Release"] == "1.1.0", response.request.url


def test_an_unexpected_error_is_a_json_500_with_slot_headers(harness: Harness, client: TestClient) -> None:
    def boom() -> None:
        raise RuntimeError("unexpected")

    harness.service.registry.versions = boom  # type: ignore[method-assign]
    response = client.get("/version")
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert response.headers["X-Slot"] == "green"


def test_version_lists_components_and_the_activation_order(client: TestClient) -> None:
    body = client.get("/version").json()
    assert body["release"] == "1.1.0"
    assert body["slot"] == "green"
    assert list(body["components"]) == list(ACTIVATION_ORDER)
    assert all(version == "1.1.0" for version in body["components"].values())
    assert body["activation_order"] == list(ACTIVATION_ORDER)
    assert body["dependencies"]["IntelligentRouter"][-1] == "MCPRouter"


def test_health_when_everything_is_up(harness: Harness, client: TestClient) -> None:
    harness.flags()
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["ready"] is True
    assert set(body["components"]) == set(ACTIVATION_ORDER)
    assert all(c["healthy"] and c["state"] == "active" for c in body["components"].values())
    assert body["circuits"]["bedrock"]["state"] == "closed"
    assert body["flags"]["store"] == "ok"
    assert "drill_faults" not in body


def test_health_is_degraded_but_serving_when_the_flag_store_is_down(
    harness: Harness, client: TestClient
) -> None:
    harness.ssm.down = True
    harness.service.flags.refresh()
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert any("flag store degraded" in p for p in body["problems"])
    assert "support_flag_store_degraded 1.0" in client.get("/metrics").text


def test_health_is_503_while_components_are_staged(tmp_path: Path) -> None:
    h = make_harness(tmp_path, auto_activate=False)
    with TestClient(create_app(service=h.service)) as client:
        response = client.get("/health")
        assert response.status_code == 503
        body = response.json()
        assert body["ready"] is False
        assert body["components"]["ComplianceValidator"]["state"] == "staged"
        assert client.get("/health/components/ComplianceValidator").status_code == 503


def test_unknown_component_health_is_404(client: TestClient) -> None:
    response = client.get("/health/components/FluxCapacitor")
    assert response.status_code == 404
    assert response.json()["components"] == list(ACTIVATION_ORDER)


def test_flags_endpoint(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True)
    body = client.get("/v1/flags").json()
    assert body["values"] == {name: name == "ENABLE_BEDROCK_SUPPORT_MODE" for name in FLAG_NAMES}
    assert body["store"] == "ok"
    assert body["last_refresh"]
    assert body["poll_interval_s"] == 3600.0
    harness.ssm.values["ENABLE_INTELLIGENT_ROUTING"] = "on"
    harness.service.flags.refresh()
    degraded = client.get("/v1/flags").json()
    assert degraded["store"] == "degraded"
    assert degraded["bad_values"] == ["ENABLE_INTELLIGENT_ROUTING"]
    assert degraded["values"]["ENABLE_INTELLIGENT_ROUTING"] is False


CONTRACT_METRICS = {
    "support_request_duration_seconds": "histogram",
    "support_requests_total": "counter",
    "support_route_decisions_total": "counter",
    "support_cache_requests_total": "counter",
    "support_bedrock_tokens_total": "counter",
    "support_cost_usd_total": "counter",
    "support_circuit_state": "gauge",
    "support_flag_enabled": "gauge",
    "support_flag_store_degraded": "gauge",
    "support_component_healthy": "gauge",
    "support_compliance_violations_total": "counter",
    "support_pii_redactions_total": "counter",
}


def test_metrics_expose_the_contract_names(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True, performance_optimization=True)
    client.post(URL, json=operation("emergency", "mail a@b.io", region="us-east-1"))
    client.post(URL, json=operation("emergency", "x"))
    client.post(URL, json=operation("routine", "x"))
    client.get("/health")
    text = client.get("/metrics").text
    for name, kind in CONTRACT_METRICS.items():
        assert f"# TYPE {name} {kind}" in text, name
    assert "_created" not in text
    assert 'support_request_duration_seconds_bucket{le="0.3",operation="routine",route="mcp"}' in text
    assert 'support_flag_enabled{flag="ENABLE_BEDROCK_SUPPORT_MODE"} 1.0' in text
    assert 'support_component_healthy{component="MCPRouter"} 1.0' in text
    assert 'support_compliance_violations_total{rule="customer_region"} 1.0' in text
    assert 'support_pii_redactions_total{kind="email"} 1.0' in text
    assert 'support_cache_requests_total{query_class="other",result="miss"} 1.0' in text
    assert 'support_bedrock_tokens_total{direction="output"} 80.0' in text
