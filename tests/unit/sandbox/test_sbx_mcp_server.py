"""The MCP support server through a real mcp client over streamable HTTP, with fault injection."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from mcp import Client
from sbx_helpers import Served


def _call(served: Served, tool: str, arguments: dict[str, Any]) -> Any:
    async def run() -> Any:
        async with Client(f"{served.url}/mcp") as client:
            return await client.call_tool(tool, arguments)

    return anyio.run(run)


def _tools(served: Served) -> list[str]:
    async def run() -> list[str]:
        async with Client(f"{served.url}/mcp") as client:
            return [tool.name for tool in (await client.list_tools()).tools]

    return anyio.run(run)


def test_the_three_support_tools_are_listed(mcp_server: Served) -> None:
    assert sorted(_tools(mcp_server)) == ["diagnose_implementation_gap", "lookup_ticket", "search_knowledge"]


def test_search_knowledge_round_trip(mcp_server: Served) -> None:
    result = _call(mcp_server, "search_knowledge", {"query": "ThrottlingException quota"})
    assert result.is_error is False
    assert result.structured_content["hits"][0]["id"] == "KB-001"


def test_diagnose_round_trip_is_structured(mcp_server: Served) -> None:
    result = _call(mcp_server, "diagnose_implementation_gap", {"description": "calls time out after 60 s"})
    assert result.is_error is False
    diagnosis = result.structured_content
    assert diagnosis["category"] == "timeout_handling"
    assert 0 < diagnosis["confidence"] <= 1
    assert diagnosis["suggested_fix"]


def test_lookup_ticket_round_trip(mcp_server: Served) -> None:
    result = _call(mcp_server, "lookup_ticket", {"ticket_id": "SUP-1003"})
    assert result.is_error is False
    assert result.structured_content["status"] == "resolved"


@pytest.mark.parametrize(
    ("ticket_id", "message"), [("SUP-9999", "not found"), ("DROP TABLE", "invalid ticket id")]
)
def test_lookup_ticket_errors_reach_the_client(mcp_server: Served, ticket_id: str, message: str) -> None:
    result = _call(mcp_server, "lookup_ticket", {"ticket_id": ticket_id})
    assert result.is_error is True
    assert message in result.content[0].text


def test_empty_query_is_a_client_visible_error(mcp_server: Served) -> None:
    result = _call(mcp_server, "search_knowledge", {"query": "  "})
    assert result.is_error is True
    assert "must not be empty" in result.content[0].text


def test_down_refuses_every_mcp_request(mcp_server: Served) -> None:
    mcp_server.admin.put(f"{mcp_server.url}/_admin/faults", json={"down": True}).raise_for_status()
    with pytest.raises(BaseException) as raised:  # noqa: PT011 - the client raises an ExceptionGroup
        _call(mcp_server, "search_knowledge", {"query": "x"})
    assert not isinstance(raised.value, KeyboardInterrupt)
    assert mcp_server.admin.get(f"{mcp_server.url}/_admin/counters").json()["refused_while_down"] >= 1
    mcp_server.admin.delete(f"{mcp_server.url}/_admin/faults").raise_for_status()
    assert _call(mcp_server, "search_knowledge", {"query": "cache"}).is_error is False


def test_error_rate_one_fails_every_call_of_the_chosen_tool(mcp_server: Served) -> None:
    faults = {"error_rate": 1.0, "tools": ["lookup_ticket"]}
    mcp_server.admin.put(f"{mcp_server.url}/_admin/faults", json=faults).raise_for_status()
    failed = _call(mcp_server, "lookup_ticket", {"ticket_id": "SUP-1001"})
    assert failed.is_error is True
    assert "injected fault" in failed.content[0].text
    assert _call(mcp_server, "search_knowledge", {"query": "cache"}).is_error is False


def test_latency_is_observed_by_the_client(mcp_server: Served) -> None:
    mcp_server.admin.put(f"{mcp_server.url}/_admin/faults", json={"latency_ms": 400}).raise_for_status()
    started = time.perf_counter()
    _call(mcp_server, "search_knowledge", {"query": "cache"})
    assert time.perf_counter() - started >= 0.4


def test_received_calls_are_logged_with_arguments(mcp_server: Served) -> None:
    _call(mcp_server, "search_knowledge", {"query": "customer [REDACTED_EMAIL] cache"})
    log = mcp_server.admin.get(f"{mcp_server.url}/_admin/requests").json()
    (entry,) = log["requests"]
    assert entry["tool"] == "search_knowledge"
    assert entry["arguments"] == {"query": "customer [REDACTED_EMAIL] cache"}
    assert entry["outcome"] == "ok"
    cleared = mcp_server.admin.delete(f"{mcp_server.url}/_admin/requests").json()
    assert cleared["requests"] == []


def test_admin_routes_need_the_token_and_valid_faults(mcp_server: Served) -> None:
    no_token = {"Authorization": ""}
    assert mcp_server.admin.get(f"{mcp_server.url}/_admin/faults", headers=no_token).status_code == 401
    assert mcp_server.admin.get(f"{mcp_server.url}/_admin/requests", headers=no_token).status_code == 401
    assert mcp_server.admin.get(f"{mcp_server.url}/_admin/health", headers=no_token).status_code == 200
    bad = mcp_server.admin.put(f"{mcp_server.url}/_admin/faults", json={"error_rate": 2})
    assert bad.status_code == 400
    assert mcp_server.state.faults.error_rate == 0.0
