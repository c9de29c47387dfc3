"""A private sandbox (ephemeral ports, own runtime folder): the real service publishes, we verify.

Slot green runs the working tree; verification-context traffic (all five flags on) goes straight to
it, the service's own publisher sends to moto, and phase 7 is created, verified and evaluated
from what arrived - the end-to-end check that every widget and alarm names a metric the service
really publishes with exactly those dimensions.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import psutil
import pytest
import requests
from mon_live import REPO

from bedrock_release.monitoring import (
    ALARM_NAMES,
    DASHBOARD_WIDGETS,
    AlarmState,
    AwsClients,
    MonitoringConfig,
    PrometheusSource,
    check_alert_delivery,
    check_dashboard_readable,
    check_metrics_readable,
    ensure_monitoring,
    evaluate_alarms,
    verify_alarms,
    verify_dashboard,
)
from sandbox import control
from sandbox.paths import SandboxPaths
from sandbox.secrets_file import read_secrets
from sandbox.settings import (
    PORT_FIELDS,
    SANDBOX_AWS_ACCESS_KEY_ID,
    SANDBOX_AWS_SECRET_ACCESS_KEY,
    SandboxSettings,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_ports(count: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _leftovers(runtime: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        with contextlib.suppress(psutil.Error):
            if process.info["status"] != psutil.STATUS_ZOMBIE and str(runtime) in " ".join(
                process.info["cmdline"] or []
            ):
                found.append(process)
    return found


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxSettings]:
    """A sandbox of our own; stopped afterwards, with a check that nothing it started is left."""
    root = tmp_path_factory.mktemp("monsbx")
    settings = SandboxSettings(
        runtime_dir=root / "rt",
        releases_dir=root / "releases",
        baseline_dir=REPO / "src",
        start_timeout_s=90,
        **dict(zip(PORT_FIELDS.values(), _free_ports(len(PORT_FIELDS)), strict=True)),
    )
    try:
        control.up(settings)
        yield settings
    finally:
        control.down(settings)
        leftovers = _leftovers(settings.runtime_dir)
        for process in leftovers:
            process.kill()
        assert leftovers == [], f"processes outlived down: {leftovers}"


@pytest.fixture(scope="module")
def clients(sandbox: SandboxSettings) -> AwsClients:
    session = boto3.session.Session(
        aws_access_key_id=SANDBOX_AWS_ACCESS_KEY_ID, aws_secret_access_key=SANDBOX_AWS_SECRET_ACCESS_KEY
    )
    return AwsClients.create(sandbox.aws_region, sandbox.url("moto"), session=session)


@pytest.fixture(scope="module")
def cfg(sandbox: SandboxSettings) -> MonitoringConfig:
    return MonitoringConfig.for_environment(
        "local",
        namespace=sandbox.cloudwatch_namespace,
        region=sandbox.aws_region,
        release_slot="green",
        budget_name=sandbox.budget_name,
        features_dir=REPO / "features",
        delivery_queue=True,
    )


@pytest.fixture(scope="module")
def traffic(sandbox: SandboxSettings, clients: AwsClients) -> float:
    """Verification traffic to green until its publisher has flushed it; returns when it started."""
    started = time.time()
    token = read_secrets(SandboxPaths.of(sandbox.runtime_dir).secrets).support_admin_token
    url = f"{sandbox.url('slot-green')}/v1/support/operations"
    operations = [
        *({"type": "generation", "query": f"draft a reply about export job {i}"} for i in range(260)),
        *({"type": "routine", "query": "export job throttling"} for _ in range(300)),
        *({"type": "emergency", "query": f"site down {i}"} for i in range(20)),
        *({"type": "routine", "query": f"password reset {i}"} for i in range(40)),
    ]

    def send(op: dict[str, str]) -> int:
        with requests.Session() as session:
            session.trust_env = False
            response = session.post(
                url,
                json={**op, "customer_region": "eu-central-1"},
                headers={"X-Verification-Token": token},
                timeout=30,
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(send, operations))
    assert codes.count(200) == len(operations), {c: codes.count(c) for c in set(codes)}
    deadline = time.time() + 40  # the service flushes every 10 s
    while time.time() < deadline:
        if check_metrics_readable(clients.cloudwatch, sandbox.cloudwatch_namespace, "green").ok:
            # one more interval so the last requests are in too
            time.sleep(11)
            return started
        time.sleep(2)
    pytest.fail("slot green's metrics never became readable in CloudWatch")


def test_the_real_service_feeds_every_widget_and_alarm(
    sandbox: SandboxSettings, clients: AwsClients, cfg: MonitoringConfig, traffic: float
) -> None:
    first = ensure_monitoring(clients, cfg)
    assert first.budget_source.startswith("AWS Budgets")
    assert not ensure_monitoring(clients, cfg).changed
    assert all(c.ok for c in verify_alarms(clients, cfg))
    dashboard = verify_dashboard(clients.cloudwatch, cfg.dashboard_name, cfg.namespace, slot="green")
    assert dashboard.ok, dashboard.message()
    assert dashboard.titles == DASHBOARD_WIDGETS
    readable = check_metrics_readable(clients.cloudwatch, cfg.namespace, "green")
    assert readable.ok, readable.message()


def test_every_alarm_evaluates_ok_from_the_published_metrics(
    sandbox: SandboxSettings, clients: AwsClients, cfg: MonitoringConfig, traffic: float
) -> None:
    ensure_monitoring(clients, cfg)
    results = evaluate_alarms(
        clients,
        cfg,
        window_s=time.time() - traffic + 120,
        prometheus=PrometheusSource(urls=(sandbox.url("slot-green"),)),
        reflect_state=True,
    )
    assert [r.name for r in results] == list(ALARM_NAMES)
    for r in results:
        assert r.state is AlarmState.OK, r.message()
    by_name = {r.name: r for r in results}
    assert by_name["p95-latency-generation"].samples >= 200
    assert by_name["p95-latency-cached"].samples >= 200


def test_alerting_path_and_operations_dashboard(clients: AwsClients, cfg: MonitoringConfig) -> None:
    delivery = check_alert_delivery(clients, cfg, emulate_cloudwatch_action=True, timeout_s=15)
    assert delivery.ok, delivery.message()
    seeded = check_dashboard_readable(clients.cloudwatch)
    assert seeded.ok, seeded.message()
