"""Fixtures of the support service's unit tests (the fakes live in svc_fakes.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from svc_fakes import Harness, make_harness

from support_service.app import create_app


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    """A default harness (all flags off, every component active)."""
    return make_harness(tmp_path)


@pytest.fixture
def client(harness: Harness) -> Iterator[TestClient]:
    """A test client running the app's lifespan (poller, auto-activation)."""
    with TestClient(create_app(service=harness.service)) as test_client:
        yield test_client
