"""MCP support server (mcp SDK MCPServer, streamable HTTP) with fault injection."""

from .diagnosis import GAP_CATEGORIES, GapDiagnosis, diagnose
from .server import MCP_PATH, build_app, build_server

__all__ = ["GAP_CATEGORIES", "MCP_PATH", "GapDiagnosis", "build_app", "build_server", "diagnose"]
