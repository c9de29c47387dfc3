"""Run the MCP support server: python -m sandbox.mcp_support_server --port 18170."""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from .._loopback import LOOPBACK, require_loopback
from .server import build_app

__all__ = ["MCP_KEEP_ALIVE_S", "main"]

#: Idle keep-alive of the server's connections. Its clients (the slots' MCP client, httpx2) drop idle
#: connections after 5 s; at uvicorn's default of 5 s the server could close a connection the client
#: was reusing at that moment, which broke the slot's MCP session and failed its calls in flight.
MCP_KEEP_ALIVE_S = 75


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, read the admin token from the environment and serve."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.mcp_support_server", description=__doc__)
    parser.add_argument("--host", default=LOOPBACK, type=require_loopback)
    parser.add_argument("--port", type=int, default=18170)
    args = parser.parse_args(argv)
    token = os.environ.get("EMULATOR_ADMIN_TOKEN", "")
    if not token:
        print("EMULATOR_ADMIN_TOKEN is required (it protects /_admin/*)", file=sys.stderr)
        return 2
    # A short graceful shutdown: open streamable-HTTP sessions must not stall supervisord's stop.
    uvicorn.run(
        build_app(token),
        host=args.host,
        port=args.port,
        log_level="warning",
        timeout_graceful_shutdown=2,
        timeout_keep_alive=MCP_KEEP_ALIVE_S,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
