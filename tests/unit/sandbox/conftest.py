"""Fixtures for sandbox unit tests: the emulator and the MCP server served for real on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests
import uvicorn
from botocore.config import Config
from sbx_helpers import ADMIN_TOKEN, Served

from sandbox.bedrock_emulator import EmulatorConfig, create_app
from sandbox.bedrock_emulator.invocation_log import LogDestination
from sandbox.mcp_support_server import build_app
from sandbox.mcp_support_server.faults import McpRecorder
from sandbox.settings import SANDBOX_AWS_ACCESS_KEY_ID, SANDBOX_AWS_SECRET_ACCESS_KEY


def _admin_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # never route loopback test traffic through a proxy
    session.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    return session


def _serve(app: Any, state: Any) -> Iterator[Served]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "test server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    admin = _admin_session()
    try:
        yield Served(f"http://127.0.0.1:{port}", admin, state)
    finally:
        admin.close()
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def emulator() -> Iterator[Served]:
    """A fresh Bedrock emulator on an ephemeral loopback port."""
    app = create_app(EmulatorConfig(access_key=SANDBOX_AWS_ACCESS_KEY_ID, admin_token=ADMIN_TOKEN))
    yield from _serve(app, app.state)


#: The invocation log group of the emulator that ``logging_emulator`` serves.
INVOCATION_LOG_GROUP = "/bedrock-support/unit/model-invocations"


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server on an ephemeral port; boto3 in this process reaches it through the environment."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SANDBOX_AWS_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SANDBOX_AWS_SECRET_ACCESS_KEY)
    yield url
    server.stop()


@pytest.fixture
def logging_emulator(moto_url: str) -> Iterator[Served]:
    """An emulator writing model invocation logs to moto's CloudWatch Logs (the group not created yet)."""
    config = EmulatorConfig(
        access_key=SANDBOX_AWS_ACCESS_KEY_ID,
        admin_token=ADMIN_TOKEN,
        invocation_log=LogDestination(INVOCATION_LOG_GROUP),
    )
    app = create_app(config)
    yield from _serve(app, app.state)


@pytest.fixture
def bedrock(emulator: Served) -> Callable[..., Any]:
    """Factory of stock boto3 bedrock-runtime clients pointed at the emulator (one attempt by default)."""

    def make(
        access_key: str = SANDBOX_AWS_ACCESS_KEY_ID, attempts: int = 1, read_timeout: float = 10.0
    ) -> Any:
        return boto3.client(
            "bedrock-runtime",
            region_name="eu-central-1",
            endpoint_url=emulator.url,
            aws_access_key_id=access_key,
            aws_secret_access_key=SANDBOX_AWS_SECRET_ACCESS_KEY,
            config=Config(
                retries={"total_max_attempts": attempts, "mode": "standard"},
                read_timeout=read_timeout,
                connect_timeout=2,
                proxies={},
            ),
        )

    return make


@pytest.fixture
def mcp_server() -> Iterator[Served]:
    """A fresh MCP support server on an ephemeral loopback port; state is its recorder."""
    recorder = McpRecorder()
    yield from _serve(build_app(ADMIN_TOKEN, recorder), recorder)
