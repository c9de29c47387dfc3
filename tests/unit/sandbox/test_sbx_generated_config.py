"""The generated configs: supervisord.conf, program specs, Caddy JSON."""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

import httpx2  # the MCP SDK's HTTP client
import pytest

from sandbox.caddy_config import INITIAL_WEIGHTS, WEIGHTS_PATH, caddy_config
from sandbox.mcp_support_server.__main__ import MCP_KEEP_ALIVE_S
from sandbox.paths import SandboxPaths
from sandbox.programs import SlotRelease, program_specs
from sandbox.settings import PROGRAMS, SandboxSettings
from sandbox.supervisor_config import supervisord_conf
from support_service.__main__ import SLOT_KEEP_ALIVE_S

CONTRACT_SLOT_ENV = {
    "SUPPORT_SLOT",
    "SUPPORT_RELEASE",
    "SUPPORT_HOST",
    "SUPPORT_PORT",
    "SUPPORT_ENVIRONMENT",
    "SUPPORT_FLAGS_PATH",
    "SUPPORT_FLAGS_POLL_INTERVAL_S",
    "SUPPORT_BEDROCK_REGION",
    "SUPPORT_ALLOWED_BEDROCK_REGIONS",
    "SUPPORT_BEDROCK_MODEL_ID",
    "SUPPORT_MCP_URL",
    "SUPPORT_AUDIT_LOG",
    "SUPPORT_CLOUDWATCH_NAMESPACE",
    "SUPPORT_BUDGET_USD",
    "AWS_ENDPOINT_URL_SSM",
    "AWS_ENDPOINT_URL_CLOUDWATCH",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
}


@pytest.fixture
def settings(tmp_path: Path) -> SandboxSettings:
    return SandboxSettings(runtime_dir=tmp_path / "rt%x")


def _slots(extra: dict[str, str] | None = None) -> dict[str, SlotRelease]:
    return {
        "blue": SlotRelease("blue", "1.0.0", Path("/r/blue"), "artifact"),
        "green": SlotRelease("green", "1.1.0", Path("/r/green"), "artifact", extra or {}),
    }


def test_supervisord_conf_has_unix_socket_only_and_six_programs(settings: SandboxSettings) -> None:
    text = supervisord_conf(settings, dict.fromkeys(PROGRAMS, "d1"))
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    assert "inet_http_server" not in parser
    assert parser["unix_http_server"]["chmod"] == "0700"
    assert [s.removeprefix("program:") for s in parser.sections() if s.startswith("program:")] == list(
        PROGRAMS
    )
    # A literal % is doubled, so supervisord's own interpolation yields the real path back.
    assert parser["supervisord"]["pidfile"].endswith("rt%%x/supervisord.pid")
    # The socket is short whatever the runtime folder's path (AF_UNIX allows 107 bytes).
    assert parser["unix_http_server"]["file"] == str(SandboxPaths.of(settings.runtime_dir).socket)
    assert "--digest d1" in parser["program:caddy"]["command"]


def test_slot_spec_carries_the_contract_environment(settings: SandboxSettings) -> None:
    specs = program_specs(settings, _slots({"SUPPORT_FAULTS": '{"x": "a, b"}'}))
    green = specs["slot-green"]
    assert set(green.env) >= CONTRACT_SLOT_ENV
    assert green.env["SUPPORT_RELEASE"] == "1.1.0"
    assert green.env["SUPPORT_PORT"] == "18102"
    assert green.env["SUPPORT_HOST"] == "127.0.0.1"
    assert green.env["PYTHONPATH"] == "/r/green"
    assert green.env["SUPPORT_FAULTS"] == '{"x": "a, b"}'
    assert "SUPPORT_FAULTS" not in specs["slot-blue"].env
    assert green.argv[1:] == ("-m", "support_service")
    assert green.secrets == ("SUPPORT_ADMIN_TOKEN",)


def test_no_program_gets_secrets_it_does_not_need_or_the_callers_environment(
    settings: SandboxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "real-production")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    specs = program_specs(settings, _slots())
    for name, spec in specs.items():
        assert "AWS_PROFILE" not in spec.env, name
        assert "HTTPS_PROXY" not in spec.env, name
        assert not any(key.endswith("_TOKEN") for key in spec.env), name
    assert specs["caddy"].secrets == ()
    assert specs["moto"].secrets == ()
    assert specs["bedrock-emulator"].secrets == ("EMULATOR_ADMIN_TOKEN",)


def test_every_aws_endpoint_is_loopback(settings: SandboxSettings) -> None:
    env = program_specs(settings, _slots())["slot-blue"].env
    endpoints = {key: value for key, value in env.items() if key.startswith("AWS_ENDPOINT_URL")}
    assert endpoints["AWS_ENDPOINT_URL"] == "http://127.0.0.1:18150"
    assert all(value.startswith("http://127.0.0.1:") for value in endpoints.values())
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"


def _by_id(node: Any, wanted: str) -> Any:
    if isinstance(node, dict):
        if node.get("@id") == wanted:
            return node
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _by_id(child, wanted)
        if found is not None:
            return found
    return None


def test_caddy_config_listens_on_loopback_with_initial_weights(settings: SandboxSettings) -> None:
    config = caddy_config(settings)
    assert config["admin"]["listen"] == "127.0.0.1:18019"
    assert config["apps"]["http"]["servers"]["proxy"]["listen"] == ["127.0.0.1:18080"]
    proxy = _by_id(config, "slots")
    assert [u["dial"] for u in proxy["upstreams"]] == ["127.0.0.1:18101", "127.0.0.1:18102"]
    policy = proxy["load_balancing"]["selection_policy"]
    assert policy == {"policy": "weighted_round_robin", "weights": list(INITIAL_WEIGHTS)}
    assert list(INITIAL_WEIGHTS) == [100, 0]
    # The documented admin path walks to exactly that list.
    node: Any = proxy
    for key in WEIGHTS_PATH.split("/")[3:]:
        node = node[key]
    assert node == [100, 0]


def test_caddy_drops_idle_upstream_connections_before_the_slot_does(settings: SandboxSettings) -> None:
    idle = _by_id(caddy_config(settings), "slots")["transport"]["keep_alive"]["idle_timeout"]
    assert int(idle.removesuffix("s")) < SLOT_KEEP_ALIVE_S


def test_the_mcp_server_keeps_idle_connections_longer_than_its_clients_do() -> None:
    # The slots' MCP client (httpx2) drops idle connections first, so it never reuses one the server is
    # closing (a ReadError that broke the slot's MCP session and its calls in flight).
    client_idle = httpx2.Limits().keepalive_expiry
    assert client_idle is not None
    assert client_idle < MCP_KEEP_ALIVE_S
