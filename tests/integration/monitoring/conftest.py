"""A moto server on an ephemeral loopback port, fresh state per test, and the service's publisher."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
import requests
from mon_live import NAMESPACE, REGION, REPO, Slot
from moto.server import ThreadedMotoServer
from prometheus_client import start_http_server

from bedrock_release.monitoring import AwsClients, MonitoringConfig


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """One moto server per module on 127.0.0.1 and a free port; stopped afterwards."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def clients(moto_url: str) -> AwsClients:
    """Clients bound to the moto server, whose state is reset first."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    session = boto3.session.Session(
        aws_access_key_id="AKIAMONITORINGTEST01",
        aws_secret_access_key="monitoring-test-secret",
        region_name=REGION,
    )
    return AwsClients.create(REGION, moto_url, session=session)


@pytest.fixture
def cfg() -> MonitoringConfig:
    """The sandbox's monitoring, new release on green, with a delivery queue."""
    return MonitoringConfig.for_environment(
        "local",
        namespace=NAMESPACE,
        region=REGION,
        release_slot="green",
        budget_usd=50.0,
        features_dir=REPO / "features",
        delivery_queue=True,
    )


@pytest.fixture
def green(clients: AwsClients) -> Slot:
    """Slot green (the new release) publishing into moto."""
    return Slot("green", clients)


@pytest.fixture
def prometheus_url(green: Slot) -> Iterator[str]:
    """Slot green's /metrics on 127.0.0.1 and a free port."""
    server, thread = start_http_server(0, addr="127.0.0.1", registry=green.metrics.registry)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
