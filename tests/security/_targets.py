"""What the security tests look at: the repository's src/ by default, a release's code in staging."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ALLOWLIST", "REPO_ROOT", "code_targets", "repo_root"]

_HERE = Path(__file__).resolve().parent
ALLOWLIST = _HERE / "secrets_allowlist.json"
REPO_ROOT = _HERE.parents[1]


def repo_root() -> Path:
    """The repository to scan for secrets (staging names the one the release was built from)."""
    return Path(os.environ.get("BEDROCK_SECURITY_REPO") or REPO_ROOT)


def code_targets() -> tuple[Path, list[str]]:
    """(folder, packages) for bandit: the unpacked artifact in staging, else every package of src/."""
    staged = os.environ.get("BEDROCK_SECURITY_CODE_DIR")
    root = Path(staged) if staged else REPO_ROOT / "src"
    packages = sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file())
    return root, packages
