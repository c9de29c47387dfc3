"""MCPRouter: the MCP client of the support tools (mcp SDK 2.x, streamable HTTP).

One connection is kept open and shared by concurrent calls; it is owned by a background task because
the SDK's transport runs in an anyio task group that must be entered and left by the same task (a
request task that opened it would be cancelled when the transport fails). A failed connection ends that
task; the next call reconnects. Connect and call are each bounded by a timeout.

Tool choice: a query naming a ticket id (``SUP-1234``) -> ``lookup_ticket``; a generation operation ->
``diagnose_implementation_gap``; anything else -> ``search_knowledge``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
from mcp.client import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED

from support_service.compliance import ComplianceValidator
from support_service.components import ProbeResult

__all__ = ["MCPRouter", "McpCallError", "McpReply", "ToolCall", "choose_tool"]

_log = logging.getLogger(__name__)
_TICKET_ID = re.compile(r"\bSUP-\d{4,6}\b")  # the support tier's ticket ids
SUPPORT_TOOLS = ("search_knowledge", "diagnose_implementation_gap", "lookup_ticket")


@dataclass(frozen=True)
class ToolCall:
    """Which support tool to call and with what arguments."""

    name: str
    arguments: dict[str, str]


def choose_tool(operation: str, redacted_query: str) -> ToolCall:
    """The support tool for one operation (see the module docstring)."""
    ticket = _TICKET_ID.search(redacted_query)
    if ticket:
        return ToolCall("lookup_ticket", {"ticket_id": ticket.group(0)})
    if operation == "generation":
        return ToolCall("diagnose_implementation_gap", {"description": redacted_query})
    return ToolCall("search_knowledge", {"query": redacted_query})


@dataclass(frozen=True)
class McpReply:
    """The answer of one tool call, and the call as it was sent (redacted arguments)."""

    answer: str
    tool: str
    latency_ms: float
    arguments: dict[str, str] = field(default_factory=dict)


class McpCallError(Exception):
    """A tool call failed (``kind``: unavailable, timeout, tool_error); ``call`` is what was attempted."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.call: ToolCall | None = None
        super().__init__(f"mcp {kind}: {message}")

    @property
    def is_outage(self) -> bool:
        """Whether the failure says the MCP tier is unavailable (a tool's own error does not)."""
        return self.kind in {"unavailable", "timeout"}


class _Session(Protocol):
    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> Any: ...


ClientFactory = Callable[[], AbstractAsyncContextManager[_Session]]


def _render(structured: dict[str, Any]) -> str | None:
    """A readable answer from the support tools' structured results (None: shape not known)."""
    for key in ("answer", "result"):
        if isinstance(structured.get(key), str):
            return structured[key]
    if isinstance(structured.get("hits"), list):
        hits = [h for h in structured["hits"] if isinstance(h, dict)]
        if not hits:
            return "No knowledge-base article matches this question."
        return "\n".join(f"{h.get('title', '')}: {h.get('summary', '')}" for h in hits)
    if "suggested_fix" in structured:
        category, confidence = structured.get("category"), structured.get("confidence")
        return f"Likely gap: {category} (confidence {confidence}). {structured['suggested_fix']}"
    if {"id", "status", "title"} <= structured.keys():
        head = f"{structured['id']} [{structured['status']}] {structured['title']}"
        return f"{head}: {structured.get('summary', '')}"
    return None


def _answer_text(result: Any) -> str:
    structured = getattr(result, "structured_content", None)
    if isinstance(structured, dict) and (rendered := _render(structured)) is not None:
        return rendered
    texts = [getattr(block, "text", None) for block in getattr(result, "content", [])]
    return "\n".join(text for text in texts if isinstance(text, str))


class _Connection:
    """One open MCP client, kept alive by its owner task until closed or broken."""

    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory
        self._ready: asyncio.Future[_Session] = asyncio.get_running_loop().create_future()
        # A caller that timed out no longer awaits the future; retrieve its exception so none goes unread.
        self._ready.add_done_callback(lambda f: None if f.cancelled() else f.exception())
        self._close = asyncio.Event()
        self.broken = False
        self.loop = asyncio.get_running_loop()
        self.task = asyncio.create_task(self._own(), name="mcp-connection")

    async def _own(self) -> None:
        try:
            async with self._factory() as session:
                self._ready.set_result(session)
                await self._close.wait()
        except asyncio.CancelledError:
            self.broken = True
            self._ready.cancel()
            raise
        except Exception as exc:  # the transport's task group reports failures as exception groups
            self.broken = True
            if not self._ready.done():
                self._ready.set_exception(ConnectionError(_describe(exc)))
            else:
                _log.warning("MCP connection lost: %s", _describe(exc))

    async def session(self, timeout_s: float) -> _Session:
        try:
            with anyio.fail_after(timeout_s):
                return await asyncio.shield(self._ready)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._ready.cancelled() and task is not None and not task.cancelling():
                # The owner was cancelled (shutdown), not this caller: report a failed connection.
                raise ConnectionError("MCP connection closed while connecting") from None
            raise

    async def close(self) -> None:
        self._close.set()
        # wait() neither raises the task's outcome nor cancels it: closing must not fail the caller.
        await asyncio.wait({self.task}, timeout=5)


#: A call whose connection broke under it is made once more, on a new connection.
_ATTEMPTS = 2


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


class MCPRouter:
    """Calls the MCP support tools over one reused connection, reconnecting after failures."""

    def __init__(
        self,
        *,
        server: Any,
        compliance: ComplianceValidator,
        connect_timeout_s: float = 5.0,
        call_timeout_s: float = 10.0,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self._compliance = compliance
        self.connect_timeout_s = connect_timeout_s
        self.call_timeout_s = call_timeout_s
        self._factory: ClientFactory = client_factory or (
            lambda: Client(server, read_timeout_seconds=call_timeout_s)
        )
        self._conn: _Connection | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.connects = 0
        self.retries = 0
        self.last_error: str | None = None

    async def call(self, operation: str, redacted_query: str) -> McpReply:
        """Answer one operation with the matching support tool; the query must already be redacted."""
        tool = choose_tool(operation, redacted_query)
        for value in tool.arguments.values():
            self._compliance.guard_outgoing(value, boundary="mcp")
        try:
            return await self._call(tool)
        except McpCallError as exc:
            exc.call = tool
            raise

    async def _call(self, tool: ToolCall) -> McpReply:
        started = time.perf_counter()
        # A connection that breaks under a call (the server closed it, a reset) is replaced and the call
        # made once more on the new one: the tools only read, so a second call is safe. A timeout, a
        # JSON-RPC error or a server that cannot be reached at all is not retried.
        for attempt in range(1, _ATTEMPTS + 1):
            conn, session = await self._session()
            try:
                with anyio.fail_after(self.call_timeout_s):
                    result = await session.call_tool(tool.name, tool.arguments)
                break
            except TimeoutError as exc:
                raise McpCallError("timeout", f"{tool.name} took longer than {self.call_timeout_s}s") from exc
            except MCPError as exc:
                if exc.code != CONNECTION_CLOSED:
                    # The server answered with a JSON-RPC error: the connection itself is fine.
                    raise McpCallError("protocol_error", f"{tool.name}: {exc}") from exc
                lost: Exception = exc
                reason = str(exc)
            except Exception as exc:
                lost = exc
                reason = f"{type(exc).__name__}: {exc}"
            await self._drop(conn, reason)
            if attempt == _ATTEMPTS:
                raise McpCallError("unavailable", f"{tool.name}: {reason}") from lost
            self.retries += 1
            _log.warning(
                "MCP connection broke under %s (%s); calling again on a new connection", tool.name, reason
            )
        answer = _answer_text(result)
        if getattr(result, "is_error", False):
            raise McpCallError("tool_error", answer or f"{tool.name} reported an error")
        self.last_error = None
        latency_ms = (time.perf_counter() - started) * 1000
        return McpReply(answer=answer, tool=tool.name, latency_ms=latency_ms, arguments=dict(tool.arguments))

    async def probe(self) -> ProbeResult:
        """Healthy when a connection to the MCP server is open or can be opened now."""
        try:
            await self._session()
        except McpCallError as exc:
            return ProbeResult(False, str(exc))
        return ProbeResult(True, f"connected ({self.connects} connection(s) opened)")

    async def aclose(self) -> None:
        """Close the shared connection."""
        conn, self._conn = self._conn, None
        if conn is not None and conn.loop is asyncio.get_running_loop():
            await conn.close()

    async def _session(self) -> tuple[_Connection, _Session]:
        if self._lock is None or self._lock_loop is not asyncio.get_running_loop():
            # Locks bind to a loop; a test client may run the app on a new loop.
            self._lock = asyncio.Lock()
            self._lock_loop = asyncio.get_running_loop()
        async with self._lock:
            conn = self._conn
            if conn is None or conn.broken or conn.task.done() or conn.loop is not asyncio.get_running_loop():
                conn = self._conn = _Connection(self._factory)
                self.connects += 1
        try:
            return conn, await conn.session(self.connect_timeout_s)
        except TimeoutError as exc:
            await self._drop(conn, "connect timeout")
            raise McpCallError("unavailable", f"no connection within {self.connect_timeout_s}s") from exc
        except ConnectionError as exc:
            self.last_error = str(exc)
            raise McpCallError("unavailable", str(exc)) from exc

    async def _drop(self, conn: _Connection, reason: str) -> None:
        # Only the connection that failed is dropped; a concurrent caller may already have a new one.
        self.last_error = reason
        conn.broken = True
        if self._conn is conn:
            self._conn = None
        await conn.close()
