"""A Caddy restarted by supervisord keeps the traffic weights the pipeline set (sandbox fix, --resume)."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_env import PORT_VARS, free_ports

from sandbox import control
from sandbox.caddy_config import WEIGHTS_PATH
from sandbox.settings import SandboxSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxSettings]:
    """A private sandbox on fresh ports; always stopped."""
    fields = [name.removeprefix("sandbox_") for name in PORT_VARS]
    settings = SandboxSettings(
        runtime_dir=tmp_path / "rt",
        releases_dir=tmp_path / "releases",
        start_timeout_s=120,
        **dict(zip(fields, free_ports(len(fields)), strict=True)),
    )
    try:
        control.up(settings)
        yield settings
    finally:
        control.down(settings)


def _weights(settings: SandboxSettings, body: list[int] | None = None) -> list[int]:
    url = f"http://127.0.0.1:{settings.caddy_admin_port}{WEIGHTS_PATH}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="PATCH" if body else "GET", headers={"Content-Type": "application/json"}
    )
    with _OPENER.open(request, timeout=5) as response:
        text = response.read().decode()
    return json.loads(text) if text.strip() else []


def test_restarted_caddy_resumes_the_weights_set_last(sandbox: SandboxSettings) -> None:
    _weights(sandbox, [1, 3])
    status = control.status(sandbox)
    caddy = next(part for part in status.parts if part.name == "caddy")
    os.kill(caddy.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = next(part for part in control.status(sandbox).parts if part.name == "caddy")
        if now.pid not in (0, caddy.pid) and now.answering:
            break
        time.sleep(0.5)
    assert _weights(sandbox) == [1, 3]


def test_cold_start_begins_from_the_boot_weights(sandbox: SandboxSettings) -> None:
    _weights(sandbox, [0, 1])
    control.down(sandbox)
    control.up(sandbox)
    assert _weights(sandbox) == [100, 0]
