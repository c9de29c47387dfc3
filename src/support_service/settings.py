"""Service configuration, read only from ``SUPPORT_*`` environment variables (docs/contracts.md).

The contract's variables come first; the rest are tuning knobs with safe defaults.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from support_service.budget import DEFAULT_PRICES, ModelPrice, parse_price_overrides, price_for
from support_service.faults import DrillFaults, parse_faults

__all__ = ["DEFAULT_ALLOWED_REGIONS", "Settings"]

DEFAULT_ALLOWED_REGIONS = ("eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1", "eu-south-1")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_REGION = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$")

RegionList = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_", frozen=True, extra="ignore")

    # --- docs/contracts.md ---
    slot: Literal["blue", "green"] = "blue"
    release: str = "0.0.0"
    host: str = "127.0.0.1"
    port: int = Field(default=18101, ge=1, le=65535)
    environment: Literal["local", "staging", "production"] = "local"
    flags_path: str = "/bedrock-support/local/flags"
    flags_poll_interval_s: float = Field(default=1.0, gt=0)
    bedrock_region: str = "eu-central-1"
    allowed_bedrock_regions: RegionList = DEFAULT_ALLOWED_REGIONS
    bedrock_model_id: str = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    mcp_url: str = "http://127.0.0.1:18170/mcp"
    audit_log: Path = Path("runs/sandbox/audit/service.jsonl")
    cloudwatch_namespace: str = "BedrockSupport/local"  # empty: no CloudWatch publishing
    budget_usd: float = Field(default=50.0, gt=0)
    admin_token: SecretStr = Field(min_length=16)
    faults: str = ""

    # --- additions (tuning; safe defaults) ---
    auto_activate: bool = False  # activate every component at start (the baseline release boots so)
    aws_region: str | None = None  # region of SSM and CloudWatch; default: boto3's, else the Bedrock region
    # Customer regions whose data may go to the (EU) Bedrock region; default: the allowed EU regions.
    direct_customer_regions: RegionList | None = None
    bedrock_max_attempts: int = Field(default=2, ge=1, le=10)
    bedrock_connect_timeout_s: float = Field(default=2.0, gt=0)
    bedrock_read_timeout_s: float = Field(default=10.0, gt=0)
    bedrock_max_tokens: int = Field(default=512, ge=1)
    price_table: str = (
        ""  # JSON {"model": {"input_per_1k": x, "output_per_1k": y}} added to the built-in table
    )
    mcp_connect_timeout_s: float = Field(default=5.0, gt=0)
    mcp_call_timeout_s: float = Field(default=10.0, gt=0)
    cache_ttl_s: float = Field(default=300.0, gt=0)
    cache_max_entries: int = Field(default=10_000, ge=1)
    frequent_min_count: int = Field(default=3, ge=1)
    frequent_window_s: float = Field(default=600.0, gt=0)
    circuit_failure_threshold: int = Field(default=5, ge=1)
    circuit_reset_timeout_s: float = Field(default=30.0, gt=0)
    cloudwatch_interval_s: float = Field(default=10.0, gt=0)
    max_query_chars: int = Field(default=4000, ge=1)
    max_body_bytes: int = Field(default=65_536, ge=1024)

    @field_validator("allowed_bedrock_regions", "direct_customer_regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("allowed_bedrock_regions")
    @classmethod
    def _eu_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one allowed Bedrock region is needed")
        bad = [region for region in value if not _REGION.match(region) or not region.startswith("eu-")]
        if bad:
            raise ValueError(f"allowed Bedrock regions must be EU region codes, got {bad}")
        return value

    @field_validator("release")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not _SEMVER.match(value):
            raise ValueError(f"release must be a semantic version, got {value!r}")
        return value

    @field_validator("faults")
    @classmethod
    def _faults_parse(cls, value: str) -> str:
        parse_faults(value)
        return value

    @field_validator("price_table")
    @classmethod
    def _prices_parse(cls, value: str) -> str:
        parse_price_overrides(value)
        return value

    @model_validator(mode="after")
    def _model_priced(self) -> Settings:
        try:
            price_for(self.bedrock_model_id, self.prices())
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        return self

    def drill_faults(self) -> DrillFaults:
        """The parsed drill faults (none unless SUPPORT_FAULTS is set)."""
        return parse_faults(self.faults)

    def prices(self) -> dict[str, ModelPrice]:
        """The price table: built-in prices plus SUPPORT_PRICE_TABLE."""
        return {**DEFAULT_PRICES, **parse_price_overrides(self.price_table)}

    def permitted_customer_regions(self) -> tuple[str, ...]:
        """Customer regions whose data may be processed by direct Bedrock."""
        return self.direct_customer_regions or self.allowed_bedrock_regions
