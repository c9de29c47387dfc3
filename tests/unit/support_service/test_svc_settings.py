"""Settings from SUPPORT_* environment variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from support_service.settings import DEFAULT_ALLOWED_REGIONS, Settings

TOKEN = "t" * 20


def test_reads_the_contract_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "SUPPORT_SLOT": "green",
        "SUPPORT_RELEASE": "1.1.0",
        "SUPPORT_PORT": "18102",
        "SUPPORT_ENVIRONMENT": "local",
        "SUPPORT_FLAGS_PATH": "/bedrock-support/local/flags",
        "SUPPORT_FLAGS_POLL_INTERVAL_S": "0.5",
        "SUPPORT_BEDROCK_REGION": "eu-west-1",
        "SUPPORT_ALLOWED_BEDROCK_REGIONS": "eu-central-1, eu-west-1",
        "SUPPORT_MCP_URL": "http://127.0.0.1:18170/mcp",
        "SUPPORT_AUDIT_LOG": "runs/sandbox/audit/green.jsonl",
        "SUPPORT_BUDGET_USD": "12.5",
        "SUPPORT_ADMIN_TOKEN": TOKEN,
        "SUPPORT_AUTO_ACTIVATE": "true",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.slot == "green"
    assert settings.port == 18102
    assert settings.allowed_bedrock_regions == ("eu-central-1", "eu-west-1")
    assert settings.permitted_customer_regions() == ("eu-central-1", "eu-west-1")
    assert settings.budget_usd == 12.5
    assert settings.auto_activate
    assert settings.admin_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings)


def test_defaults() -> None:
    settings = Settings(admin_token=TOKEN)
    assert settings.allowed_bedrock_regions == DEFAULT_ALLOWED_REGIONS
    assert not settings.auto_activate
    assert not settings.drill_faults().active


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("admin_token", "short", "at least 16"),
        ("allowed_bedrock_regions", "us-east-1", "EU region"),
        ("allowed_bedrock_regions", "", "at least one"),
        ("release", "one", "semantic version"),
        ("faults", '{"nope": 1}', "unknown keys"),
        ("bedrock_model_id", "acme.unknown", "no price"),
        ("slot", "red", "blue"),
        ("budget_usd", "0", "greater than 0"),
    ],
)
def test_invalid_values_are_refused(field: str, value: str, message: str) -> None:
    values = {"admin_token": TOKEN, field: value}
    with pytest.raises(ValidationError, match=message):
        Settings(**values)


def test_price_table_adds_models() -> None:
    settings = Settings(
        admin_token=TOKEN,
        bedrock_model_id="acme.m",
        price_table='{"acme.m": {"input_per_1k": 1, "output_per_1k": 2}}',
    )
    assert settings.prices()["acme.m"].output_per_1k == 2


def test_customer_regions_can_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_DIRECT_CUSTOMER_REGIONS", "eu-south-2,eu-central-1")
    assert Settings(admin_token=TOKEN).permitted_customer_regions() == ("eu-south-2", "eu-central-1")
