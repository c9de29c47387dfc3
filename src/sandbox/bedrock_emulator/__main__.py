"""Run the Bedrock Runtime emulator: python -m sandbox.bedrock_emulator --port 18160."""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from .._loopback import LOOPBACK, require_loopback
from .app import EmulatorConfig, create_app
from .invocation_log import DEFAULT_LOG_STREAM, LogDestination

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, read the admin token from the environment and serve."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.bedrock_emulator", description=__doc__)
    parser.add_argument("--host", default=LOOPBACK, type=require_loopback)
    parser.add_argument("--port", type=int, default=18160)
    parser.add_argument("--access-key", default=os.environ.get("SANDBOX_AWS_ACCESS_KEY_ID", ""))
    parser.add_argument(
        "--invocation-log-group",
        default="",
        help="CloudWatch Logs group of the model invocation logs (AWS endpoint and credentials from the "
        "environment); empty: no invocation logging",
    )
    parser.add_argument("--invocation-log-stream", default=DEFAULT_LOG_STREAM)
    args = parser.parse_args(argv)
    token = os.environ.get("EMULATOR_ADMIN_TOKEN", "")
    if not token or not args.access_key:
        print(
            "EMULATOR_ADMIN_TOKEN and --access-key (or SANDBOX_AWS_ACCESS_KEY_ID) are required",
            file=sys.stderr,
        )
        return 2
    logging_to = (
        LogDestination(args.invocation_log_group, args.invocation_log_stream)
        if args.invocation_log_group
        else None
    )
    app = create_app(EmulatorConfig(access_key=args.access_key, admin_token=token, invocation_log=logging_to))
    # A short graceful shutdown: a request held by a hang fault must not stall supervisord's stop.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
