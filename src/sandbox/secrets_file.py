"""The sandbox's generated admin tokens in runs/sandbox/secrets.env (mode 0600), reused across starts."""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SECRET_NAMES", "SandboxSecrets", "load_or_create_secrets", "read_secrets"]

SECRET_NAMES = ("SUPPORT_ADMIN_TOKEN", "EMULATOR_ADMIN_TOKEN")
_TOKEN_BYTES = 32


@dataclass(frozen=True)
class SandboxSecrets:
    """The admin tokens; repr hides them so they never land in logs or reports."""

    support_admin_token: str
    emulator_admin_token: str

    def __repr__(self) -> str:
        return "SandboxSecrets(<hidden>)"

    def as_env(self) -> dict[str, str]:
        """The tokens under their environment variable names."""
        return {
            "SUPPORT_ADMIN_TOKEN": self.support_admin_token,
            "EMULATOR_ADMIN_TOKEN": self.emulator_admin_token,
        }


def _parse(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            values[key.strip()] = value.strip()
    return values


def read_secrets(path: Path) -> SandboxSecrets:
    """Read the tokens; FileNotFoundError if the sandbox never started, ValueError if incomplete."""
    values = _parse(path.read_text(encoding="utf-8"))
    missing = [name for name in SECRET_NAMES if not values.get(name)]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}")
    return SandboxSecrets(values["SUPPORT_ADMIN_TOKEN"], values["EMULATOR_ADMIN_TOKEN"])


def load_or_create_secrets(path: Path) -> tuple[SandboxSecrets, bool]:
    """Reuse the tokens in path, generating any that are missing; returns (secrets, created)."""
    existing = _parse(path.read_text(encoding="utf-8")) if path.exists() else {}
    values = {name: existing.get(name) or secrets.token_urlsafe(_TOKEN_BYTES) for name in SECRET_NAMES}
    created = any(not existing.get(name) for name in SECRET_NAMES)
    if created:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        # Created 0600 from the start, so the tokens are never readable by others, not even briefly.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("".join(f"{name}={values[name]}\n" for name in SECRET_NAMES))
        tmp.replace(path)
    elif stat.S_IMODE(path.stat().st_mode) != 0o600:
        path.chmod(0o600)
    return SandboxSecrets(values["SUPPORT_ADMIN_TOKEN"], values["EMULATOR_ADMIN_TOKEN"]), created
