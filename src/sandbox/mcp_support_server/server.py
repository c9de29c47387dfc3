"""The MCP support server: three support tools over streamable HTTP, fault injection, request log."""

from __future__ import annotations

import json
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .._bearer import bearer_ok
from .diagnosis import GapDiagnosis, diagnose
from .faults import FaultSettings, McpRecorder
from .knowledge import SearchResult, search
from .tickets import TICKET_ID, TICKETS, Ticket

__all__ = ["MCP_PATH", "build_app", "build_server"]

MCP_PATH = "/mcp"
_MAX_TEXT = 10_000


class _DownGate:
    """ASGI wrapper that answers 503 on the MCP endpoint while the 'down' fault is set."""

    def __init__(self, app: ASGIApp, recorder: McpRecorder) -> None:
        self._app = app
        self._recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._recorder.faults.down and scope["path"].startswith(MCP_PATH):
            self._recorder.counters["refused_while_down"] += 1
            await JSONResponse({"error": "MCP support server is down (injected fault)"}, status_code=503)(
                scope, receive, send
            )
            return
        await self._app(scope, receive, send)


def build_server(recorder: McpRecorder, admin_token: str) -> MCPServer:
    """The MCPServer with the support tools and the bearer-protected /_admin routes."""
    server = MCPServer(
        "bedrock-support-tools",
        version="1.0.0",
        instructions="Support tools: knowledge search, implementation-gap diagnosis, ticket lookup.",
        log_level="WARNING",
    )

    async def gate(tool: str, arguments: dict[str, Any]) -> None:
        faults = recorder.faults
        if faults.latency_ms and faults.applies_to(tool):
            await anyio.sleep(faults.latency_ms / 1000.0)
        if recorder.should_fail(tool):
            recorder.record(tool, arguments, "injected_error")
            raise ToolError(f"{tool} is temporarily unavailable (injected fault)")

    def check_text(name: str, value: str) -> None:
        if not value.strip():
            raise ToolError(f"{name} must not be empty")
        if len(value) > _MAX_TEXT:
            raise ToolError(f"{name} is longer than {_MAX_TEXT} characters")

    @server.tool()
    async def search_knowledge(query: str) -> SearchResult:
        """Search the support knowledge base; best matches first."""
        await gate("search_knowledge", {"query": query})
        check_text("query", query)
        recorder.record("search_knowledge", {"query": query}, "ok")
        return search(query)

    @server.tool()
    async def diagnose_implementation_gap(description: str) -> GapDiagnosis:
        """Diagnose the implementation gap behind a problem description: category, confidence, fix."""
        await gate("diagnose_implementation_gap", {"description": description})
        check_text("description", description)
        recorder.record("diagnose_implementation_gap", {"description": description}, "ok")
        return diagnose(description)

    @server.tool()
    async def lookup_ticket(ticket_id: str) -> Ticket:
        """Look up a support ticket by id (SUP-<digits>)."""
        await gate("lookup_ticket", {"ticket_id": ticket_id})
        if not TICKET_ID.match(ticket_id):
            recorder.record("lookup_ticket", {"ticket_id": ticket_id}, "invalid")
            raise ToolError(f"invalid ticket id {ticket_id!r}: expected SUP-<4 to 6 digits>")
        ticket = TICKETS.get(ticket_id)
        if ticket is None:
            recorder.record("lookup_ticket", {"ticket_id": ticket_id}, "not_found")
            raise ToolError(f"ticket {ticket_id} not found")
        recorder.record("lookup_ticket", {"ticket_id": ticket_id}, "ok")
        return ticket

    _admin_routes(server, recorder, admin_token)
    return server


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"error": "admin endpoints need 'Authorization: Bearer <EMULATOR_ADMIN_TOKEN>'"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _admin_routes(server: MCPServer, recorder: McpRecorder, token: str) -> None:
    @server.custom_route("/_admin/health", methods=["GET"])
    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "down": recorder.faults.down})

    @server.custom_route("/_admin/faults", methods=["GET", "PUT", "DELETE"])
    async def faults(request: Request) -> Response:
        if not bearer_ok(request.headers.get("authorization"), token):
            return _unauthorized()
        if request.method == "PUT":
            try:
                recorder.set_faults(FaultSettings.model_validate(json.loads(await request.body() or b"{}")))
            except json.JSONDecodeError as exc:
                return JSONResponse({"error": f"body is not JSON: {exc}"}, status_code=400)
            except ValidationError as exc:
                details = json.loads(exc.json(include_url=False))
                return JSONResponse({"error": "invalid faults", "details": details}, status_code=400)
        elif request.method == "DELETE":
            recorder.set_faults(FaultSettings())
        return JSONResponse(recorder.faults.model_dump(mode="json"))

    @server.custom_route("/_admin/requests", methods=["GET", "DELETE"])
    async def requests(request: Request) -> Response:
        if not bearer_ok(request.headers.get("authorization"), token):
            return _unauthorized()
        if request.method == "DELETE":
            recorder.clear()
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            return JSONResponse({"error": "after must be an integer"}, status_code=400)
        return JSONResponse({"last_seq": recorder.last_seq, "requests": recorder.requests(after)})

    @server.custom_route("/_admin/counters", methods=["GET"])
    async def counters(request: Request) -> Response:
        if not bearer_ok(request.headers.get("authorization"), token):
            return _unauthorized()
        return JSONResponse(dict(sorted(recorder.counters.items())))


def build_app(admin_token: str, recorder: McpRecorder | None = None) -> ASGIApp:
    """The whole ASGI app: streamable HTTP at /mcp behind the 'down' gate, plus /_admin routes."""
    recorder = recorder or McpRecorder()
    server = build_server(recorder, admin_token)
    return _DownGate(server.streamable_http_app(streamable_http_path=MCP_PATH, host="127.0.0.1"), recorder)
