"""Acceptance tests of the verification suite against a real private sandbox (own runtime dir, own ports)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from suite_sandbox import SuiteSandbox, running


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuiteSandbox]:
    """A sandbox with release 1.1.0 on green at 100 % (time scale 0.05), stopped after the module."""
    root: Path = tmp_path_factory.mktemp("suite")
    with running(root, time_scale=0.05) as sandbox:
        yield sandbox
