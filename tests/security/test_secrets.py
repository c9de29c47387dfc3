"""No secret in the repository: detect-secrets over every file git would commit, against the allowlist."""

from __future__ import annotations

import pytest
from _targets import ALLOWLIST, repo_root

from bedrock_release.pre_deployment.secrets_scan import load_allowlist, repository_files, scan, unexpected


@pytest.fixture(scope="module")
def findings():
    root = repo_root()
    # The allowlist holds only hashes of reviewed values; scanning it would flag the hashes themselves.
    files = [f for f in repository_files(root) if (root / f).resolve() != ALLOWLIST]
    assert len(files) > 50, f"suspiciously few files to scan in {root}: {len(files)}"
    return scan(root, files)


def test_no_unreviewed_secret(findings) -> None:
    unreviewed = unexpected(findings, load_allowlist(ALLOWLIST))
    assert unreviewed == [], "possible secrets (remove them, or review and allowlist by hash):\n" + "\n".join(
        map(str, unreviewed)
    )


def test_allowlist_entries_are_still_needed(findings) -> None:
    """A stale entry would silently allow that value forever: every entry must match a finding."""
    seen = {(f.type, f.hashed_secret) for f in findings}
    stale = [a for a in load_allowlist(ALLOWLIST) if (a.type, a.hashed_secret) not in seen]
    assert stale == []
