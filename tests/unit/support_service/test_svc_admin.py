"""Admin endpoints: bearer auth (401/403, audited), component activation in dependency order,
circuits, cache, audit paging, compliance violations."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from svc_fakes import ADMIN, Harness, make_harness, operation

from support_service.app import create_app
from support_service.components import ACTIVATION_ORDER

ADMIN_CALLS = [
    ("post", "/admin/components/ComplianceValidator/activate"),
    ("get", "/admin/circuits"),
    ("post", "/admin/circuits/bedrock/open"),
    ("post", "/admin/circuits/bedrock/reset"),
    ("post", "/admin/cache/clear"),
    ("get", "/admin/audit"),
    ("get", "/admin/compliance/violations"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
def test_no_token_is_401(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
def test_wrong_token_is_403(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, headers={"Authorization": "Bearer not-the-token"})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "token abc"])
def test_malformed_authorization_is_401(client: TestClient, header: str) -> None:
    assert client.get("/admin/circuits", headers={"Authorization": header}).status_code == 401


def test_refusals_are_audited_and_change_nothing(harness: Harness, client: TestClient) -> None:
    client.post("/admin/circuits/bedrock/open")
    client.post("/admin/circuits/bedrock/open", headers={"Authorization": "Bearer wrong"})
    assert harness.service.health.circuit("bedrock").state().value == "closed"
    denied = [r["data"] for r in harness.audit() if r["action"] == "admin.denied"]
    assert [(d["path"], d["status"]) for d in denied] == [
        ("/admin/circuits/bedrock/open", 401),
        ("/admin/circuits/bedrock/open", 403),
    ]
    assert "wrong" not in harness.audit_path.read_text()


def test_rollout_activates_components_one_by_one_in_dependency_order(tmp_path: Path) -> None:
    h = make_harness(tmp_path, auto_activate=False)
    with TestClient(create_app(service=h.service)) as client:
        order = client.get("/version").json()["activation_order"]
        assert order == list(ACTIVATION_ORDER)
        early = client.post("/admin/components/IntelligentRouter/activate", headers=ADMIN)
        assert early.status_code == 409
        assert early.json()["error"] == "dependency_not_active"
        assert "ComplianceValidator" in early.json()["missing"]
        assert "ComplianceValidator" in early.json()["detail"]
        for index, name in enumerate(order):
            assert client.post("/v1/support/operations", json=operation()).status_code == 503
            assert client.get(f"/health/components/{name}").status_code == 503
            response = client.post(
                f"/admin/components/{name}/activate", headers={**ADMIN, "X-Actor": "deploy run/42"}
            )
            assert response.status_code == 200, response.json()
            body = response.json()
            assert (body["component"], body["state"], body["already_active"], body["healthy"]) == (
                name,
                "active",
                False,
                True,
            )
            assert body["next"] == (order[index + 1] if index + 1 < len(order) else None)
            assert client.get(f"/health/components/{name}").status_code == 200
        assert client.post("/v1/support/operations", json=operation()).status_code == 200
        again = client.post("/admin/components/MCPRouter/activate", headers=ADMIN)
        assert again.json()["already_active"] is True
        unknown = client.post("/admin/components/FluxCapacitor/activate", headers=ADMIN)
        assert unknown.status_code == 404
    activations = [r for r in h.audit() if r["action"] == "component.activate"]
    assert [r["data"]["component"] for r in activations][:7] == order
    assert activations[0]["actor"] == "admin:deploy_run/42"


def test_auto_activation_is_audited(harness: Harness, client: TestClient) -> None:
    actors = {r["actor"] for r in harness.audit() if r["action"] == "component.activate"}
    assert actors == {"system:auto_activate"}


def test_circuits_open_and_reset(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True, hybrid_health_monitoring=True)
    listed = client.get("/admin/circuits", headers=ADMIN).json()["circuits"]
    assert set(listed) == {"bedrock", "mcp"}
    assert listed["bedrock"]["state"] == "closed"
    opened = client.post("/admin/circuits/bedrock/open", headers=ADMIN).json()
    assert (opened["state"], opened["forced_open"]) == ("open", True)
    body = client.post("/v1/support/operations", json=operation("emergency", "x")).json()
    assert (body["route"], body["reason"]) == ("mcp", "circuit_open")
    assert client.get("/health").json()["status"] == "degraded"
    assert client.post("/admin/circuits/bedrock/reset", headers=ADMIN).json()["state"] == "closed"
    assert client.post("/v1/support/operations", json=operation("emergency", "x")).json()["route"] == "direct"
    assert client.post("/admin/circuits/nope/open", headers=ADMIN).status_code == 404
    actions = [r["action"] for r in harness.audit()]
    assert "admin.circuit.open" in actions
    assert "admin.circuit.reset" in actions


def test_cache_clear(harness: Harness, client: TestClient) -> None:
    harness.flags(performance_optimization=True)
    client.post("/v1/support/operations", json=operation())
    assert client.post("/v1/support/operations", json=operation()).json()["cache"] == "hit"
    assert client.post("/admin/cache/clear", headers=ADMIN).json() == {"cleared": 1}
    assert client.post("/v1/support/operations", json=operation()).json()["cache"] == "miss"


def test_audit_paging(harness: Harness, client: TestClient) -> None:
    for _ in range(3):
        client.post("/v1/support/operations", json=operation())
    first = client.get("/admin/audit", params={"limit": 2}, headers=ADMIN).json()
    assert [r["seq"] for r in first["records"]] == [0, 1]
    rest = client.get("/admin/audit", params={"after_seq": first["next_after_seq"]}, headers=ADMIN).json()
    seqs = [r["seq"] for r in rest["records"]]
    assert seqs == list(range(2, 2 + len(seqs)))
    actions = [r["action"] for r in first["records"] + rest["records"]]
    assert actions.count("support.operation") == 3
    assert "admin.audit.read" in actions
    assert client.get("/admin/audit", params={"after_seq": -5}, headers=ADMIN).status_code == 422


def test_compliance_violations_listing(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True)
    client.post("/v1/support/operations", json=operation("critical", "x", region="ap-south-1"))
    body = client.get("/admin/compliance/violations", headers=ADMIN).json()
    assert body["by_rule"]["customer_region"] == 1
    assert body["violations"][0]["rule"] == "customer_region"
    assert body["violations"][0]["detail"]["customer_region"] == "ap-south-1"
