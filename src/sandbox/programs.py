"""Launch specs of the six sandbox programs: argv and the exact environment each one gets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ._loopback import LOOPBACK
from .launch import ProgramSpec
from .paths import SandboxPaths
from .settings import (
    REPO_ROOT,
    SANDBOX_AWS_ACCESS_KEY_ID,
    SANDBOX_AWS_SECRET_ACCESS_KEY,
    SandboxSettings,
)

__all__ = ["SlotRelease", "base_env", "program_specs", "slot_spec"]


@dataclass(frozen=True)
class SlotRelease:
    """What a slot runs: the release, the folder on its PYTHONPATH, where that came from, extra env."""

    slot: str
    release: str
    pythonpath: Path
    source: str  # "artifact", "source-tree" (no artifact built yet) or "explicit"
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "slot": self.slot,
            "release": self.release,
            "pythonpath": str(self.pythonpath),
            "source": self.source,
            "extra_env": dict(self.extra_env),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> SlotRelease:
        """Parse to_dict's output."""
        extra = raw.get("extra_env") or {}
        return cls(
            slot=str(raw["slot"]),
            release=str(raw["release"]),
            pythonpath=Path(str(raw["pythonpath"])),
            source=str(raw["source"]),
            extra_env=dict(extra) if isinstance(extra, Mapping) else {},
        )


def base_env(settings: SandboxSettings) -> dict[str, str]:
    """The environment every sandbox process starts from; nothing leaks in from the caller's shell."""
    paths = SandboxPaths.of(settings.runtime_dir)
    bin_dir = str(settings.python.parent)
    return {
        "PATH": os.pathsep.join([bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(paths.home),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        # Release folders stay byte-identical to the artifact they were unpacked from.
        "PYTHONDONTWRITEBYTECODE": "1",
        # Loopback traffic must never be sent to a proxy configured for the outside world.
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def _aws_env(settings: SandboxSettings) -> dict[str, str]:
    moto = settings.url("moto")
    return {
        "AWS_ACCESS_KEY_ID": SANDBOX_AWS_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SANDBOX_AWS_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": settings.aws_region,
        "AWS_REGION": settings.aws_region,
        # Every AWS service defaults to moto, so nothing in the sandbox can reach real AWS.
        "AWS_ENDPOINT_URL": moto,
        "AWS_ENDPOINT_URL_SSM": moto,
        "AWS_ENDPOINT_URL_CLOUDWATCH": moto,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": settings.url("bedrock-emulator"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def slot_spec(settings: SandboxSettings, slot: SlotRelease) -> ProgramSpec:
    """The slot program: `python -m support_service` configured by the contract's environment."""
    paths = SandboxPaths.of(settings.runtime_dir)
    env = base_env(settings) | _aws_env(settings)
    env |= {
        "PYTHONPATH": str(slot.pythonpath),
        "SUPPORT_SLOT": slot.slot,
        "SUPPORT_RELEASE": slot.release,
        "SUPPORT_HOST": LOOPBACK,
        "SUPPORT_PORT": str(settings.slot_port(slot.slot)),
        "SUPPORT_ENVIRONMENT": "local",
        "SUPPORT_FLAGS_PATH": settings.flags_path,
        "SUPPORT_FLAGS_POLL_INTERVAL_S": str(settings.flags_poll_interval_s),
        "SUPPORT_BEDROCK_REGION": settings.bedrock_region,
        "SUPPORT_ALLOWED_BEDROCK_REGIONS": settings.allowed_bedrock_regions,
        "SUPPORT_BEDROCK_MODEL_ID": settings.bedrock_model_id,
        "SUPPORT_MCP_URL": settings.url("mcp-server") + "/mcp",
        "SUPPORT_AUDIT_LOG": str(paths.audit / f"{slot.slot}.jsonl"),
        "SUPPORT_CLOUDWATCH_NAMESPACE": settings.cloudwatch_namespace,
        "SUPPORT_BUDGET_USD": str(settings.budget_usd),
    }
    env |= dict(slot.extra_env)
    return ProgramSpec(
        argv=(str(settings.python), "-m", settings.slot_module),
        env=env,
        cwd=str(paths.root),
        secrets=("SUPPORT_ADMIN_TOKEN",),
        secrets_file=str(paths.secrets),
        meta={"slot": slot.slot, "release": slot.release, "source": slot.source},
    )


def program_specs(settings: SandboxSettings, slots: Mapping[str, SlotRelease]) -> dict[str, ProgramSpec]:
    """Specs of all six programs, by program name."""
    paths = SandboxPaths.of(settings.runtime_dir)
    python = str(settings.python)
    own = base_env(settings) | {"PYTHONPATH": str(REPO_ROOT / "src")}
    cwd = str(paths.root)
    specs = {
        "moto": ProgramSpec(
            argv=(python, "-m", "moto.server", "-H", LOOPBACK, "-p", str(settings.moto_port)),
            env=own,
            cwd=cwd,
        ),
        "bedrock-emulator": ProgramSpec(
            argv=(
                python,
                "-m",
                "sandbox.bedrock_emulator",
                "--host",
                LOOPBACK,
                "--port",
                str(settings.emulator_port),
                "--invocation-log-group",
                settings.bedrock_invocation_log_group,
            ),
            # The AWS environment of the slots: its invocation logs go to moto's CloudWatch Logs.
            env=own | _aws_env(settings) | {"SANDBOX_AWS_ACCESS_KEY_ID": SANDBOX_AWS_ACCESS_KEY_ID},
            cwd=cwd,
            secrets=("EMULATOR_ADMIN_TOKEN",),
            secrets_file=str(paths.secrets),
        ),
        "mcp-server": ProgramSpec(
            argv=(
                python,
                "-m",
                "sandbox.mcp_support_server",
                "--host",
                LOOPBACK,
                "--port",
                str(settings.mcp_port),
            ),
            env=own,
            cwd=cwd,
            secrets=("EMULATOR_ADMIN_TOKEN",),
            secrets_file=str(paths.secrets),
        ),
        "caddy": ProgramSpec(
            # --resume: a Caddy restarted by supervisord comes back with the weights the pipeline set last
            # (its autosave), not caddy.json's [100, 0]; a cold `up` removes the autosave first.
            argv=(str(settings.caddy_bin), "run", "--config", str(paths.caddy_json), "--resume"),
            env=base_env(settings)
            | {
                # Caddy's autosave and certificate storage stay inside the runtime folder.
                "XDG_CONFIG_HOME": str(paths.caddy_home / "config"),
                "XDG_DATA_HOME": str(paths.caddy_home / "data"),
            },
            cwd=cwd,
        ),
    }
    for name, slot in slots.items():
        specs[f"slot-{name}"] = slot_spec(settings, slot)
    return specs
