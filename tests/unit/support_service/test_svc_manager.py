"""BedrockSupportManager end to end through the HTTP API with fakes at the client boundaries:
routes, redaction before every model call, fallback, circuits, budget, residency, cache, audit, faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ReadTimeoutError
from fastapi.testclient import TestClient
from svc_fakes import ADMIN, ADMIN_TOKEN, Harness, client_error, make_harness, operation

from support_service.app import create_app

EMAIL, PHONE, CARD, IBAN = (
    "jane.doe@example.com",
    "+49 30 1234567",
    "4111 1111 1111 1111",
    "DE89370400440532013000",
)
PII_QUERY = f"I am {EMAIL}, phone {PHONE}, card {CARD}, IBAN {IBAN}: my deploy fails"
REDACTED = (
    "I am [REDACTED_EMAIL], phone [REDACTED_PHONE], card [REDACTED_CARD], IBAN [REDACTED_IBAN]: "
    "my deploy fails"
)


def sample(h: Harness, name: str, **labels: str) -> float:
    return h.service.metrics.registry.get_sample_value(name, labels) or 0.0


def post(client: TestClient, body: dict, **headers: str):
    return client.post("/v1/support/operations", json=body, headers=headers)


def run_app(h: Harness):
    return TestClient(create_app(service=h.service))


def operations_audited(h: Harness) -> list[dict]:
    return [r["data"] for r in h.audit() if r["action"] == "support.operation"]


@pytest.mark.parametrize("kind", ["emergency", "critical", "generation", "routine"])
def test_all_flags_off_is_mcp_only_mode(harness: Harness, client: TestClient, kind: str) -> None:
    response = post(client, operation(kind, "SUP-1234 status" if kind == "critical" else "how do I deploy?"))
    assert response.status_code == 200
    body = response.json()
    assert (body["route"], body["reason"], body["cache"]) == ("mcp", "mcp_only_mode", "bypass")
    assert body["tokens"] == {"input": 0, "output": 0}
    assert body["cost_usd"] == 0
    assert body["answer"]
    assert harness.bedrock.calls == []
    assert (
        sample(harness, "support_route_decisions_total", operation=kind, route="mcp", reason="mcp_only_mode")
        == 1
    )
    assert sample(harness, "support_requests_total", operation=kind, route="mcp", status="ok") == 1


def test_redacted_before_the_mcp_call(harness: Harness, client: TestClient) -> None:
    body = post(client, operation("routine", PII_QUERY)).json()
    assert body["route"] == "mcp"
    assert body["redactions"] == ["email", "phone", "card", "iban"]
    assert harness.tools.received == [("search_knowledge", {"query": REDACTED})]
    assert sample(harness, "support_pii_redactions_total", kind="card") == 1


def test_redacted_before_the_direct_call(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True)
    body = post(client, operation("emergency", PII_QUERY)).json()
    assert body["route"] == "direct"
    sent = " ".join(harness.bedrock.texts())
    assert REDACTED in sent
    for secret in (EMAIL, PHONE, CARD, IBAN):
        assert secret not in sent


def test_redacted_before_the_fallback_call(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True, direct_bedrock_fallback=True)
    harness.bedrock.error = client_error("ServiceUnavailableException", 503)
    body = post(client, operation("critical", PII_QUERY)).json()
    assert (body["route"], body["reason"]) == ("mcp", "fallback_from_direct")
    assert harness.tools.received == [("search_knowledge", {"query": REDACTED})]
    assert EMAIL not in " ".join(harness.bedrock.texts())


def test_cache_keys_hold_redacted_text_only(harness: Harness, client: TestClient) -> None:
    harness.flags(performance_optimization=True)
    first = post(client, operation("routine", "refund to jane@example.com failed")).json()
    # Another customer's address: same redacted question, so the same key, so a hit.
    second = post(client, operation("routine", "refund to john@example.org failed")).json()
    assert (first["cache"], second["cache"], second["route"]) == ("miss", "hit", "cache")
    assert harness.tools.received == [("search_knowledge", {"query": "refund to [REDACTED_EMAIL] failed"})]


def test_no_raw_pii_in_the_audit_trail(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True)
    post(client, {**operation("emergency", PII_QUERY), "customer_id": EMAIL})
    text = harness.audit_path.read_text()
    for secret in (EMAIL, PHONE, CARD, IBAN):
        assert secret not in text
    record = operations_audited(harness)[-1]
    assert record["query_redacted"] == REDACTED
    assert record["customer_id"] == "[REDACTED_EMAIL]"
    assert "answer" not in record
    assert len(record["answer_sha256"]) == 64


def test_direct_success_accounts_tokens_and_cost(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True, intelligent_routing=True)
    body = post(client, operation("generation", "explain the gap")).json()
    assert (body["route"], body["reason"]) == ("direct", "generation_direct")
    assert body["tokens"] == {"input": 120, "output": 80}
    assert body["cost_usd"] == pytest.approx(0.12 * 0.003 + 0.08 * 0.015)
    assert harness.service.ledger.spent() == pytest.approx(body["cost_usd"])
    assert sample(harness, "support_bedrock_tokens_total", direction="input") == 120
    assert sample(harness, "support_cost_usd_total", route="direct") == pytest.approx(body["cost_usd"])


@pytest.mark.parametrize(
    "error", [client_error("ThrottlingException", 429), ReadTimeoutError(endpoint_url="http://127.0.0.1")]
)
def test_fallback_on_answers_over_mcp_and_records_the_failure(tmp_path: Path, error: Exception) -> None:
    h = make_harness(tmp_path)
    with run_app(h) as client:
        h.flags(bedrock_support_mode=True, direct_bedrock_fallback=True, hybrid_health_monitoring=True)
        h.bedrock.error = error
        response = post(client, operation("emergency", "prod down"))
    body = response.json()
    assert response.status_code == 200
    assert (body["route"], body["reason"]) == ("mcp", "fallback_from_direct")
    assert body["fallback"]["from"] == "direct"
    assert body["fallback"]["error"] in {"throttled", "timeout"}
    assert h.service.health.circuit("bedrock").snapshot().consecutive_failures == 1
    for route, reason in (("direct", "priority_direct"), ("mcp", "fallback_from_direct")):
        assert (
            sample(h, "support_route_decisions_total", operation="emergency", route=route, reason=reason) == 1
        )
    assert sample(h, "support_requests_total", operation="emergency", route="mcp", status="ok") == 1
    assert operations_audited(h)[-1]["decisions"] == [
        {"route": "direct", "reason": "priority_direct"},
        {"route": "mcp", "reason": "fallback_from_direct"},
    ]


def test_fallback_off_returns_502(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True)
    harness.bedrock.error = client_error("ServiceUnavailableException", 503)
    response = post(client, operation("critical", "db down"))
    assert response.status_code == 502
    body = response.json()
    assert body["error"] == "bedrock_failed"
    assert "fallback is off" in body["detail"]
    assert harness.tools.received == []
    assert (
        sample(harness, "support_requests_total", operation="critical", route="direct", status="error") == 1
    )


def test_mcp_failure_never_falls_back_to_direct(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True, direct_bedrock_fallback=True)
    harness.tools.fail_with = "knowledge base offline"
    response = post(client, operation("routine", "how do I deploy?"))
    assert response.status_code == 502
    assert response.json()["error"] == "mcp_failed"
    assert harness.bedrock.calls == []


def test_circuit_opens_then_half_open_probe_closes_it(tmp_path: Path) -> None:
    h = make_harness(tmp_path, circuit_failure_threshold=2, circuit_reset_timeout_s=30)
    with run_app(h) as client:
        h.flags(bedrock_support_mode=True, hybrid_health_monitoring=True, direct_bedrock_fallback=True)
        h.bedrock.error = client_error("ServiceUnavailableException", 503)
        for _ in range(2):
            assert post(client, operation("emergency", "x")).json()["reason"] == "fallback_from_direct"
        calls = len(h.bedrock.calls)
        opened = post(client, operation("emergency", "x")).json()
        assert (opened["route"], opened["reason"]) == ("mcp", "circuit_open")
        assert len(h.bedrock.calls) == calls  # an open circuit sends nothing to Bedrock
        metrics = client.get("/metrics").text
        assert 'support_circuit_state{circuit="bedrock"} 2.0' in metrics
        h.clock.advance(30)
        assert 'support_circuit_state{circuit="bedrock"} 1.0' in client.get("/metrics").text
        h.bedrock.error = None
        probe = post(client, operation("emergency", "x")).json()
        assert (probe["route"], probe["reason"]) == ("direct", "priority_direct")
        assert h.service.health.circuit("bedrock").state().value == "closed"
    transitions = [r["data"] for r in h.audit() if r["action"] == "circuit.transition"]
    assert [(t["from"], t["to"]) for t in transitions] == [
        ("closed", "open"),
        ("open", "half-open"),
        ("half-open", "closed"),
    ]


def test_circuit_is_not_tracked_without_health_monitoring(tmp_path: Path) -> None:
    h = make_harness(tmp_path, circuit_failure_threshold=1)
    with run_app(h) as client:
        h.flags(bedrock_support_mode=True, direct_bedrock_fallback=True)
        h.bedrock.error = client_error("ThrottlingException", 429)
        for _ in range(3):
            assert post(client, operation("emergency", "x")).json()["reason"] == "fallback_from_direct"
    assert h.service.health.circuit("bedrock").state().value == "closed"
    assert len(h.bedrock.calls) == 3


def test_budget_soft_limit_and_exhaustion(tmp_path: Path) -> None:
    h = make_harness(tmp_path, budget_usd=0.003)
    with run_app(h) as client:
        h.flags(bedrock_support_mode=True, intelligent_routing=True)
        h.bedrock.usage = (1000, 0)  # 0.003 USD per call at the Sonnet price: the whole budget
        h.service.ledger.add("direct", 0.0025)  # 83 %: soft
        assert post(client, operation("generation", "g")).json()["reason"] == "budget_soft_limit"
        assert post(client, operation("emergency", "e")).json()["reason"] == "priority_direct"
        assert h.service.ledger.state().value == "exhausted"
        exhausted = post(client, operation("critical", "c")).json()
        assert (exhausted["route"], exhausted["reason"]) == ("mcp", "budget_exhausted")
        assert client.get("/health").json()["budget"]["state"] == "exhausted"


def test_customer_outside_the_permitted_regions_is_blocked_and_recorded(
    harness: Harness, client: TestClient
) -> None:
    harness.flags(bedrock_support_mode=True)
    body = post(client, operation("emergency", "outage", region="us-east-1")).json()
    assert (body["route"], body["reason"]) == ("mcp", "compliance_residency")
    assert harness.bedrock.calls == []
    assert sample(harness, "support_compliance_violations_total", rule="customer_region") == 1
    violations = [r["data"] for r in harness.audit() if r["action"] == "compliance.violation"]
    assert violations[0]["rule"] == "customer_region"
    assert violations[0]["detail"]["customer_region"] == "us-east-1"


def test_bedrock_region_outside_the_eu_is_never_called(tmp_path: Path) -> None:
    h = make_harness(tmp_path, bedrock_region="us-east-1")
    with run_app(h) as client:
        h.flags(bedrock_support_mode=True, intelligent_routing=True)
        for kind in ("emergency", "generation"):
            assert post(client, operation(kind, "x")).json()["reason"] == "compliance_residency"
    assert h.bedrock.calls == []
    assert sample(h, "support_compliance_violations_total", rule="bedrock_region") == 2


def test_cache_serves_routine_and_generation_but_not_priority(harness: Harness, client: TestClient) -> None:
    harness.flags(performance_optimization=True)
    results = [post(client, operation("routine", "rotate keys")).json() for _ in range(2)]
    assert [(r["route"], r["cache"]) for r in results] == [("mcp", "miss"), ("cache", "hit")]
    assert results[1]["reason"] == "cache_hit"
    assert results[1]["answer"] == results[0]["answer"]
    priority = [post(client, operation("emergency", "rotate keys")).json() for _ in range(2)]
    assert [p["cache"] for p in priority] == ["bypass", "bypass"]
    assert sample(harness, "support_cache_requests_total", query_class="other", result="hit") == 1
    assert sample(harness, "support_cache_requests_total", query_class="other", result="miss") == 1


def test_frequent_queries_are_counted_as_frequent(harness: Harness, client: TestClient) -> None:
    harness.flags(performance_optimization=True)
    for _ in range(5):
        post(client, operation("routine", "reset password"))
    assert sample(harness, "support_cache_requests_total", query_class="frequent", result="hit") == 2
    stats = client.get("/health").json()["cache"]["classes"]
    assert stats["frequent"] == {"hits": 2, "misses": 0, "hit_rate": 1.0}


def test_mcp_outage_trips_the_mcp_circuit(tmp_path: Path) -> None:
    h = make_harness(tmp_path, circuit_failure_threshold=2)

    class Down:
        async def __aenter__(self):
            raise ConnectionError("mcp down")

        async def __aexit__(self, *exc: object) -> None:
            return None

    h.service.mcp._factory = Down
    with run_app(h) as client:
        h.flags(hybrid_health_monitoring=True)
        statuses = [post(client, operation("routine", "x")).status_code for _ in range(3)]
        body = post(client, operation("routine", "x")).json()
    assert statuses == [502, 502, 503]
    assert body["error"] == "mcp_unavailable"


def test_every_operation_is_audited_including_failures(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True)
    post(client, operation("routine", "a"))
    harness.bedrock.error = client_error("ThrottlingException", 429)
    post(client, operation("emergency", "b"))
    records = operations_audited(harness)
    assert [(r["type"], r["status"]) for r in records] == [("routine", 200), ("emergency", 502)]
    assert records[1]["error"] == "bedrock_failed"
    assert records[0]["flags"]["ENABLE_BEDROCK_SUPPORT_MODE"] is True


def test_operations_are_refused_until_every_component_is_active(tmp_path: Path) -> None:
    h = make_harness(tmp_path, auto_activate=False)
    with run_app(h) as client:
        response = post(client, operation())
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "components_not_active"
    assert "ComplianceValidator" in body["detail"]
    assert h.tools.received == []
    assert sample(h, "support_requests_total", operation="routine", route="none", status="error") == 1


def test_an_unwritable_audit_trail_refuses_the_answer(tmp_path: Path) -> None:
    h = make_harness(tmp_path)

    class BrokenSink:
        def append(self, **_kw: object) -> None:
            raise OSError("disk full")

    with run_app(h) as client:
        h.service.auditor.sink = BrokenSink()
        response = post(client, operation())
        assert response.status_code == 503
        assert response.json()["error"] == "audit_unavailable"
        assert "answer" not in response.json()
        assert client.get("/health/components/BedrockSupportManager").status_code == 503


def test_verification_context_turns_every_flag_on_for_that_request(
    harness: Harness, client: TestClient
) -> None:
    verified = post(client, operation("emergency", "x"), **{"X-Verification-Token": ADMIN_TOKEN}).json()
    plain = post(client, operation("emergency", "x")).json()
    assert (verified["route"], verified["verification"]) == ("direct", True)
    assert (plain["route"], plain["verification"]) == ("mcp", False)
    records = operations_audited(harness)
    assert [r["verification"] for r in records] == [True, False]
    assert client.get("/v1/flags").json()["values"]["ENABLE_BEDROCK_SUPPORT_MODE"] is False


def test_wrong_verification_token_is_refused_and_audited(harness: Harness, client: TestClient) -> None:
    response = post(client, operation(), **{"X-Verification-Token": "guess"})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert harness.tools.received == []
    assert [r["action"] for r in harness.audit()][-1] == "verification.denied"


def test_fault_error_rate_when_flag(tmp_path: Path) -> None:
    h = make_harness(
        tmp_path,
        faults=json.dumps({"error_rate_when_flag": {"flag": "ENABLE_INTELLIGENT_ROUTING", "rate": 1.0}}),
    )
    with run_app(h) as client:
        assert post(client, operation()).status_code == 200
        h.flags(intelligent_routing=True)
        failed = post(client, operation())
        assert failed.status_code == 500
        assert "error_rate_when_flag" in failed.json()["detail"]
        assert post(client, operation(), **{"X-Verification-Token": ADMIN_TOKEN}).status_code == 500
        h.flags()
        assert post(client, operation()).status_code == 200
    assert sample(h, "support_requests_total", operation="routine", route="mcp", status="error") == 2


def test_fault_errors_under_load_keeps_health_passing(tmp_path: Path) -> None:
    h = make_harness(tmp_path, faults='{"errors_under_load": {"rate": 1.0}}')
    with run_app(h) as client:
        assert post(client, operation()).status_code == 500
        assert client.get("/health").status_code == 200


def test_fault_fallback_broken(tmp_path: Path) -> None:
    h = make_harness(tmp_path, faults='{"fallback_broken": true}')
    with run_app(h) as client:
        h.flags(bedrock_support_mode=True, direct_bedrock_fallback=True)
        assert post(client, operation("emergency", "x")).status_code == 200
        h.bedrock.error = client_error("ThrottlingException", 429)
        response = post(client, operation("emergency", "x"))
    assert response.status_code == 500
    assert "fallback_broken" in response.json()["detail"]
    assert h.tools.received == []
    assert operations_audited(h)[-1]["status"] == 500


def test_fault_unhealthy_component(tmp_path: Path) -> None:
    h = make_harness(tmp_path, faults='{"unhealthy_component": "MCPRouter"}', auto_activate=False)
    with run_app(h) as client:
        for name in h.service.registry.order:
            assert client.post(f"/admin/components/{name}/activate", headers=ADMIN).status_code == 200
        component = client.get("/health/components/MCPRouter")
        assert component.status_code == 503
        assert component.json()["detail"] == "drill fault: unhealthy_component"
        assert client.get("/health").status_code == 503
        assert client.get("/health/components/IntelligentRouter").status_code == 200


def _tool_calls(h: Harness) -> list[dict]:
    return [r["data"] for r in h.audit() if r["action"] == "mcp.tool_call"]


def test_every_outbound_tool_call_is_audited_as_sent(harness: Harness, client: TestClient) -> None:
    import hashlib  # noqa: PLC0415

    body = post(client, operation("routine", "reset for jane.doe@example.com please")).json()
    (call,) = _tool_calls(harness)
    assert call["operation_id"] == body["operation_id"]
    assert call["tool"] == "search_knowledge"
    assert call["arguments"] == {"query": "reset for [REDACTED_EMAIL] please"}
    assert harness.tools.received == [("search_knowledge", call["arguments"])]  # what the tier got
    canonical = json.dumps(call["arguments"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert call["arguments_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert call["outcome"] == "ok"
    assert call["latency_ms"] >= 0
    assert "jane.doe" not in harness.audit_path.read_text()


def test_a_failed_tool_call_is_audited_with_its_outcome(harness: Harness, client: TestClient) -> None:
    harness.tools.fail_with = "knowledge base offline"
    assert post(client, operation("routine", "how do I deploy?")).status_code == 502
    (call,) = _tool_calls(harness)
    assert (call["tool"], call["outcome"]) == ("search_knowledge", "tool_error")
    assert "knowledge base offline" in call["error"]


def test_direct_and_cached_answers_make_no_tool_call_record(harness: Harness, client: TestClient) -> None:
    harness.flags(bedrock_support_mode=True)
    assert post(client, operation("emergency", "prod down")).json()["route"] == "direct"
    assert _tool_calls(harness) == []
