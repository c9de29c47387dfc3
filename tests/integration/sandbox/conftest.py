"""A real sandbox (supervisord, moto, emulator, MCP server, Caddy, two slots) on ephemeral ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sbx_live import build_artifact, port_settings, processes_using

from sandbox import control
from sandbox.settings import SandboxSettings


def _stop_and_check(settings: SandboxSettings) -> None:
    control.down(settings)
    leftovers = processes_using(settings.runtime_dir)
    for process in leftovers:
        process.kill()  # a leak must not outlive the test run, even though the test fails
    assert leftovers == [], f"processes outlived down: {leftovers}"


@pytest.fixture(scope="module")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> SandboxSettings:
    """Settings of a sandbox on fresh ports, with baseline and next release built as artifacts."""
    root = tmp_path_factory.mktemp("sbx")
    releases = root / "releases"
    build_artifact(releases, "1.0.0")
    build_artifact(releases, "1.1.0")
    return SandboxSettings(
        runtime_dir=root / "rt", releases_dir=releases, start_timeout_s=90, **port_settings()
    )


@pytest.fixture(scope="module")
def live(live_settings: SandboxSettings) -> Iterator[control.UpResult]:
    """The running sandbox for the module; stopped afterwards, with a check that nothing is left."""
    try:
        yield control.up(live_settings)
    finally:
        _stop_and_check(live_settings)


@pytest.fixture
def own_settings(tmp_path: Path) -> Iterator[SandboxSettings]:
    """Settings for a test that starts (or fails to start) its own sandbox; cleaned up after."""
    settings = SandboxSettings(
        runtime_dir=tmp_path / "rt",
        releases_dir=tmp_path / "releases",
        start_timeout_s=60,
        **port_settings(),
    )
    yield settings
    _stop_and_check(settings)
