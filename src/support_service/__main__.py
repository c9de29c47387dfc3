"""``python -m support_service``: run one slot with uvicorn, configured by SUPPORT_* variables."""

from __future__ import annotations

import logging
import sys

import uvicorn
from pydantic import ValidationError

from support_service.app import create_app
from support_service.settings import Settings

#: Idle keep-alive of a slot; the proxy in front must drop idle connections sooner (Caddy: 30 s).
SLOT_KEEP_ALIVE_S = 75


def main() -> int:
    """Start the service; exit 2 with the problems when the configuration is invalid."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every MCP request at INFO; that is noise at load.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    try:
        settings = Settings()  # type: ignore[call-arg]  # the environment supplies the required values
    except ValidationError as exc:
        print(f"support_service: invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level="info",
        timeout_keep_alive=SLOT_KEEP_ALIVE_S,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
