"""``python -m support_service`` as a real process on an ephemeral 127.0.0.1 port.

Its dependencies are deliberately absent (no MCP server, no flag store): the slot must still start,
answer health and version, report the flag store degraded and keep every flag off.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from svc_fakes import ADMIN_TOKEN, operation


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORT_", "AWS_"))}
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env |= {
        "SUPPORT_SLOT": "blue",
        "SUPPORT_RELEASE": "1.0.0",
        "SUPPORT_HOST": "127.0.0.1",
        "SUPPORT_PORT": str(free_port()),
        "SUPPORT_ADMIN_TOKEN": ADMIN_TOKEN,
        "SUPPORT_AUDIT_LOG": str(tmp_path / "audit" / "blue.jsonl"),
        "SUPPORT_CLOUDWATCH_NAMESPACE": "",
        "SUPPORT_AUTO_ACTIVATE": "true",
        "SUPPORT_MCP_URL": f"{dead}/mcp",
        "SUPPORT_MCP_CONNECT_TIMEOUT_S": "1",
        "SUPPORT_FLAGS_POLL_INTERVAL_S": "0.2",
        "AWS_ENDPOINT_URL_SSM": dead,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": dead,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    return env | extra


@pytest.fixture
def running(tmp_path: Path) -> Iterator[str]:
    env = service_env(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "support_service"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{env['SUPPORT_PORT']}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                requests.get(f"{base}/version", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "service did not start"
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def test_starts_and_serves_with_its_dependencies_down(running: str) -> None:
    version = requests.get(f"{running}/version", timeout=5)
    assert version.headers["X-Slot"] == "blue"
    assert version.json()["release"] == "1.0.0"
    deadline = time.monotonic() + 5
    flags = requests.get(f"{running}/v1/flags", timeout=5).json()
    while flags["last_error"] == "flags not read yet" and time.monotonic() < deadline:
        time.sleep(0.1)
        flags = requests.get(f"{running}/v1/flags", timeout=5).json()
    assert flags["store"] == "degraded"
    assert not any(flags["values"].values())
    health = requests.get(f"{running}/health", timeout=10)
    assert health.status_code == 503
    assert health.json()["components"]["MCPRouter"]["healthy"] is False
    answer = requests.post(f"{running}/v1/support/operations", json=operation(), timeout=10)
    assert answer.status_code == 502
    assert answer.json()["error"] == "mcp_failed"
    metrics = requests.get(f"{running}/metrics", timeout=5).text
    assert 'support_requests_total{operation="routine",route="mcp",status="error"} 1.0' in metrics


def test_invalid_configuration_exits_2_naming_the_problem(tmp_path: Path) -> None:
    env = service_env(tmp_path, SUPPORT_ALLOWED_BEDROCK_REGIONS="us-east-1")
    result = subprocess.run(
        [sys.executable, "-m", "support_service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "allowed_bedrock_regions" in result.stderr
    assert "EU region" in result.stderr
