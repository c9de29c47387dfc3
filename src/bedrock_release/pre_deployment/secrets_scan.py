"""Secrets scan of the repository with detect-secrets, against a reviewed allowlist of known non-secrets."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

__all__ = ["AllowedSecret", "Finding", "load_allowlist", "repository_files", "scan", "unexpected"]


@dataclass(frozen=True)
class Finding:
    """A potential secret: where, which detector, and its SHA-1 (detect-secrets' hashed_secret)."""

    file: str
    line: int
    type: str
    hashed_secret: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.type} (hashed_secret {self.hashed_secret})"


@dataclass(frozen=True)
class AllowedSecret:
    """A reviewed value that is not a secret (a public test credential), with the reason."""

    type: str
    hashed_secret: str
    reason: str


def repository_files(repo_root: Path) -> list[str]:
    """Return the files git would commit: tracked plus untracked-but-not-ignored."""
    proc = subprocess.run(  # noqa: S603 - fixed argv
        ["git", "-C", str(repo_root), "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return sorted({name for name in proc.stdout.splitlines() if (repo_root / name).is_file()})


def scan(repo_root: Path, files: Sequence[str]) -> list[Finding]:
    """Scan files (relative to repo_root) with detect-secrets' default plugins and filters."""
    collection = SecretsCollection(root=str(repo_root))
    with default_settings():
        collection.scan_files(*files)
    return sorted(
        (Finding(name, secret.line_number, secret.type, secret.secret_hash) for name, secret in collection),
        key=lambda f: (f.file, f.line, f.type),
    )


def load_allowlist(path: Path) -> tuple[AllowedSecret, ...]:
    """Read the allowlist: a JSON list of {type, hashed_secret, reason}; each entry needs a reason."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list")
    out = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) and entry[k].strip() for k in ("type", "hashed_secret", "reason")
        ):
            raise ValueError(f"{path}: entry {index} needs type, hashed_secret and a reason")
        out.append(AllowedSecret(entry["type"], entry["hashed_secret"], entry["reason"]))
    return tuple(out)


def unexpected(findings: Sequence[Finding], allowlist: Sequence[AllowedSecret]) -> list[Finding]:
    """Return the findings that no allowlist entry (same detector, same hashed value) covers."""
    allowed = {(a.type, a.hashed_secret) for a in allowlist}
    return [f for f in findings if (f.type, f.hashed_secret) not in allowed]
