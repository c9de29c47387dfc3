"""Shared constants and types of the sandbox unit tests (a unique module name, importable from tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

ADMIN_TOKEN = "test-admin-token-0123456789"
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"


@dataclass(frozen=True)
class Served:
    """A running ASGI app: its base URL, an admin HTTP session bound to it, and its state."""

    url: str
    admin: requests.Session
    state: Any
