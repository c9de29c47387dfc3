"""The Bedrock client's failure switch: bounded, audited, shown in /health, fails calls without sending."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from svc_fakes import ADMIN, Harness, ManualClock, make_harness, operation

from support_service.app import create_app
from support_service.bedrock_failure import BedrockFailureSwitch


def test_a_count_fails_exactly_that_many_calls_then_the_switch_is_off() -> None:
    switch = BedrockFailureSwitch()
    switch.arm("throttled", count=2)
    assert [switch.fire(), switch.fire(), switch.fire()] == ["throttled", "throttled", None]
    assert switch.state() is None


def test_a_duration_ends_on_its_own() -> None:
    clock = ManualClock()
    switch = BedrockFailureSwitch(clock=clock, wall=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    state = switch.arm("unavailable", duration_s=30)
    assert state.as_dict()["until"] == "2026-01-01T00:00:30Z"
    clock.advance(29.9)
    assert switch.fire() == "unavailable"
    clock.advance(0.1)
    assert switch.fire() is None
    assert switch.state() is None


@pytest.mark.parametrize(
    ("mode", "bounds", "named"),
    [
        ("broken", {"count": 1}, "mode 'broken'"),
        ("unavailable", {}, "count and/or duration_s"),
        ("unavailable", {"count": 0}, "count 0"),
        ("unavailable", {"duration_s": 3601}, "duration_s 3601"),
        ("unavailable", {"duration_s": 0}, "duration_s 0"),
        ("unavailable", {"duration_s": 5e-324}, "duration_s 5e-324"),
    ],
)
def test_bad_arming_names_the_input_and_leaves_the_switch_off(mode: str, bounds: dict, named: str) -> None:
    switch = BedrockFailureSwitch()
    with pytest.raises(ValueError, match=named):
        switch.arm(mode, **bounds)
    assert switch.state() is None


def _all_on(h: Harness) -> None:
    h.flags(bedrock_support_mode=True, direct_bedrock_fallback=True, hybrid_health_monitoring=True)


def test_armed_through_the_admin_api_direct_calls_fall_back_and_nothing_reaches_bedrock(
    tmp_path: Path,
) -> None:
    h = make_harness(tmp_path)
    with TestClient(create_app(service=h.service)) as client:
        _all_on(h)
        armed = client.post("/admin/bedrock/failure", json={"mode": "unavailable", "count": 1}, headers=ADMIN)
        assert armed.status_code == 200, armed.text
        assert client.get("/health").json()["bedrock_failure"]["mode"] == "unavailable"
        body = client.post("/v1/support/operations", json=operation("emergency", "prod down")).json()
        assert (body["route"], body["reason"], body["fallback"]) == (
            "mcp",
            "fallback_from_direct",
            {"from": "direct", "error": "unavailable"},
        )
        assert h.bedrock.calls == []
        assert client.get("/health").json()["bedrock_failure"] is None  # its one call is used up
        after = client.post("/v1/support/operations", json=operation("emergency", "prod down again")).json()
        assert after["route"] == "direct"
    actions = [(r["action"], r["data"]) for r in h.audit() if r["action"].startswith("admin.bedrock_failure")]
    assert [a for a, _ in actions] == ["admin.bedrock_failure.arm"]
    assert actions[0][1]["mode"] == "unavailable"
    assert actions[0][1]["calls_left"] == 1


def test_delete_clears_and_is_audited_with_what_was_armed(harness: Harness, client: TestClient) -> None:
    client.post("/admin/bedrock/failure", json={"mode": "timeout", "duration_s": 60}, headers=ADMIN)
    cleared = client.delete("/admin/bedrock/failure", headers=ADMIN).json()
    assert cleared["bedrock_failure"] is None
    assert cleared["previous"]["mode"] == "timeout"
    assert client.get("/health").json()["bedrock_failure"] is None
    assert client.delete("/admin/bedrock/failure", headers=ADMIN).json()["previous"] is None
    cleared_records = [r["data"] for r in harness.audit() if r["action"] == "admin.bedrock_failure.clear"]
    assert [c["previous"]["mode"] if c["previous"] else None for c in cleared_records] == ["timeout", None]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "unavailable"}, "body"),
        ({"mode": "nope", "count": 1}, "body.mode"),
        ({"mode": "unavailable", "count": 0}, "body.count"),
        ({"mode": "unavailable", "count": 1, "extra": True}, "body.extra"),
    ],
)
def test_a_bad_body_is_422_naming_the_field_and_arms_nothing(
    harness: Harness, client: TestClient, body: dict, field: str
) -> None:
    response = client.post("/admin/bedrock/failure", json=body, headers=ADMIN)
    assert response.status_code == 422
    answer = response.json()
    assert answer["error"] == "invalid_request"
    assert field in [p["field"] for p in answer["problems"]]
    assert harness.service.bedrock.failure_switch.state() is None


def test_the_switch_needs_the_admin_token(harness: Harness, client: TestClient) -> None:
    assert client.post("/admin/bedrock/failure", json={"mode": "unavailable", "count": 1}).status_code == 401
    assert client.delete("/admin/bedrock/failure").status_code == 401
    assert harness.service.bedrock.failure_switch.state() is None
