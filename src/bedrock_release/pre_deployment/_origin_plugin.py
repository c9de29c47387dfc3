"""pytest plugin for staging runs: refuse to test anything but the unpacked release artifact.

Loaded with ``-p bedrock_release.pre_deployment._origin_plugin``; reads ``BEDROCK_STAGING_CODE_DIR``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from bedrock_release.release.artifact import PACKAGES

__all__ = ["CODE_DIR_VARIABLE", "pytest_sessionstart"]

CODE_DIR_VARIABLE = "BEDROCK_STAGING_CODE_DIR"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Exit before any test runs if a package of the release would be imported from elsewhere."""
    code_dir = os.environ.get(CODE_DIR_VARIABLE)
    if not code_dir:
        pytest.exit(f"{CODE_DIR_VARIABLE} is not set: which code is under test?", returncode=4)
    root = Path(code_dir).resolve()
    for package in PACKAGES:
        module = importlib.import_module(package)
        origin = Path(module.__file__ or "").resolve()
        if not origin.is_relative_to(root):
            pytest.exit(f"{package} would be tested from {origin}, not the artifact in {root}", returncode=4)
