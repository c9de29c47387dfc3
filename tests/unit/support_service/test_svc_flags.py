"""Flag polling against a real SSM API (moto server on an ephemeral 127.0.0.1 port), including outages."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from support_service.flags import FLAG_NAMES, FlagPoller, FlagSnapshot, FlagStoreStatus, apply_values

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # moto accepts any


class MotoSSM:
    """A moto server that can be stopped (store unreachable) and started again on the same port."""

    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        self.port = self.server.get_host_and_port()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.running = True

    def client(self) -> object:
        # A generous read timeout: moto's first request in a process can take seconds on a busy machine.
        return boto3.client(
            "ssm",
            region_name="eu-central-1",
            endpoint_url=self.url,
            config=Config(
                connect_timeout=1, read_timeout=15, retries={"total_max_attempts": 1, "mode": "standard"}
            ),
            **CREDENTIALS,
        )

    def stop(self) -> None:
        if self.running:
            self.server.stop()
            self.running = False

    def restart(self) -> None:
        # moto keeps its state in the process, so parameters survive the restart like a real store's.
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.running = True


@pytest.fixture
def moto_ssm() -> Iterator[MotoSSM]:
    store = MotoSSM()
    yield store
    store.stop()


@pytest.fixture
def path() -> str:
    # moto's state is process-wide: each test gets its own flags path.
    return f"/bedrock-support/test-{uuid.uuid4().hex[:8]}/flags"


def put(client: object, path: str, **values: str) -> None:
    for short, value in values.items():
        client.put_parameter(
            Name=f"{path}/ENABLE_{short.upper()}", Value=value, Type="String", Overwrite=True
        )


def test_all_flags_off_before_the_first_read(moto_ssm: MotoSSM, path: str) -> None:
    put(moto_ssm.client(), path, bedrock_support_mode="true")
    poller = FlagPoller(moto_ssm.client(), path, interval_s=1)
    status = poller.status()
    assert status.values == FlagSnapshot()
    assert status.degraded
    assert status.last_refresh is None


def test_reads_values_and_missing_parameters_are_off(moto_ssm: MotoSSM, path: str) -> None:
    client = moto_ssm.client()
    put(client, path, hybrid_health_monitoring="true", bedrock_support_mode="false")
    client.put_parameter(Name=f"{path}/SOMETHING_ELSE", Value="true", Type="String")
    client.put_parameter(Name=f"{path}-other/ENABLE_INTELLIGENT_ROUTING", Value="true", Type="String")
    seen: list[FlagStoreStatus] = []
    poller = FlagPoller(client, path, interval_s=1, on_update=seen.append)
    status = poller.refresh()
    assert status.values == FlagSnapshot(hybrid_health_monitoring=True)
    assert status.store == "ok"
    assert status.last_error is None
    assert isinstance(status.last_refresh, datetime)
    assert seen == [status]


def test_bad_value_keeps_the_last_known_value_and_degrades(moto_ssm: MotoSSM, path: str) -> None:
    client = moto_ssm.client()
    put(client, path, bedrock_support_mode="true", intelligent_routing="false")
    poller = FlagPoller(client, path, interval_s=1)
    poller.refresh()
    put(
        client,
        path,
        bedrock_support_mode="maybe",
        intelligent_routing="TRUE",
        performance_optimization="true",
    )
    status = poller.refresh()
    assert status.values.bedrock_support_mode  # kept on (last known)
    assert not status.values.intelligent_routing  # "TRUE" is a bad value: never turns a flag on
    assert status.values.performance_optimization  # a good value still applies
    assert status.degraded
    assert status.bad_values == ("ENABLE_BEDROCK_SUPPORT_MODE", "ENABLE_INTELLIGENT_ROUTING")
    assert "expected true or false" in (status.last_error or "")


def test_unreachable_store_keeps_last_values_reports_degraded_and_recovers(
    moto_ssm: MotoSSM, path: str
) -> None:
    client = moto_ssm.client()
    put(client, path, hybrid_health_monitoring="true", bedrock_support_mode="false")
    poller = FlagPoller(client, path, interval_s=1)
    good = poller.refresh()
    assert good.store == "ok"

    moto_ssm.stop()
    down = poller.refresh()
    assert down.values == good.values
    assert down.store == "degraded"
    assert down.last_refresh == good.last_refresh
    assert "Error" in (down.last_error or "")

    moto_ssm.restart()
    put(client, path, bedrock_support_mode="true")
    back = poller.refresh()
    assert back.store == "ok"
    assert back.values == FlagSnapshot(hybrid_health_monitoring=True, bedrock_support_mode=True)
    assert back.last_refresh is not None
    assert good.last_refresh is not None
    assert back.last_refresh > good.last_refresh


def test_unreachable_before_first_read_never_turns_anything_on(moto_ssm: MotoSSM, path: str) -> None:
    client = moto_ssm.client()
    for name in FLAG_NAMES:
        client.put_parameter(Name=f"{path}/{name}", Value="true", Type="String")
    moto_ssm.stop()
    poller = FlagPoller(client, path, interval_s=1)
    for _ in range(2):
        status = poller.refresh()
        assert status.values == FlagSnapshot()
        assert status.degraded


def test_background_polling_sees_a_change_within_two_intervals(moto_ssm: MotoSSM, path: str) -> None:
    client = moto_ssm.client()
    put(client, path, bedrock_support_mode="false")
    poller = FlagPoller(client, path, interval_s=0.2)
    poller.start()
    try:
        assert poller.running
        deadline = time.monotonic() + 5
        while poller.status().last_refresh is None and time.monotonic() < deadline:
            time.sleep(0.02)
        put(client, path, bedrock_support_mode="true")
        changed_at = time.monotonic()
        while not poller.status().values.bedrock_support_mode and time.monotonic() < changed_at + 5:
            time.sleep(0.02)
        assert poller.status().values.bedrock_support_mode
        # Two intervals, plus slack for one SSM round trip on a busy machine.
        assert time.monotonic() - changed_at < 2 * 0.2 + 0.5
    finally:
        poller.stop()
    assert not poller.running


def test_apply_values_is_pure() -> None:
    previous = FlagSnapshot(intelligent_routing=True)
    values, bad = apply_values(
        previous, {"ENABLE_INTELLIGENT_ROUTING": "1", "ENABLE_BEDROCK_SUPPORT_MODE": "true"}
    )
    assert values == FlagSnapshot(intelligent_routing=True, bedrock_support_mode=True)
    assert bad == ("ENABLE_INTELLIGENT_ROUTING",)
    assert apply_values(values, {}) == (FlagSnapshot(), ())


def test_snapshot_names() -> None:
    snapshot = FlagSnapshot.from_names({"ENABLE_DIRECT_BEDROCK_FALLBACK": True})
    assert snapshot.by_name() == {name: name == "ENABLE_DIRECT_BEDROCK_FALLBACK" for name in FLAG_NAMES}
    assert snapshot.is_on("ENABLE_DIRECT_BEDROCK_FALLBACK")
    assert FlagSnapshot.all_on().by_name() == dict.fromkeys(FLAG_NAMES, True)
    with pytest.raises(ValueError, match="unknown flags"):
        FlagSnapshot.from_names({"ENABLE_NOPE": True})
    with pytest.raises(KeyError):
        snapshot.is_on("ENABLE_NOPE")


def test_poller_clock_is_injectable() -> None:
    fixed = datetime(2026, 1, 2, tzinfo=UTC)

    class EmptyStore:
        def get_paginator(self, _name: str) -> object:
            class P:
                def paginate(self, **_kw: object) -> list[dict]:
                    return [{"Parameters": []}]

            return P()

    assert FlagPoller(EmptyStore(), "/p", interval_s=1, now=lambda: fixed).refresh().last_refresh == fixed
