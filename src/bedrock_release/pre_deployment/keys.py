"""The sandbox approvers' Ed25519 keys: private keys (0600) and the trusted public keys folder."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bedrock_release.pre_deployment._io import write_bytes_atomic
from bedrock_release.release.approvals import (
    REQUIRED_ROLES,
    load_private_key,
    load_trusted_keys,
    public_key_pem,
    write_keypair,
)

__all__ = [
    "ensure_sandbox_keys",
    "load_sandbox_trusted_keys",
    "private_key_path",
    "trusted_keys_dir",
]


def private_key_path(keys_dir: str | os.PathLike[str], role: str) -> Path:
    """Return ``<keys>/private/<role>.key``."""
    return Path(keys_dir) / "private" / f"{role}.key"


def trusted_keys_dir(keys_dir: str | os.PathLike[str]) -> Path:
    """Return ``<keys>/trusted``, the folder the inventory names as trusted public keys."""
    return Path(keys_dir) / "trusted"


def ensure_sandbox_keys(keys_dir: str | os.PathLike[str]) -> Path:
    """Create a key pair for each of the four roles unless it exists; return the trusted keys folder.

    Existing keys are kept (approvals signed earlier stay verifiable); a trusted public key that
    is missing is derived again from its private key. Private keys are 0600 in a 0700 folder.
    """
    private_dir = Path(keys_dir) / "private"
    trusted = trusted_keys_dir(keys_dir)
    private_dir.mkdir(parents=True, exist_ok=True)
    private_dir.chmod(0o700)
    trusted.mkdir(parents=True, exist_ok=True)
    for role in REQUIRED_ROLES:
        key_path = private_key_path(keys_dir, role)
        pub_path = trusted / f"{role}.pub"
        if not key_path.exists():
            _, generated_pub = write_keypair(private_dir, role)
            os.replace(generated_pub, pub_path)
        else:
            key_path.chmod(0o600)
            public = load_private_key(key_path).public_key()
            if not pub_path.exists() or pub_path.read_bytes() != public_key_pem(public):
                write_bytes_atomic(pub_path, public_key_pem(public))
    return trusted


def load_sandbox_trusted_keys(keys_dir: str | os.PathLike[str]) -> dict[str, list[Ed25519PublicKey]]:
    """Return the trusted public keys by role from ``<keys>/trusted``."""
    return load_trusted_keys(trusted_keys_dir(keys_dir))
