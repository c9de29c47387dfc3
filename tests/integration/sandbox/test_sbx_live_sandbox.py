"""The sandbox running for real: idempotent up, status, loopback only, seeding, Caddy, slots, PII."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path
from typing import Any

import anyio
import boto3
import psutil
import pytest
from botocore.config import Config
from mcp import Client
from sbx_live import http, supervisord_tree

from sandbox import control
from sandbox.caddy_config import WEIGHTS_PATH
from sandbox.cli import EXIT_DEGRADED, EXIT_OK, main
from sandbox.errors import SandboxConflictError
from sandbox.paths import SandboxPaths
from sandbox.secrets_file import read_secrets
from sandbox.seed import aws_client
from sandbox.settings import (
    FLAGS,
    PROGRAMS,
    SANDBOX_AWS_ACCESS_KEY_ID,
    SANDBOX_AWS_SECRET_ACCESS_KEY,
    SandboxSettings,
)
from sandbox.supervisor_rpc import Supervisor

pytestmark = pytest.mark.integration

OPERATION = {"type": "routine", "query": "export job throttling", "customer_region": "eu-central-1"}


def _slot_of(settings: SandboxSettings, count: int) -> list[str]:
    with http() as session:
        return [
            session.post(
                f"{settings.url('caddy')}/v1/support/operations", json=OPERATION, timeout=15
            ).headers["X-Slot"]
            for _ in range(count)
        ]


def _set_weights(settings: SandboxSettings, weights: list[int]) -> None:
    with http() as session:
        session.patch(settings.url("caddy-admin") + WEIGHTS_PATH, json=weights, timeout=5).raise_for_status()


def test_up_starts_every_part_and_seeds_moto(live: control.UpResult) -> None:
    assert live.changed is True
    assert live.started == PROGRAMS
    assert live.warnings == ()
    assert {slot["source"] for slot in live.slots.values()} == {"artifact"}
    assert live.seeded is not None
    assert len(live.seeded.parameters_created) == len(FLAGS)
    assert live.seeded.budget_created is True


def test_second_up_is_harmless(live: control.UpResult, live_settings: SandboxSettings) -> None:
    pids = {part.name: part.pid for part in control.status(live_settings).parts}
    again = control.up(live_settings)
    assert again.already_running is True
    assert again.changed is False
    assert again.started == ()
    assert {part.name: part.pid for part in control.status(live_settings).parts} == pids


def test_status_reports_every_part_answering(
    live: control.UpResult, live_settings: SandboxSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    current = control.status(live_settings)
    assert current.healthy is True
    assert [part.name for part in current.parts] == list(PROGRAMS)
    assert {part.state for part in current.parts} == {"RUNNING"}
    assert current.weights == {"blue": 100, "green": 0}
    assert main(["status", "--runtime-dir", str(live_settings.runtime_dir), "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["healthy"] is True


def test_nothing_listens_beyond_loopback(live: control.UpResult, live_settings: SandboxSettings) -> None:
    listening = []
    for process in supervisord_tree(live_settings.runtime_dir):
        for connection in process.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN or not connection.raddr:
                listening.append((process.name(), connection.laddr.ip, connection.laddr.port))
    assert listening, "no listening sockets found"
    assert {ip for _, ip, _ in listening} == {"127.0.0.1"}, listening
    assert {port for _, _, port in listening} == set(live_settings.ports().values())


def test_secrets_are_0600_and_appear_in_no_generated_file(
    live: control.UpResult, live_settings: SandboxSettings
) -> None:
    paths = SandboxPaths.of(live_settings.runtime_dir)
    assert stat.S_IMODE(paths.secrets.stat().st_mode) == 0o600
    tokens = read_secrets(paths.secrets).as_env().values()
    generated = [paths.supervisord_conf, paths.state, paths.caddy_json, *paths.programs.glob("*.json")]
    for path in generated:
        text = path.read_text()
        assert not any(token in text for token in tokens), path


def test_moto_has_the_five_flags_off_and_the_budget(
    live: control.UpResult, live_settings: SandboxSettings
) -> None:
    ssm = aws_client("ssm", live_settings)
    parameters = ssm.get_parameters_by_path(Path=live_settings.flags_path)["Parameters"]
    assert {p["Name"].rsplit("/", 1)[1]: p["Value"] for p in parameters} == dict.fromkeys(FLAGS, "false")
    budget = aws_client("budgets", live_settings).describe_budget(
        AccountId=aws_client("sts", live_settings).get_caller_identity()["Account"],
        BudgetName=live_settings.budget_name,
    )["Budget"]
    assert float(budget["BudgetLimit"]["Amount"]) == live_settings.budget_usd


def test_request_through_caddy_reaches_blue_and_is_routed(
    live: control.UpResult, live_settings: SandboxSettings
) -> None:
    with http() as session:
        response = session.post(
            f"{live_settings.url('caddy')}/v1/support/operations", json=OPERATION, timeout=15
        )
    assert response.status_code == 200, response.text
    assert response.headers["X-Slot"] == "blue"
    assert response.headers["X-Release"] == "1.0.0"
    body = response.json()
    assert body["route"] == "mcp"  # all five flags are off: MCP-only mode
    assert body["answer"]


def test_weight_zero_is_never_selected_and_a_patch_moves_traffic(
    live: control.UpResult, live_settings: SandboxSettings
) -> None:
    assert set(_slot_of(live_settings, 20)) == {"blue"}
    try:
        _set_weights(live_settings, [0, 100])
        assert set(_slot_of(live_settings, 20)) == {"green"}
        # Caddy's weighted round robin is blocky: [50, 50] serves runs of 50, exact only per 100 ...
        _set_weights(live_settings, [50, 50])
        assert sorted(_slot_of(live_settings, 100)) == ["blue"] * 50 + ["green"] * 50
        # ... while the same ratio reduced by the gcd interleaves request by request.
        _set_weights(live_settings, [1, 1])
        assert _slot_of(live_settings, 4) in (["blue", "green"] * 2, ["green", "blue"] * 2)
    finally:
        _set_weights(live_settings, [100, 0])


def test_pii_never_reaches_the_emulator_or_the_mcp_server(
    live: control.UpResult, live_settings: SandboxSettings
) -> None:
    secrets = read_secrets(SandboxPaths.of(live_settings.runtime_dir).secrets)
    admin = {"Authorization": f"Bearer {secrets.emulator_admin_token}"}
    email, phone = "jane.doe@example.com", "+49 170 1234567"
    with http() as session:
        for kind in ("emergency", "routine"):
            operation = {
                "type": kind,
                "query": f"Outage, reach {email} or {phone}",
                "customer_region": "eu-central-1",
            }
            response = session.post(
                f"{live_settings.url('caddy')}/v1/support/operations",
                json=operation,
                headers={"X-Verification-Token": secrets.support_admin_token},
                timeout=15,
            )
            assert response.status_code == 200, response.text
        bedrock = session.get(
            f"{live_settings.url('bedrock-emulator')}/_emulator/requests", headers=admin
        ).json()
        mcp = session.get(f"{live_settings.url('mcp-server')}/_admin/requests", headers=admin).json()
    assert bedrock["requests"], "the emergency operation should have gone direct to Bedrock"
    assert mcp["requests"], "the routine operation should have used MCP"
    received = json.dumps(bedrock) + json.dumps(mcp)
    assert email not in received
    assert phone not in received


def test_flipping_the_flags_in_ssm_changes_routing_within_two_poll_intervals(
    live: control.UpResult, live_settings: SandboxSettings
) -> None:
    ssm = aws_client("ssm", live_settings)
    emergency = {"type": "emergency", "query": "site down", "customer_region": "eu-central-1"}

    def route() -> str:
        with http() as session:
            response = session.post(
                f"{live_settings.url('slot-blue')}/v1/support/operations", json=emergency, timeout=15
            )
        return str(response.json()["route"])

    def set_flags(value: str) -> float:
        for flag in FLAGS:
            ssm.put_parameter(
                Name=f"{live_settings.flags_path}/{flag}", Value=value, Type="String", Overwrite=True
            )
        return time.monotonic()

    assert route() == "mcp"
    try:
        flipped = set_flags("true")
        while route() != "direct":
            assert time.monotonic() - flipped < 2 * live_settings.flags_poll_interval_s + 0.5
            time.sleep(0.1)
    finally:
        set_flags("false")
    deadline = time.monotonic() + 2 * live_settings.flags_poll_interval_s + 0.5
    while route() != "mcp":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_stock_boto3_reaches_the_emulator_through_the_standard_env_variable(
    live: control.UpResult, live_settings: SandboxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", live_settings.url("bedrock-emulator"))

    def client(key: str) -> Any:
        return boto3.client(
            "bedrock-runtime",
            region_name="eu-central-1",
            aws_access_key_id=key,
            aws_secret_access_key=SANDBOX_AWS_SECRET_ACCESS_KEY,
            config=Config(retries={"total_max_attempts": 1}, proxies={}),
        )

    messages = [{"role": "user", "content": [{"text": "hello"}]}]
    answer = client(SANDBOX_AWS_ACCESS_KEY_ID).converse(
        modelId=live_settings.bedrock_model_id, messages=messages
    )
    assert answer["usage"]["totalTokens"] > 0
    denied = client("AKIANOTTHESANDBOXKEY")
    with pytest.raises(denied.exceptions.AccessDeniedException):
        denied.converse(modelId=live_settings.bedrock_model_id, messages=messages)


def test_mcp_server_answers_a_real_client(live: control.UpResult, live_settings: SandboxSettings) -> None:
    async def run() -> Any:
        async with Client(live.endpoints["mcp"]) as client:
            return await client.call_tool("lookup_ticket", {"ticket_id": "SUP-1001"})

    result = anyio.run(run)
    assert result.is_error is False
    assert result.structured_content["id"] == "SUP-1001"


def test_set_slot_release_switches_the_idle_slot(
    live: control.UpResult, live_settings: SandboxSettings
) -> None:
    switched = control.set_slot_release("green", "1.1.0", settings=live_settings)
    assert switched.changed is True
    assert switched.source == "artifact"
    assert Path(switched.pythonpath) == live_settings.runtime_dir / "slots" / "green" / "1.1.0"
    with http() as session:
        version = session.get(f"{live_settings.url('slot-green')}/version", timeout=5)
    assert version.json()["release"] == "1.1.0"
    assert control.set_slot_release("green", "1.1.0", settings=live_settings).changed is False
    assert control.status(live_settings).slots["green"]["release"] == "1.1.0"
    back = control.set_slot_release(
        "green", "1.0.0", {"SUPPORT_AUTO_ACTIVATE": "true"}, settings=live_settings
    )
    assert back.changed is True


def test_up_with_other_ports_is_refused(live: control.UpResult, live_settings: SandboxSettings) -> None:
    moved = live_settings.model_copy(update={"moto_port": live_settings.moto_port + 1})
    with pytest.raises(SandboxConflictError, match="already runs with ports"):
        control.up(moved)


def test_a_dead_slot_is_skipped_and_an_all_dead_weighted_set_is_503(
    live: control.UpResult, live_settings: SandboxSettings
) -> None:
    supervisor = Supervisor(SandboxPaths.of(live_settings.runtime_dir).socket)
    supervisor.stop("slot-green")
    try:
        _set_weights(live_settings, [1, 1])
        with http() as session:
            codes = [
                session.post(
                    f"{live_settings.url('caddy')}/v1/support/operations", json=OPERATION, timeout=15
                )
                for _ in range(8)
            ]
        # Passive health: at most the first request hits the dead slot (502); then blue takes all.
        assert [r.status_code for r in codes].count(502) <= 1
        assert {r.headers.get("X-Slot") for r in codes if r.status_code == 200} == {"blue"}
        _set_weights(live_settings, [0, 1])
        with http() as session:
            statuses = {
                session.post(
                    f"{live_settings.url('caddy')}/v1/support/operations", json=OPERATION, timeout=15
                ).status_code
                for _ in range(3)
            }
        # Weight 0 stays unselected even when the only weighted slot is down: no fallback, 502 then 503.
        assert statuses <= {502, 503}
        assert 503 in statuses
    finally:
        _set_weights(live_settings, [100, 0])
        control.up(live_settings)


def test_a_stopped_part_is_reported_and_restarted_by_up(
    live: control.UpResult, live_settings: SandboxSettings
) -> None:
    Supervisor(SandboxPaths.of(live_settings.runtime_dir).socket).stop("mcp-server")
    degraded = control.status(live_settings)
    assert degraded.healthy is False
    assert {part.name: part.state for part in degraded.parts}["mcp-server"] == "STOPPED"
    assert main(["status", "--runtime-dir", str(live_settings.runtime_dir)]) == EXIT_DEGRADED
    repaired = control.up(live_settings)
    assert repaired.changed is True
    assert repaired.started == ("mcp-server",)
    assert control.status(live_settings).healthy is True
