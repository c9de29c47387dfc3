"""A private sandbox with the new release on green at 100 %, and its target.json (no pipeline needed).

Used by the suite's acceptance tests; runnable by hand:
``.venv/bin/python tests/integration/suite/suite_sandbox.py up /tmp/suite-sbx`` (prints the target).
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from audit_trail import AuditLog
from bedrock_release.release.artifact import build
from sandbox import control
from sandbox.caddy_config import WEIGHTS_PATH
from sandbox.paths import SandboxPaths
from sandbox.secrets_file import read_secrets
from sandbox.settings import FLAGS, PORT_FIELDS, REPO_ROOT, SandboxSettings

BASELINE, RELEASE = "1.0.0", "1.1.0"


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports that were free a moment ago."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def session() -> requests.Session:
    """An HTTP session that never uses a proxy (loopback only)."""
    out = requests.Session()
    out.trust_env = False
    return out


@dataclass(frozen=True)
class SuiteSandbox:
    """A running private sandbox and what the suite needs to target it."""

    settings: SandboxSettings
    target_path: Path
    env: dict[str, str] = field(repr=False)  # holds the admin tokens: kept out of failure reports

    @property
    def endpoints(self) -> dict[str, Any]:
        """Endpoints in target.json's shape (plus traffic_admin)."""
        return self.settings.endpoints()

    def target(self) -> dict[str, Any]:
        """The current target.json contents."""
        return json.loads(self.target_path.read_text())

    def write_target(self, path: Path, **changes: Any) -> Path:
        """Write a variant of the target (e.g. another journal or an unreachable endpoint)."""
        data = {**self.target(), **changes}
        path.write_text(json.dumps(data, indent=2))
        return path


def settings_for(root: Path) -> SandboxSettings:
    """Settings of a sandbox under root on fresh ports (artifacts built into root/releases)."""
    releases = root / "releases"
    for release in (BASELINE, RELEASE):
        build(release, REPO_ROOT, releases)
    ports = dict(zip(PORT_FIELDS.values(), free_ports(len(PORT_FIELDS)), strict=True))
    return SandboxSettings(runtime_dir=root / "rt", releases_dir=releases, start_timeout_s=120, **ports)


#: Canary steps (percent on the new slot), as the pipeline's default.
CANARY = (5, 25, 50, 100)


def deploy_new_release(
    settings: SandboxSettings, *, extra_env: dict[str, str] | None = None, journal: Path | None = None
) -> None:
    """Install the new release on green, activate its components in order, move all traffic to it.

    With ``journal``, record what the pipeline records (docs/contracts.md, "The deploy journal"):
    the slot's release, each component's activation and health check, each canary step and the
    split observed at it. This stands in for the pipeline so the suite's phase 2 can be tested.
    """
    log = AuditLog(journal) if journal else None

    def note(action: str, data: dict[str, Any]) -> None:
        if log is not None:
            log.append(actor="pipeline", action=action, data=data)

    note(
        "run_started",
        {
            "run_id": f"suite-test-{RELEASE}",
            "release": RELEASE,
            "previous_release": BASELINE,
            "environment": "local",
            "time_scale": 0.05,
            "operator": "suite-test",
            "fault": None,
        },
    )
    note("flags_snapshot", {"values": dict.fromkeys(FLAGS, False), "flags_path": settings.flags_path})
    control.set_slot_release("green", RELEASE, extra_env, settings=settings)
    note("slot_release_set", {"slot": "green", "release": RELEASE, "previous_release": BASELINE})
    token = read_secrets(SandboxPaths.of(settings.runtime_dir).secrets).support_admin_token
    green = settings.url("slot-green")
    with session() as http:
        version = http.get(f"{green}/version", timeout=10).json()
        for name in version["activation_order"]:
            http.post(
                f"{green}/admin/components/{name}/activate",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).raise_for_status()
            component = {"slot": "green", "component": name, "version": version["components"][name]}
            note("component_activated", component)
            health = http.get(f"{green}/health/components/{name}", timeout=15).json()
            note(
                "component_health_checked",
                {**component, "healthy": health["healthy"], "detail": health["detail"]},
            )
        for share in CANARY:
            blue, green_w = 100 - share, share
            divisor = math.gcd(blue, green_w)
            http.patch(
                settings.url("caddy-admin") + WEIGHTS_PATH,
                json=[blue // divisor, green_w // divisor],
                timeout=5,
            ).raise_for_status()
            weights = {"blue": blue, "green": green_w}
            note("traffic_weights_set", {"weights": weights})
            if log is not None:
                counts = {"blue": 0, "green": 0}
                total = 100 // divisor * 2
                for _ in range(total):
                    counts[http.get(f"{settings.url('caddy')}/version", timeout=5).headers["X-Slot"]] += 1
                observed = 100.0 * counts["green"] / total
                note(
                    "traffic_split_observed",
                    {
                        "weights": weights,
                        "counts": counts,
                        "requests": total,
                        "errors": 0,
                        "within_tolerance": abs(observed - share) <= 5,
                    },
                )


def set_flags(box: SuiteSandbox, flags: tuple[str, ...], value: bool, *, timeout_s: float = 15.0) -> None:
    """Write the flags to SSM, journal each ``flag_set`` as the pipeline does, wait until green has them."""
    from sandbox.seed import aws_client  # noqa: PLC0415

    ssm = aws_client("ssm", box.settings)
    log = AuditLog(Path(box.target()["journal"]))
    for flag in flags:
        ssm.put_parameter(
            Name=f"{box.settings.flags_path}/{flag}", Value=str(value).lower(), Type="String", Overwrite=True
        )
        log.append(
            actor="pipeline", action="flag_set", data={"flag": flag, "value": value, "previous": not value}
        )
    deadline = time.monotonic() + timeout_s
    with session() as http:
        while time.monotonic() < deadline:
            values = http.get(box.endpoints["slots"]["green"] + "/v1/flags", timeout=5).json()["values"]
            if all(values[f] is value for f in flags):
                return
            time.sleep(0.2)
    raise AssertionError(
        f"the flags {list(flags)} did not reach {value} on the green slot within {timeout_s:g} s"
    )


def target_doc(
    settings: SandboxSettings, root: Path, *, time_scale: float, journal: Path | None
) -> dict[str, Any]:
    """A target.json for this sandbox (the contract's shape plus traffic_admin)."""
    return {
        "schema": 1,
        "run_id": f"suite-test-{RELEASE}",
        "environment": "local",
        "release": RELEASE,
        "previous_release": BASELINE,
        "time_scale": time_scale,
        "slots": {"active": "blue", "idle": "green"},
        "endpoints": settings.endpoints(),
        "aws_region": settings.aws_region,
        "bedrock_region": settings.bedrock_region,
        "bedrock_model_id": settings.bedrock_model_id,
        "bedrock_invocation_log_group": settings.bedrock_invocation_log_group,
        "flags_path": settings.flags_path,
        "cloudwatch_namespace": settings.cloudwatch_namespace,
        "budget_name": settings.budget_name,
        "results_dir": str(root / "results"),
        "journal": str(journal) if journal else None,
        "releases_dir": str(settings.releases_dir),
    }


@contextlib.contextmanager
def running(root: Path, *, time_scale: float = 0.05) -> Iterator[SuiteSandbox]:
    """Start the sandbox, deploy the new release on green at 100 %, yield; always stop it."""
    settings = settings_for(root)
    try:
        control.up(settings)
        deploy_new_release(settings, journal=root / "audit.jsonl")
        yield started(settings, root, time_scale=time_scale)
    finally:
        control.down(settings)


def started(settings: SandboxSettings, root: Path, *, time_scale: float) -> SuiteSandbox:
    """Describe a running sandbox: its target.json and the environment the suite needs."""
    journal = root / "audit.jsonl"
    target_path = root / "target.json"
    target_path.write_text(
        json.dumps(target_doc(settings, root, time_scale=time_scale, journal=journal), indent=2)
    )
    secrets = read_secrets(SandboxPaths.of(settings.runtime_dir).secrets)
    return SuiteSandbox(settings, target_path, secrets.as_env())


def _main(argv: list[str]) -> int:
    command, root = argv[0], Path(argv[1]).resolve()
    settings_file = root / "settings.json"
    if command == "up":
        root.mkdir(parents=True, exist_ok=True)
        settings = settings_for(root)
        settings_file.write_text(settings.model_dump_json())
        control.up(settings)
        deploy_new_release(settings)
        box = started(settings, root, time_scale=float(argv[2]) if len(argv) > 2 else 0.05)
        print(box.target_path)
        print("\n".join(f"export {k}={v}" for k, v in box.env.items()))
        return 0
    settings = SandboxSettings.model_validate_json(settings_file.read_text())
    control.down(settings)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
