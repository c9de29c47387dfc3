"""Where the sandbox keeps its state under the runtime folder."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SOCKET_DIR", "SandboxPaths"]

# Fixed and short on purpose (not TMPDIR, which may be long): the folder of every sandbox's socket.
# Created 0700 and owner-checked before use (sandbox.control._private_socket_dir).
SOCKET_DIR = Path("/tmp") / f"bedrock-sandbox-{os.getuid()}"  # noqa: S108  # nosec B108


@dataclass(frozen=True)
class SandboxPaths:
    """Files and folders of one sandbox runtime folder."""

    root: Path

    @classmethod
    def of(cls, runtime_dir: Path) -> SandboxPaths:
        """Paths under a runtime folder, made absolute (supervisord needs absolute paths)."""
        return cls(runtime_dir.absolute())

    @property
    def supervisord_conf(self) -> Path:
        return self.root / "supervisord.conf"

    @property
    def socket(self) -> Path:
        """supervisord's unix socket: short whatever the checkout's path (AF_UNIX allows 107 bytes).

        It lives in a 0700 folder of the user's under /tmp, named by a digest of the runtime folder, so
        two sandboxes never share one and a checkout under a long path still has a sandbox.
        """
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:16]
        return SOCKET_DIR / f"{digest}.sock"

    @property
    def pidfile(self) -> Path:
        return self.root / "supervisord.pid"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def caddy_json(self) -> Path:
        return self.root / "caddy.json"

    @property
    def caddy_home(self) -> Path:
        return self.root / "caddy"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.env"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def programs(self) -> Path:
        return self.root / "programs"

    @property
    def slots(self) -> Path:
        return self.root / "slots"

    @property
    def audit(self) -> Path:
        return self.root / "audit"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def log(self, program: str) -> Path:
        """The combined stdout/stderr log of one program."""
        return self.logs / f"{program}.log"

    def program_spec(self, program: str) -> Path:
        """The launch spec (argv, environment, secrets) of one program."""
        return self.programs / f"{program}.json"
