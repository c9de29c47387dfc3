"""A private pipeline environment for the playbook tests: runs folder, sandbox ports, artifacts, approvals.

Each environment has its own ``runs/`` (sandbox state, releases, deploy runs, lock) and its own
ephemeral loopback ports, so the tests run beside other sandboxes on the machine. The verification
suite is replaced by the stand-in checks of ``standin_suite/`` and the monitoring role by
``roles/monitoring_standin`` (both selected by inventory variables, as the contract allows).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bedrock_release.pipeline.inventory_vars import SHARED_STATE_VAR, inventory_value
from bedrock_release.pipeline.journal import read_state
from bedrock_release.pipeline.lock import DeployLock
from bedrock_release.pipeline.shared_state import SharedState
from bedrock_release.plan import plan_sha256
from bedrock_release.release import artifact as release_artifact
from bedrock_release.release.approvals import REQUIRED_ROLES, load_private_key, sign_approval, write_keypair

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
PORT_VARS = (
    "sandbox_caddy_proxy_port",
    "sandbox_caddy_admin_port",
    "sandbox_slot_blue_port",
    "sandbox_slot_green_port",
    "sandbox_moto_port",
    "sandbox_emulator_port",
    "sandbox_mcp_port",
)
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports that were free a moment ago."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@dataclass
class PipelineEnv:
    """One private environment: where it lives, its ports, and how to run playbooks in it."""

    root: Path
    ports: dict[str, int] = field(default_factory=dict)
    staging_ports: dict[str, int] = field(default_factory=dict)
    use_standins: bool = True
    #: Another controller of the same environment: its sandbox, releases, keys and secrets are used.
    shares_sandbox_of: PipelineEnv | None = None
    #: Inventory variables of this environment that differ from inventories/local (e.g. a short lock expiry).
    private_vars: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> Path:
        """The environment's runs/ folder."""
        return self.root / "runs"

    @property
    def releases(self) -> Path:
        """Built release artifacts."""
        return self.runs / "releases"

    @property
    def inventory(self) -> Path:
        """The environment's private copy of inventories/local."""
        return self.root / "inventory"

    def prepare(self, releases: tuple[str, ...] = ("1.0.0", "1.1.0")) -> PipelineEnv:
        """Pick ports, write the private inventory, build artifacts and sign every release's approvals."""
        if not self.ports:
            ports = free_ports(2 * len(PORT_VARS))
            self.ports = dict(zip(PORT_VARS, ports[: len(PORT_VARS)], strict=True))
            names = [name.removeprefix("sandbox_").removesuffix("_port") for name in PORT_VARS]
            self.staging_ports = dict(zip(names, ports[len(PORT_VARS) :], strict=True))
        self.write_inventory()
        for release in releases:
            self.build(release)
        return self

    def write_inventory(self) -> None:
        """Copy inventories/local and override, in a last-loaded file, where this environment lives."""
        shutil.rmtree(self.inventory, ignore_errors=True)
        shutil.copytree(REPO / "inventories" / "local", self.inventory)
        private: dict[str, Any] = {
            "release_project_dir": str(REPO),
            "release_runs_dir": str(self.runs),
            "release_releases_dir": str(self.releases),
            "release_keys_dir": str(self.runs / "sandbox" / "keys"),
            "release_staging_runs_dir": str(self.root / "staging"),
            "release_staging_ports": self.staging_ports,
            **self.ports,
        }
        if self.use_standins:
            private["release_verification_test_paths"] = [str(HERE / "standin_suite" / "checks.py")]
            private["release_monitoring_role"] = "monitoring_standin"
        first = self.shares_sandbox_of
        if first is not None:
            private.update(
                release_releases_dir=str(first.releases),
                release_keys_dir=str(first.runs / "sandbox" / "keys"),
                release_secrets_file=str(first.runs / "sandbox" / "secrets.env"),
                sandbox_runtime_dir=str(first.runs / "sandbox"),
                # The roles that drive the sandbox's slots default to release_runs_dir/sandbox.
                component_rollout_sandbox_runtime_dir=str(first.runs / "sandbox"),
                drill_sandbox_runtime_dir=str(first.runs / "sandbox"),
                rollback_sandbox_runtime_dir=str(first.runs / "sandbox"),
                release_staging_runs_dir=str(first.root / "staging"),
            )
        private.update(self.private_vars)
        target = self.inventory / "group_vars" / "all" / "zz_private.yml"
        target.write_text("---\n" + json.dumps(private, indent=2) + "\n", encoding="utf-8")

    def build(self, release: str) -> None:
        """Build a release artifact from the working tree and sign its four approvals."""
        release_artifact.build(release, REPO, self.releases)
        self.sign(release)

    def sign(self, release: str, *, roles: tuple[str, ...] = REQUIRED_ROLES, hours: float = 24) -> None:
        """Write the four approval records of a release, signed with this environment's keys."""
        keys = self.runs / "sandbox" / "keys"
        out = self.releases / release / "evidence" / "approvals"
        out.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        for role in roles:
            private = keys / "private" / f"{role}.key"
            if not private.exists():
                _key_path, pub_path = write_keypair(keys / "private", role)
                (keys / "trusted").mkdir(parents=True, exist_ok=True)
                pub_path.replace(keys / "trusted" / f"{role}.pub")
            record = sign_approval(
                load_private_key(private),
                role=role,
                approver=f"{role} approver (pipeline test)",
                release=release,
                plan_sha256=plan_sha256(),
                statement=f"{role} approves {release} for the pipeline test",
                issued_at=now - timedelta(minutes=1),
                expires_at=now + timedelta(hours=hours),
            )
            (out / f"{role}.json").write_text(json.dumps(record.to_dict(), indent=2), encoding="utf-8")

    def playbook(
        self,
        playbook: str,
        *,
        inventory: str | None = None,
        timeout: float = 900,
        args: tuple[str, ...] = (),
        **extra: Any,
    ) -> subprocess.CompletedProcess[str]:
        """Run a playbook of the repository in this environment; output kept in the result."""
        env = {
            **os.environ,
            "ANSIBLE_ROLES_PATH": f"{REPO / 'roles'}:{HERE / 'roles'}",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "PYTHONUNBUFFERED": "1",
        }
        argv = [ANSIBLE_PLAYBOOK, "-i", inventory or str(self.inventory), playbook, *args]
        if extra:
            argv += ["-e", json.dumps(extra)]
        started = time.monotonic()
        proc = subprocess.run(
            argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        proc.duration_s = time.monotonic() - started  # type: ignore[attr-defined]
        log = self.root / "playbook-logs"
        log.mkdir(exist_ok=True)
        name = f"{time.strftime('%H%M%S')}-{Path(playbook).stem}.log"
        (log / name).write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr, encoding="utf-8")
        return proc

    def controller(self, root: Path) -> PipelineEnv:
        """A second controller of this environment: its own runs folder and inventory copy, same sandbox."""
        other = type(self)(
            root,
            ports=dict(self.ports),
            staging_ports=dict(self.staging_ports),
            use_standins=self.use_standins,
            shares_sandbox_of=self,
            private_vars=dict(self.private_vars),
        )
        other.write_inventory()
        return other

    def shared_state(self) -> SharedState:
        """The shared lock and state of this environment, as its inventory names them (its own moto)."""
        return SharedState.from_mapping(inventory_value(self.inventory, SHARED_STATE_VAR))

    def lock(self) -> DeployLock:
        """The environment's shared deploy lock (DynamoDB in its moto)."""
        return DeployLock(self.shared_state())

    def wait_lock_stale(self, timeout_s: float = 60.0) -> None:
        """Wait until the lock looks stale (a killed deploy's heartbeat stopped: three beats missed)."""
        deadline = time.monotonic() + timeout_s
        while not self.lock().status().stale:
            if time.monotonic() > deadline:
                raise AssertionError(f"the deploy lock did not look stale within {timeout_s} s")
            time.sleep(0.5)

    def latest(self) -> Path:
        """The run runs/latest points at."""
        return (self.runs / "latest").resolve()

    def report(self, run_dir: Path | None = None) -> dict[str, Any]:
        """report.json of a run (default runs/latest)."""
        return json.loads(((run_dir or self.latest()) / "report.json").read_text(encoding="utf-8"))

    def state(self, run_dir: Path | None = None) -> Any:
        """The folded journal of a run (default runs/latest)."""
        return read_state(run_dir or self.latest())

    def sandbox_down(self) -> None:
        """Stop this environment's sandbox (nothing running is fine)."""
        env = {**os.environ, "SANDBOX_RUNTIME_DIR": str(self.runs / "sandbox")}
        argv = [sys.executable, "-m", "sandbox", "down", "--json"]
        subprocess.run(argv, cwd=REPO, env=env, check=False, capture_output=True)
