"""The sandbox CLI without starting anything: usage errors, status of a stopped sandbox, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.cli import EXIT_ERROR, EXIT_NOT_RUNNING, EXIT_OK, EXIT_USAGE, main
from sandbox.control import down, set_slot_release
from sandbox.errors import SandboxError, SandboxNotRunningError
from sandbox.settings import SandboxSettings


def test_status_of_a_stopped_sandbox_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--runtime-dir", str(tmp_path), "--json"]) == EXIT_NOT_RUNNING
    payload = json.loads(capsys.readouterr().out)
    assert payload["running"] is False
    assert payload["healthy"] is False
    assert {part["state"] for part in payload["parts"]} == {"ABSENT"}


def test_invalid_ports_are_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "--runtime-dir", str(tmp_path), "--moto-port", "18160"]) == EXIT_USAGE
    assert "distinct" in capsys.readouterr().err


def test_bad_env_pair_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["set-slot-release", "green", "1.1.0", "--env", "NOEQUALS", "--runtime-dir", str(tmp_path)])
    assert code == EXIT_USAGE
    assert "KEY=VALUE" in capsys.readouterr().err


def test_unknown_command_and_slot_are_argparse_errors() -> None:
    with pytest.raises(SystemExit) as raised:
        main(["explode"])
    assert raised.value.code == EXIT_USAGE
    with pytest.raises(SystemExit):
        main(["set-slot-release", "purple", "1.0.0"])


def test_switching_a_slot_needs_a_running_sandbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SandboxNotRunningError):
        set_slot_release("green", "1.1.0", settings=SandboxSettings(runtime_dir=tmp_path))
    with pytest.raises(SandboxError, match="slot must be one of"):
        set_slot_release("purple", "1.1.0", settings=SandboxSettings(runtime_dir=tmp_path))
    assert main(["set-slot-release", "green", "1.1.0", "--runtime-dir", str(tmp_path)]) == EXIT_ERROR
    assert "python -m sandbox up" in capsys.readouterr().err


def test_down_of_a_stopped_sandbox_changes_nothing(tmp_path: Path) -> None:
    result = down(SandboxSettings(runtime_dir=tmp_path))
    assert result.changed is False
    assert main(["down", "--runtime-dir", str(tmp_path)]) == EXIT_OK
