"""MCPRouter: tool choice, the real SDK client in-process and over streamable HTTP, reuse, reconnect,
timeouts, and the PII guard at the MCP boundary."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace

import pytest
import uvicorn
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel
from svc_fakes import make_support_tools

from support_service.compliance import ComplianceValidator, PiiBlockedError
from support_service.mcp_router import McpCallError, MCPRouter, ToolCall, choose_tool
from support_service.settings import DEFAULT_ALLOWED_REGIONS


def validator() -> ComplianceValidator:
    return ComplianceValidator(
        bedrock_region="eu-central-1",
        allowed_bedrock_regions=DEFAULT_ALLOWED_REGIONS,
        permitted_customer_regions=DEFAULT_ALLOWED_REGIONS,
    )


@pytest.mark.parametrize(
    ("operation", "query", "expected"),
    [
        ("routine", "how to rotate keys", ToolCall("search_knowledge", {"query": "how to rotate keys"})),
        ("emergency", "prod is down", ToolCall("search_knowledge", {"query": "prod is down"})),
        (
            "generation",
            "we never retry",
            ToolCall("diagnose_implementation_gap", {"description": "we never retry"}),
        ),
        ("critical", "status of SUP-12345 please", ToolCall("lookup_ticket", {"ticket_id": "SUP-12345"})),
        ("generation", "see SUP-1234", ToolCall("lookup_ticket", {"ticket_id": "SUP-1234"})),
        ("routine", "ISO-27001 audit", ToolCall("search_knowledge", {"query": "ISO-27001 audit"})),
    ],
)
def test_tool_choice(operation: str, query: str, expected: ToolCall) -> None:
    assert choose_tool(operation, query) == expected


def test_in_process_calls_reuse_one_connection() -> None:
    tools = make_support_tools()
    router = MCPRouter(server=tools.server, compliance=validator())

    async def run() -> list[str]:
        answers = [
            (await router.call("routine", "rotate keys")).answer,
            (await router.call("generation", "no retries")).answer,
            (await router.call("critical", "SUP-1234 status")).answer,
        ]
        answers += [
            r.answer for r in await asyncio.gather(*[router.call("routine", f"q{i}") for i in range(5)])
        ]
        await router.aclose()
        return answers

    answers = asyncio.run(run())
    assert answers[:3] == ["kb answer to: rotate keys", "diagnosis of: no retries", "ticket SUP-1234: open"]
    assert sorted(answers[3:]) == [f"kb answer to: q{i}" for i in range(5)]
    assert router.connects == 1
    assert tools.received[:3] == [
        ("search_knowledge", {"query": "rotate keys"}),
        ("diagnose_implementation_gap", {"description": "no retries"}),
        ("lookup_ticket", {"ticket_id": "SUP-1234"}),
    ]


def test_pii_never_reaches_the_server() -> None:
    tools = make_support_tools()
    router = MCPRouter(server=tools.server, compliance=validator())
    with pytest.raises(PiiBlockedError):
        asyncio.run(router.call("routine", "reach me at jane@example.com"))
    assert tools.received == []


def test_tool_errors_are_not_outages() -> None:
    tools = make_support_tools()
    tools.fail_with = "ticket not found"
    router = MCPRouter(server=tools.server, compliance=validator())

    async def run() -> McpCallError:
        with pytest.raises(McpCallError) as info:
            await router.call("routine", "x")
        await router.aclose()
        return info.value

    error = asyncio.run(run())
    assert error.kind == "tool_error"
    assert not error.is_outage
    assert "ticket not found" in str(error)


class Hit(BaseModel):
    title: str
    summary: str


class Hits(BaseModel):
    query: str
    hits: list[Hit]


class Gap(BaseModel):
    category: str
    confidence: float
    suggested_fix: str


def test_structured_results_become_readable_answers() -> None:
    server = MCPServer(name="structured", log_level="WARNING")

    @server.tool()
    def search_knowledge(query: str) -> Hits:
        """Search."""
        return Hits(query=query, hits=[Hit(title="Keys", summary="Rotate in KMS.")])

    @server.tool()
    def diagnose_implementation_gap(description: str) -> Gap:
        """Diagnose."""
        return Gap(category="retry", confidence=0.8, suggested_fix="Add bounded retries.")

    router = MCPRouter(server=server, compliance=validator())

    async def run() -> tuple[str, str]:
        first = (await router.call("routine", "keys")).answer
        second = (await router.call("generation", "retries")).answer
        await router.aclose()
        return first, second

    assert asyncio.run(run()) == (
        "Keys: Rotate in KMS.",
        "Likely gap: retry (confidence 0.8). Add bounded retries.",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpMcp:
    """The support tools served over streamable HTTP by uvicorn on 127.0.0.1, restartable on one port."""

    def __init__(self) -> None:
        self.server = MCPServer(name="http-support", log_level="WARNING")

        @self.server.tool()
        async def search_knowledge(query: str) -> str:
            """Search; the query "slow" takes two seconds."""
            if query == "slow":
                await asyncio.sleep(2)
            return f"kb answer to: {query}"

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            self.server.streamable_http_app(), host="127.0.0.1", port=self.port, log_level="error"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "MCP test server did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None


@pytest.fixture
def http_mcp() -> Iterator[HttpMcp]:
    server = HttpMcp()
    server.start()
    yield server
    server.stop()


def test_streamable_http_reconnects_after_the_server_comes_back(http_mcp: HttpMcp) -> None:
    router = MCPRouter(server=http_mcp.url, compliance=validator(), connect_timeout_s=2, call_timeout_s=2)

    async def run() -> None:
        assert (await router.call("routine", "one")).answer == "kb answer to: one"
        assert (await router.call("routine", "two")).answer == "kb answer to: two"
        assert router.connects == 1
        await asyncio.to_thread(http_mcp.stop)
        with pytest.raises(McpCallError) as info:
            await router.call("routine", "three")
        assert info.value.is_outage
        assert not (await router.probe()).healthy
        await asyncio.to_thread(http_mcp.start)
        assert (await router.call("routine", "four")).answer == "kb answer to: four"
        assert (await router.probe()).healthy
        await router.aclose()

    asyncio.run(run())
    assert router.connects >= 2


def test_call_timeout_is_bounded_and_the_connection_survives(http_mcp: HttpMcp) -> None:
    router = MCPRouter(server=http_mcp.url, compliance=validator(), call_timeout_s=0.3)

    async def run() -> None:
        assert (await router.call("routine", "before")).answer == "kb answer to: before"
        started = time.monotonic()
        with pytest.raises(McpCallError) as info:
            await router.call("routine", "slow")
        assert info.value.kind == "timeout"
        assert time.monotonic() - started < 1.5
        assert (await router.call("routine", "after")).answer == "kb answer to: after"
        assert router.connects == 1
        await router.aclose()

    asyncio.run(run())


def test_no_server_fails_within_the_connect_timeout() -> None:
    router = MCPRouter(
        server=f"http://127.0.0.1:{_free_port()}/mcp", compliance=validator(), connect_timeout_s=1
    )

    async def run() -> float:
        started = time.monotonic()
        with pytest.raises(McpCallError) as info:
            await router.call("routine", "x")
        assert info.value.kind == "unavailable"
        probe = await router.probe()
        assert not probe.healthy
        return time.monotonic() - started

    assert asyncio.run(run()) < 3


class _BreakingSessions:
    """Client factory whose first ``breaks`` sessions lose their connection under a call."""

    def __init__(self, breaks: int) -> None:
        self.breaks = breaks
        self.opened = 0
        self.calls: list[int] = []

    def __call__(self) -> contextlib.AbstractAsyncContextManager[object]:
        self.opened += 1
        return self._session(self.opened)

    @contextlib.asynccontextmanager
    async def _session(self, number: int) -> AsyncIterator[object]:
        factory = self

        class Session:
            async def call_tool(self, name: str, arguments: dict[str, object] | None = None) -> object:
                factory.calls.append(number)
                if number <= factory.breaks:
                    raise ConnectionResetError("the server closed the connection")
                return SimpleNamespace(content=[SimpleNamespace(text=f"answer {number}")], is_error=False)

        yield Session()


def test_a_call_whose_connection_breaks_is_made_once_more_on_a_new_connection() -> None:
    sessions = _BreakingSessions(breaks=1)
    router = MCPRouter(server="unused", compliance=validator(), client_factory=sessions)

    async def run() -> str:
        answer = (await router.call("routine", "q")).answer
        await router.aclose()
        return answer

    assert asyncio.run(run()) == "answer 2"
    assert sessions.calls == [1, 2]
    assert (router.connects, router.retries) == (2, 1)


def test_a_second_broken_connection_is_an_outage_not_a_loop() -> None:
    sessions = _BreakingSessions(breaks=5)
    router = MCPRouter(server="unused", compliance=validator(), client_factory=sessions)

    async def run() -> McpCallError:
        with pytest.raises(McpCallError) as info:
            await router.call("routine", "q")
        await router.aclose()
        return info.value

    error = asyncio.run(run())
    assert error.kind == "unavailable"
    assert "ConnectionResetError" in str(error)
    assert sessions.calls == [1, 2]
