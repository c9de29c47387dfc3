"""The OpenAPI document is the service's contract: bodies, every answer, the bearer scheme, /metrics."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from svc_fakes import Harness


def _doc(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def test_the_operation_body_is_declared_as_the_service_validates_it(
    harness: Harness, client: TestClient
) -> None:
    post = _doc(client)["paths"]["/v1/support/operations"]["post"]
    body = post["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert schema["required"] == ["type", "query", "customer_region"]
    assert schema["properties"]["query"]["maxLength"] == harness.service.settings.max_query_chars
    assert set(post["responses"]) == {"200", "400", "403", "413", "422", "500", "502", "503"}


def test_a_blank_query_and_a_region_with_a_newline_are_refused_as_the_schema_says(client: TestClient) -> None:
    for bad in (
        {"query": " \x1c\u3000"},
        {"customer_region": "eu-central-1\n"},
        {"customer_region": "eu-x-\u0663"},
    ):
        body = {"type": "routine", "query": "q", "customer_region": "eu-central-1", **bad}
        assert client.post("/v1/support/operations", json=body).status_code == 422, bad


def test_every_admin_operation_declares_the_bearer_scheme_and_its_refusals(client: TestClient) -> None:
    doc = _doc(client)
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    admin = [(p, op) for p, ops in doc["paths"].items() if p.startswith("/admin/") for op in ops.values()]
    assert len(admin) == 9
    for path, op in admin:
        assert op["security"] == [{"bearer": []}], path
        assert {"401", "403", "503"} <= set(op["responses"]), path
    activate = doc["paths"]["/admin/components/{name}/activate"]["post"]["responses"]
    assert {"404", "409"} <= set(activate)


def test_metrics_is_declared_as_text_and_no_framework_error_shape_is_left(client: TestClient) -> None:
    doc = _doc(client)
    content = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["text/plain"]
    assert "HTTPValidationError" not in str(doc)


def test_framework_refusals_come_in_the_service_format_with_the_paths_methods(client: TestClient) -> None:
    from svc_fakes import ADMIN  # noqa: PLC0415

    wrong_method = client.options("/admin/bedrock/failure", headers=ADMIN)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "DELETE, POST"  # both routes of the path, as the document says
    assert wrong_method.json()["error"] == "method_not_allowed"
    assert client.put("/admin/circuits/bedrock/open", headers=ADMIN).headers["Allow"] == "POST"
    unknown = client.get("/no/such/path")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    garbled = client.post(
        "/admin/bedrock/failure", content=b"\xff{", headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert garbled.status_code in {400, 422}
    assert "error" in garbled.json()
