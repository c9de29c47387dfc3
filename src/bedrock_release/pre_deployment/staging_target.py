"""A private staging sandbox running the release under test on its own runtime folder and free ports."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import control
from sandbox.paths import SandboxPaths
from sandbox.secrets_file import read_secrets
from sandbox.settings import PORT_FIELDS, SandboxSettings

__all__ = ["StagingTarget", "free_ports", "staging_sandbox"]


@dataclass(frozen=True)
class StagingTarget:
    """Where the staging sandbox listens and the tokens it accepts (repr hides the tokens)."""

    release: str
    components: Mapping[str, str]
    traffic: str
    slots: Mapping[str, str]
    bedrock: str
    mcp: str
    runtime_dir: Path
    budget_usd: float
    admin_token: str = field(repr=False)
    emulator_token: str = field(repr=False)

    @property
    def audit_files(self) -> tuple[Path, ...]:
        """The slots' audit trails."""
        return tuple(sorted(SandboxPaths.of(self.runtime_dir).audit.glob("*.jsonl")))


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports that were free a moment ago."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@contextlib.contextmanager
def staging_sandbox(
    release: str,
    components: Mapping[str, str],
    *,
    releases_dir: Path,
    log_dir: Path,
    start_timeout_s: float = 120.0,
) -> Iterator[StagingTarget]:
    """Start a sandbox whose two slots boot the release; always stop it and keep its logs in log_dir."""
    # /tmp keeps the supervisord socket path short; nothing of the shared runs/sandbox is touched.
    runtime = Path(tempfile.mkdtemp(prefix="bedrock-staging-"))
    ports = dict(zip(PORT_FIELDS.values(), free_ports(len(PORT_FIELDS)), strict=True))
    settings = SandboxSettings(
        runtime_dir=runtime,
        releases_dir=releases_dir,
        baseline_release=release,
        start_timeout_s=start_timeout_s,
        **ports,
    )
    try:
        started = control.up(settings)
        sources = {slot: info.get("source") for slot, info in started.slots.items()}
        if any(source != "artifact" for source in sources.values()):
            raise RuntimeError(f"staging slots do not run the built artifact of {release}: {sources}")
        secrets = read_secrets(SandboxPaths.of(runtime).secrets)
        endpoints = started.endpoints
        yield StagingTarget(
            release=release,
            components=dict(components),
            traffic=endpoints["traffic"],
            slots=dict(endpoints["slots"]),
            bedrock=endpoints["bedrock"],
            mcp=endpoints["mcp"],
            runtime_dir=runtime,
            budget_usd=settings.budget_usd,
            admin_token=secrets.support_admin_token,
            emulator_token=secrets.emulator_admin_token,
        )
    finally:
        try:
            control.down(settings)
        finally:
            logs = SandboxPaths.of(runtime).logs
            if logs.is_dir():
                shutil.copytree(logs, log_dir / "sandbox", dirs_exist_ok=True)
            shutil.rmtree(runtime, ignore_errors=True)
