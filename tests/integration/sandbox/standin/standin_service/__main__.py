"""Serve /version and / on SUPPORT_HOST:SUPPORT_PORT with X-Slot and X-Release headers."""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        slot, release = os.environ["SUPPORT_SLOT"], os.environ["SUPPORT_RELEASE"]
        payload = {"release": release, "slot": slot, "components": {}, "path": self.path}
        if self.path == "/env":
            # Which contract variables (not values of secrets) the slot received.
            payload["env"] = {k: ("<set>" if k.endswith("TOKEN") else v) for k, v in os.environ.items()}
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Slot", slot)
        self.send_header("X-Release", release)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer((os.environ["SUPPORT_HOST"], int(os.environ["SUPPORT_PORT"])), _Handler)
    server.serve_forever()
