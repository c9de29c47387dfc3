"""A small synchronous wrapper of the real MCP SDK client (streamable HTTP) for the checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import anyio

__all__ = ["McpCallResult", "McpClient"]


@dataclass(frozen=True)
class McpCallResult:
    """One tool call: the tools listed, the structured result, whether it errored, how long it took."""

    tools: tuple[str, ...]
    tool: str
    is_error: bool
    structured: dict[str, Any] | None
    text: str
    elapsed_ms: float

    def to_dict(self) -> dict[str, Any]:
        """Return the exchange for evidence attachments."""
        return {
            "tools": list(self.tools),
            "tool": self.tool,
            "is_error": self.is_error,
            "structured": self.structured,
            "text": self.text[:500],
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


@dataclass(frozen=True)
class McpClient:
    """Lists tools and calls one over a fresh streamable-HTTP session per call."""

    url: str
    timeout_s: float = 15.0

    def list_and_call(self, tool: str, arguments: dict[str, Any]) -> McpCallResult:
        """List the tools, then call one; the elapsed time covers the call round trip only."""
        return anyio.run(self._list_and_call, tool, arguments)

    async def _list_and_call(self, tool: str, arguments: dict[str, Any]) -> McpCallResult:
        from mcp import Client  # noqa: PLC0415 - the SDK is heavy; only health checks need it

        with anyio.fail_after(self.timeout_s):
            async with Client(self.url) as client:
                listed = await client.list_tools()
                names = tuple(t.name for t in listed.tools)
                started = time.perf_counter()
                result = await client.call_tool(tool, arguments)
                elapsed = (time.perf_counter() - started) * 1000
        text = " ".join(getattr(part, "text", "") for part in (result.content or []))
        structured = result.structured_content if isinstance(result.structured_content, dict) else None
        return McpCallResult(names, tool, bool(result.is_error), structured, text, elapsed)
