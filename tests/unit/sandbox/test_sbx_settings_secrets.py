"""Settings validation and the secrets file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from sandbox.control import _private_socket_dir
from sandbox.errors import SandboxConflictError
from sandbox.paths import SOCKET_DIR, SandboxPaths
from sandbox.secrets_file import load_or_create_secrets, read_secrets
from sandbox.settings import SandboxSettings


def test_defaults_are_the_contract_ports() -> None:
    ports = SandboxSettings().ports()
    assert ports == {
        "caddy": 18080,
        "caddy-admin": 18019,
        "slot-blue": 18101,
        "slot-green": 18102,
        "moto": 18150,
        "bedrock-emulator": 18160,
        "mcp-server": 18170,
    }


def test_environment_overrides_with_the_sandbox_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_MOTO_PORT", "28150")
    assert SandboxSettings().moto_port == 28150
    assert SandboxSettings(moto_port=38150).moto_port == 38150  # explicit beats environment


def test_ports_must_be_distinct_and_unprivileged() -> None:
    with pytest.raises(ValidationError, match="share"):
        SandboxSettings(moto_port=18160)
    with pytest.raises(ValidationError):
        SandboxSettings(moto_port=80)


def test_a_runtime_dir_under_a_long_path_still_has_a_short_private_socket(tmp_path: Path) -> None:
    long_dir = Path("/tmp") / ("x" * 200) / "runs" / "sandbox"
    socket = SandboxPaths.of(SandboxSettings(runtime_dir=long_dir).runtime_dir).socket
    assert len(str(socket)) <= 107  # AF_UNIX: 108 bytes with the terminator
    assert socket.parent == SOCKET_DIR
    # Two runtime folders never share a socket.
    assert SandboxPaths.of(tmp_path / "a").socket != SandboxPaths.of(tmp_path / "b").socket


def test_a_socket_folder_others_can_enter_is_refused_naming_it(tmp_path: Path) -> None:
    private = tmp_path / "private"
    _private_socket_dir(private)
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    refused = r"shared must be a directory .* mode 0700, found .* drwxr-xr-x"
    with pytest.raises(SandboxConflictError, match=refused):
        _private_socket_dir(shared)


def test_endpoints_are_loopback_only() -> None:
    endpoints = SandboxSettings().endpoints()
    urls = [endpoints["traffic"], endpoints["mcp"], endpoints["bedrock"], endpoints["aws"]]
    urls += list(endpoints["slots"].values())  # type: ignore[union-attr]
    assert all(url.startswith("http://127.0.0.1:") for url in urls)


def test_secrets_are_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    first, created = load_or_create_secrets(path)
    assert created is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = load_or_create_secrets(path)
    assert created_again is False
    assert again == first
    assert first.support_admin_token != first.emulator_admin_token
    assert len(first.support_admin_token) >= 40
    assert "hidden" in repr(first)
    assert first.support_admin_token not in repr(first)


def test_missing_secret_is_generated_and_loose_mode_tightened(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("SUPPORT_ADMIN_TOKEN=keep-me-please-0123456789\n")
    path.chmod(0o644)
    secrets, created = load_or_create_secrets(path)
    assert created is True
    assert secrets.support_admin_token == "keep-me-please-0123456789"
    assert secrets.emulator_admin_token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    load_or_create_secrets(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_read_secrets_names_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("SUPPORT_ADMIN_TOKEN=x\n")
    with pytest.raises(ValueError, match="EMULATOR_ADMIN_TOKEN"):
        read_secrets(path)
